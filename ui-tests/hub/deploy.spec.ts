// The deploy/ files themselves, as installed by deploy/install.sh for the hub tests: the
// systemd units pass systemd-analyze (which runs here though systemd is not PID 1), and running
// the install again, as an upgrade does, keeps what an admin edited.
import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PREFIX, ROOT, STATE } from './stack';

test('the systemd units pass systemd-analyze verify without a word', () => {
  const dir = join(STATE, 'root', 'etc', 'systemd', 'system');
  for (const unit of ['jupyterhub.service', 'jupyterhub-users.slice']) {
    const r = spawnSync('systemd-analyze', ['verify', join(dir, unit)], { encoding: 'utf8' });
    expect(r.status, unit).toBe(0);
    // It only warns about an unknown or misspelled setting: any output is a failure here.
    expect(r.stdout + r.stderr, unit).toBe('');
  }
});

test("installing again (an upgrade) keeps the admin's edits and puts the new file beside them", () => {
  const config = join(STATE, 'root', 'etc', 'jupyterhub', 'jupyterhub_config.py');
  appendFileSync(config, '\n# an admin was here\n');
  const r = spawnSync(
    'bash',
    [
      join(ROOT, 'deploy', 'install.sh'),
      '--no-apt',
      '--prefix',
      PREFIX,
      '--destdir',
      join(STATE, 'root')
    ],
    { encoding: 'utf8', env: { ...process.env, PIP_RETRIES: '0' }, timeout: 600_000 }
  );
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain(`kept your ${config}; the new version is ${config}.dist`);
  expect(readFileSync(config, 'utf8')).toContain('# an admin was here');
  expect(readFileSync(`${config}.dist`, 'utf8')).not.toContain('# an admin was here');
  expect(readFileSync(`${config}.dist`, 'utf8')).toContain(`PREFIX = "${PREFIX}"`);
});
