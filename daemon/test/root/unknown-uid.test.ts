// A uid with no entry in /etc/passwd, as a container run as an arbitrary uid (OpenShift) has:
// D-Bus, which both desktops need, does not run then. Without nss_wrapper (this machine has
// none; the image tests run with it, in ui-tests/image), the doctor and a desktop's start
// script say so in a sentence. Needs root to take up a uid.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findNssWrapper } from '../../src/doctor';
import { BUILTIN_PROFILES, readableBundle, tmp } from '../helpers';

const UID = 1000680001;
const WHY =
  `has no entry in /etc/passwd, and D-Bus, which the desktops need, does not run without one: ` +
  'run the server as a user the system knows, or install nss_wrapper (Debian: libnss-wrapper), ' +
  'which gives each desktop an entry of its own';

/** Runs argv as UID (group 0, as OpenShift), with a home of its own. */
function asUnknownUid(argv: string[], env: Record<string, string>) {
  return spawnSync('setpriv', [`--reuid=${UID}`, '--regid=0', '--clear-groups', '--', ...argv], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }
  });
}

describe('a uid without a passwd entry, and no nss_wrapper', () => {
  let home = '';
  beforeAll(() => {
    if (process.getuid?.() !== 0) {
      throw new Error('taking up another uid needs root (CI runs as root)');
    }
    if (findNssWrapper()) {
      throw new Error(
        `${findNssWrapper()} is installed here: this test needs a machine without it`
      );
    }
    const r = spawnSync('getent', ['passwd', String(UID)]);
    expect(r.status, `uid ${UID} must have no passwd entry`).toBe(2);
    home = join(tmp('desktops-anyuid-'), 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, UID, 0);
    chmodSync(join(home, '..'), 0o755);
  });

  it('the doctor names the missing entry and the fix, and fails', () => {
    const r = asUnknownUid(
      [
        process.execPath,
        readableBundle(),
        '--doctor',
        '--runtime-dir',
        join(home, 'runtime'),
        '--profiles-dir',
        BUILTIN_PROFILES
      ],
      { HOME: home, USER: 'jovyan' }
    );
    expect(r.stdout).toContain(`User: problem: uid ${UID} ${WHY}`);
    expect(r.status).not.toBe(0);
  });

  it("a desktop's start script stops with that sentence, for the tab", () => {
    const session = join(home, 'session');
    mkdirSync(session, { mode: 0o700 });
    writeFileSync(join(session, 'Xauthority'), '');
    chownSync(session, UID, 0);
    const r = asUnknownUid(['sh', '-c', '. "$1"', 'sh', join(BUILTIN_PROFILES, 'desktop-env.sh')], {
      HOME: home,
      USER: 'jovyan',
      XAUTHORITY: join(session, 'Xauthority')
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`jupyter-desktops: error: this user (uid ${UID}) ${WHY}`);
  });
});
