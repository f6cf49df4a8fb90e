// An unwritable or full runtime disk, on real small file systems (a tmpfs mounted read-only
// or filled): modes do not stop root, a read-only or full mount does. Needs root to mount.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  exited,
  MINIMAL_SESSION,
  request,
  spawnDaemon,
  tmp,
  waitForState,
  writeProfile
} from '../helpers';

function profiles(): string {
  const dir = tmp('desktops-profiles-');
  chmodSync(dir, 0o755);
  writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
  return dir;
}

describe('an unwritable or full runtime disk', () => {
  const mnt = tmp('desktops-full-');
  let p: ChildProcess | undefined;
  beforeAll(() => {
    if (process.getuid?.() !== 0) {
      throw new Error('mounting a small tmpfs needs root (CI runs as root)');
    }
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt]);
  });
  afterEach(async () => {
    if (p && p.exitCode === null) {
      p.kill('SIGTERM');
      await exited(p);
    }
  });
  afterAll(() => {
    execFileSync('umount', ['-l', mnt]);
  });

  it('a read-only runtime disk: a clear error, and the daemon lives on', async () => {
    const sock = join(tmp('desktops-sock-'), 'd.sock');
    const runtime = join(mnt, 'ro');
    mkdirSync(runtime, { mode: 0o700 });
    p = await spawnDaemon(sock, ['--runtime-dir', runtime, '--profiles-dir', profiles()]);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      const r = await request(sock, 'POST', '/api/sessions', { profile: 'test-min' });
      expect(r.status).toBe(500);
      expect(r.json.error.message).toMatch(
        /^Minimal did not start: .*ro\/d\d+\/[\w-]{16} is on a read-only file system$/
      );
      expect((await request(sock, 'GET', '/healthz')).status).toBe(200);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
  });

  it('a runtime directory that cannot be made: every route says why at once, and SIGTERM still stops it', async () => {
    const sock = join(tmp('desktops-sock-'), 'd.sock');
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      p = await spawnDaemon(sock, [
        '--runtime-dir',
        join(mnt, 'never'),
        '--profiles-dir',
        profiles()
      ]);
      for (const [method, path, body] of [
        ['GET', '/healthz'],
        ['GET', '/api/profiles'],
        ['POST', '/api/sessions', { profile: 'test-min' }]
      ] as const) {
        const r = await request(sock, method, path, body);
        expect(r.status, path).toBe(503);
        expect(r.json.error).toEqual({
          code: 'unavailable',
          message:
            `The runtime directory ${join(mnt, 'never')} cannot be used: ${join(mnt, 'never')} is ` +
            'on a read-only file system. Set c.Desktops.runtime_dir (in jupyter_server_config.py) ' +
            'to a directory of your own, or ask your administrator to.'
        });
      }
      // Served, not exited: jupyter-server-proxy would restart an exited daemon in a loop.
      expect(p.exitCode).toBe(null);
      p.kill('SIGTERM');
      expect(await exited(p)).toBe(0);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
  });

  it('a runtime directory on a file system that refuses it (/proc): a sentence, not a hang', async () => {
    const sock = join(tmp('desktops-sock-'), 'd.sock');
    p = await spawnDaemon(sock, ['--runtime-dir', '/proc/jupyter-desktops-test/rt']);
    const r = await request(sock, 'GET', '/api/sessions');
    expect(r.status).toBe(503);
    expect(r.json.error.message).toMatch(
      /^The runtime directory \/proc\/jupyter-desktops-test\/rt cannot be used/
    );
  });

  it('a runtime directory too long a path for the sockets below it: a sentence', async () => {
    const sock = join(tmp('desktops-sock-'), 'd.sock');
    const long = join(mnt, 'x'.repeat(90));
    p = await spawnDaemon(sock, ['--runtime-dir', long]);
    const r = await request(sock, 'GET', '/api/profiles');
    expect(r.status).toBe(503);
    expect(r.json.error.message).toBe(
      `The runtime directory ${long} is too long a path: desktop sockets under it would pass ` +
        "Linux's limit of 107 characters for a socket path. Set c.Desktops.runtime_dir (in " +
        'jupyter_server_config.py) to a directory of your own, or ask your administrator to.'
    );
    expect(existsSync(long)).toBe(false);
  });

  it('a start on a full runtime disk fails with a sentence, and the daemon lives on', async () => {
    const sock = join(tmp('desktops-sock-'), 'd.sock');
    const runtime = join(mnt, 'rt');
    mkdirSync(runtime, { mode: 0o700 });
    p = await spawnDaemon(sock, ['--runtime-dir', runtime, '--profiles-dir', profiles()]);
    // Fill the disk to the last block.
    try {
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(1 << 20));
    } catch {
      // ENOSPC: full, as intended
    }
    const r = await request(sock, 'POST', '/api/sessions', { profile: 'test-min' });
    // Its directory cannot be made (refused at once), or its log cannot be written (the
    // session fails while starting), whichever the file system hits first.
    const message =
      r.status === 202
        ? (await waitForState(sock, r.json.id, ['failed'])).exit.message
        : r.json.error.message;
    expect([202, 500]).toContain(r.status);
    expect(message).toMatch(/^Minimal did not start: no space left on the device holding /);
    expect((await request(sock, 'GET', '/healthz')).status).toBe(200);
    expect(existsSync(sock)).toBe(true);
  });
});
