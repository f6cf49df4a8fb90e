// VAPOR, Panoply and MATLAB cannot be installed here. These tests run the real built-in
// xstartups against FAKE installs (test stand-ins that print their argv and environment, in
// directories named FAKE, never in a user-facing path) to check detection, the exact argv and
// environment each application would get, and how their failures reach the user.
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_PROFILES,
  request,
  requireProgram,
  startDaemon,
  startSession,
  type ITestDaemon,
  waitFor,
  waitForState,
  ENDED
} from './helpers';

/** A FAKE program: prints who it is, its argv and the environment the xstartup gave it. */
function fake(dir: string, name: string, body = 'exec sleep 600'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    '#!/bin/sh\n' +
      `echo "FAKE ${name} (test stand-in) argv: $*"\n` +
      'env | grep -E "^(APPIMAGE_EXTRACT_AND_RUN|LIBGL_ALWAYS_SOFTWARE|GALLIUM_DRIVER|DESKTOPS_GL_[A-Z]+|DESKTOPS_OPEN)=" | sort\n' +
      `${body}\n`
  );
  chmodSync(file, 0o755);
  return file;
}

/** An admin override of a built-in profile, pointing its program at `command`. */
function override(dir: string, id: string, command: string): void {
  const builtin = JSON.parse(readFileSync(join(BUILTIN_PROFILES, `${id}.json`), 'utf8'));
  builtin.xstartup = join(BUILTIN_PROFILES, builtin.xstartup);
  builtin.requires[0] = { ...builtin.requires[0], command, paths: [] };
  writeFileSync(join(dir, `${id}.json`), JSON.stringify(builtin));
}

/**
 * A PATH like this process's, without the programs named: one directory of links to every
 * other program on it (so a FAKE install can be tested with and without, say, fusermount,
 * whatever this host has).
 */
function pathWithout(...names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'desktops-FAKE-path-'));
  for (const from of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let entries: string[];
    try {
      entries = readdirSync(from);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (!names.includes(name) && !existsSync(join(dir, name))) {
        symlinkSync(join(from, name), join(dir, name));
      }
    }
  }
  return dir;
}

async function endedOrLog(d: ITestDaemon, id: string, pattern: RegExp): Promise<string> {
  return waitFor(
    async () => {
      const t = (await request(d.socket, 'GET', `/api/sessions/${id}/log`)).json.text as string;
      return pattern.test(t) ? t : undefined;
    },
    15000,
    `the log to match ${pattern}`
  );
}

