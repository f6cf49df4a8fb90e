// Safe on a shared host: what a second Linux user can reach (nothing): the daemon's socket,
// a desktop's RFB socket, X display, cookie and log, also when the daemon starts under umask
// 000. Real users, real sockets, real Xtigervnc. (What a desktop's own processes expose is
// checked in desktop-checks.ts.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectAs,
  displayOf,
  DAEMON_BUNDLE,
  ensureUser,
  request,
  requireProgram,
  runAs,
  startDaemon,
  tmp,
  waitFor,
  writeProfile,
  type ITestDaemon
} from '../helpers';

const OTHER = 'desktops-mallory';
const DAEMON = DAEMON_BUNDLE;

describe('another user on the same host', () => {
  let d: ITestDaemon;
  let session: { id: string };
  let display: number;

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    requireProgram('xdpyinfo', 'x11-utils');
    requireProgram('xauth', 'xauth');
    ensureUser(OTHER);
    const dir = tmp();
    writeProfile(dir, 'test-min', 'echo "display=$DISPLAY"\nexec sleep 600');
    d = await startDaemon([dir]);
    session = (await request(d.socket, 'POST', '/api/sessions', { profile: 'test-min' })).json;
    display = await displayOf(d.socket, session.id);
  });
  afterAll(() => d?.close());

  it('cannot connect to the daemon socket', () => {
    expect(connectAs(OTHER, d.socket)).toBe('PermissionError');
  });

  it('cannot connect to the RFB socket', () => {
    const rfb = join(d.runtimeDir, session.id, 'rfb.sock');
    expect(existsSync(rfb)).toBe(true);
    expect(connectAs(OTHER, rfb)).toBe('PermissionError');
  });

  it('cannot use the X display, neither without a cookie nor with a guessed one', () => {
    const none = runAs(OTHER, ['xdpyinfo', '-display', `:${display}`]);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/unable to open display/);
    const guess = `/tmp/${OTHER}-guess-${process.pid}`;
    const add = runAs(OTHER, [
      'xauth',
      '-f',
      guess,
      'add',
      `:${display}`,
      'MIT-MAGIC-COOKIE-1',
      'a'.repeat(32)
    ]);
    expect(add.status).toBe(0);
    const guessed = runAs(OTHER, ['xdpyinfo', '-display', `:${display}`], { XAUTHORITY: guess });
    expect(guessed.status).not.toBe(0);
    expect(guessed.stderr).toMatch(/unable to open display/);
  });

  it('the owner, with the session cookie, can (the probe works)', () => {
    const ok = spawnSyncOk('xdpyinfo', ['-display', `:${display}`], {
      XAUTHORITY: join(d.runtimeDir, session.id, 'Xauthority')
    });
    expect(ok).toMatch(/name of display:\s+:\d+/);
  });

  it('cannot read the session log, cookie or runtime directory', () => {
    const dir = join(d.runtimeDir, session.id);
    expect(runAs(OTHER, ['ls', dir]).status).not.toBe(0);
    expect(runAs(OTHER, ['cat', join(dir, 'Xauthority')]).status).not.toBe(0);
    expect(statSync(dir).mode & 0o077).toBe(0);
  });
});

function spawnSyncOk(cmd: string, args: string[], env: Record<string, string>): string {
  return execFileSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
}

describe('the bundled daemon started under umask 000', () => {
  let proc: ChildProcess;
  const root = tmp('desktops-umask-');
  const pub = join(root, 'public');
  const sock = join(pub, 'daemon.sock');
  const runtime = join(pub, 'runtime');

  beforeAll(async () => {
    if (!existsSync(DAEMON)) {
      throw new Error(`${DAEMON} is missing: run npm run build first`);
    }
    ensureUser(OTHER);
    // A world-writable, world-readable place: only the daemon's own modes protect it.
    mkdirSync(pub);
    chmodSync(root, 0o755);
    chmodSync(pub, 0o777);
    proc = spawn(
      'sh',
      [
        '-c',
        'umask 000; exec "$0" "$@"',
        process.execPath,
        DAEMON,
        '--socket',
        sock,
        '--runtime-dir',
        runtime,
        '--quiet'
      ],
      {
        stdio: 'ignore'
      }
    );
    await waitFor(() => existsSync(sock), 15000, 'the daemon socket');
  });
  afterAll(async () => {
    proc.kill('SIGTERM');
    await new Promise(r => proc.once('exit', r));
  });

  it('creates its socket 0600 and its runtime directories 0700', () => {
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(runtime).mode & 0o777).toBe(0o700);
    const own = join(runtime, `d${proc.pid}`);
    expect(statSync(own).mode & 0o777).toBe(0o700);
  });

  it('refuses another user on the socket', () => {
    expect(connectAs(OTHER, sock)).toBe('PermissionError');
  });
});