describe('VAPOR, Panoply and MATLAB with FAKE installs', () => {
  let d: ITestDaemon;
  const fakes = mkdtempSync(join(tmpdir(), 'desktops-FAKE-apps-'));
  const admin = mkdtempSync(join(tmpdir(), 'desktops-FAKE-profiles-'));
  // The user's Jupyter root, with data files for "Open in".
  const root = mkdtempSync(join(tmpdir(), 'desktops-FAKE-root-'));
  const savedPath = process.env.PATH;

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    requireProgram('glxinfo', 'mesa-utils');
    requireProgram('java', 'default-jre-headless');
    override(admin, 'vapor', fake(fakes, 'VAPOR3-FAKE-x86_64.AppImage'));
    override(admin, 'panoply', fake(fakes, 'panoply.sh'));
    override(
      admin,
      'matlab',
      fake(
        fakes,
        'matlab',
        'echo "License checkout failed."\necho "License Manager Error -9"\nexit 1'
      )
    );
    for (const f of ['wind.nc', 'analysis.m']) {
      writeFileSync(join(root, f), 'data');
    }
    d = await startDaemon([admin], { rootDir: root });
  });
  afterEach(async () => {
    process.env.PATH = savedPath;
    for (const s of d.sessions.live()) {
      await d.sessions.stop(s.id);
    }
  });
  afterAll(() => d?.close());

  it('VAPOR: an AppImage without usable FUSE is extracted and run, on software OpenGL', async () => {
    // No fusermount on the desktop's PATH (inherited from the daemon's): FUSE is not usable.
    process.env.PATH = pathWithout('fusermount', 'fusermount3');
    const r = await startSession(d.socket, { profile: 'vapor' });
    expect(r.state).toBe('running');
    const log = await endedOrLog(d, r.id, /FAKE VAPOR3-FAKE-x86_64\.AppImage/);
    expect(log).toContain('running the VAPOR AppImage by extracting it');
    expect(log).toMatch(/^APPIMAGE_EXTRACT_AND_RUN=1$/m);
    expect(log).toMatch(/^LIBGL_ALWAYS_SOFTWARE=1$/m);
    expect(log).toMatch(/^GALLIUM_DRIVER=llvmpipe$/m);
    expect(log).toMatch(/^DESKTOPS_GL_RENDERER=llvmpipe/m);
    expect(log).toMatch(/FAKE VAPOR3-FAKE-x86_64\.AppImage \(test stand-in\) argv: $/m);
  });

  it('Panoply: starts with a Java 11+ runtime', async () => {
    const r = await startSession(d.socket, { profile: 'panoply' });
    expect(r.state).toBe('running');
    await endedOrLog(d, r.id, /FAKE panoply\.sh \(test stand-in\) argv: $/m);
  });

  it('"Open in": VAPOR and Panoply get the file as their one argument', async () => {
    for (const [profile, fakeName] of [
      ['vapor', 'VAPOR3-FAKE-x86_64.AppImage'],
      ['panoply', 'panoply.sh']
    ]) {
      const r = await startSession(d.socket, { profile, open: 'wind.nc' });
      expect(r.state, JSON.stringify(r)).toBe('running');
      const log = await endedOrLog(d, r.id, /DESKTOPS_OPEN=/);
      expect(log).toContain(`FAKE ${fakeName} (test stand-in) argv: ${join(root, 'wind.nc')}\n`);
    }
  });

  it('"Open in MATLAB" runs fixed code that reads the path from the environment', async () => {
    const r = await request(d.socket, 'POST', '/api/sessions', {
      profile: 'matlab',
      open: 'analysis.m'
    });
    expect(r.status).toBe(202);
    const log = await endedOrLog(d, r.json.id, /DESKTOPS_OPEN=/);
    expect(log).toContain(
      "FAKE matlab (test stand-in) argv: -desktop -softwareopengl -r open(getenv('DESKTOPS_OPEN'))\n"
    );
    expect(log).toMatch(new RegExp(`^DESKTOPS_OPEN=${join(root, 'analysis.m')}$`, 'm'));
  });

  it('Panoply: a Java older than 11 is refused with a sentence', async () => {
    const oldJava = mkdtempSync(join(tmpdir(), 'desktops-FAKE-java8-'));
    writeFileSync(join(oldJava, 'java'), '#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n');
    chmodSync(join(oldJava, 'java'), 0o755);
    process.env.PATH = `${oldJava}:${savedPath}`;
    const r = await startSession(d.socket, { profile: 'panoply' }, ENDED);
    expect(r.state).toBe('failed');
    expect(r.exit.message).toBe(
      `NASA Panoply did not start: Panoply needs Java 11 or newer; ${join(oldJava, 'java')} is Java 8`
    );
  });

  it('MATLAB: runs the desktop with software OpenGL, and a licence failure is what the tab says', async () => {
    const r = await startSession(d.socket, { profile: 'matlab' });
    // It fails during its start, or just after it ran: either way, with the licence's reason.
    const message = (await waitForState(d.socket, r.id, ['failed'])).exit.message;
    // The last sentence the xstartup reported is the most specific one.
    expect(message).toMatch(/MATLAB could not get a licence: License Manager Error -9$/);
    const log = (await request(d.socket, 'GET', `/api/sessions/${r.id}/log`)).json.text;
    expect(log).toMatch(/FAKE matlab \(test stand-in\) argv: -desktop -softwareopengl$/m);
  });
});
