// Safe on a shared host: what a second Linux user can reach (nothing): the daemon's socket,
// a desktop's RFB socket, X display, cookie and log, also when the daemon starts under umask
// 000. Real users, real sockets, real Xtigervnc. (What a desktop's own processes expose is
// checked in desktop-checks.ts.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  connectAs,
  DAEMON_BUNDLE,
  displayOf,
  ensureUser,
  exited,
  readableBundle,
  request,
  requireProgram,
  runAs,
  startDaemon,
  startSession,
  tmp,
  type ITestDaemon,
  userDaemon,
  waitFor,
  writeProfile
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
    session = await startSession(d.socket, { profile: 'test-min' });
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

describe('another user fills /tmp/.X11-unix with names', () => {
  const VICTIM = 'desktops-desk';
  // Xtigervnc with -displayfd tries displays 0 to 59535 (65535 less the X TCP base, 6000).
  const NAMES = 59536;
  let daemon: { proc: ChildProcess; socket: string } | undefined;
  let made = false;

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    ensureUser(OTHER);
    ensureUser(VICTIM);
    if (!existsSync('/tmp/.X11-unix')) {
      mkdirSync('/tmp/.X11-unix');
      chmodSync('/tmp/.X11-unix', 0o1777);
    }
    // Removed again in afterAll, whatever happens here.
    made = true;
    const fill = asUser(OTHER, [
      'python3',
      '-c',
      'import os, sys\n' +
        'for i in range(int(sys.argv[1])):\n' +
        '    try:\n' +
        '        os.close(os.open("/tmp/.X11-unix/X%d" % i, os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n' +
        '    except FileExistsError:\n' +
        '        pass',
      String(NAMES)
    ]);
    expect(await exited(fill)).toBe(0);
    const profiles = tmp('desktops-flood-');
    chmodSync(profiles, 0o755);
    writeProfile(profiles, 'test-min', 'echo "display=$DISPLAY"\nexec sleep 600');
    daemon = await userDaemon(VICTIM, readableBundle(), ['--profiles-dir', profiles]);
  });
  afterAll(async () => {
    if (daemon) {
      daemon.proc.kill('SIGTERM');
      await exited(daemon.proc);
    }
    if (made) {
      execFileSync('find', ['/tmp/.X11-unix', '-user', OTHER, '-type', 'f', '-delete']);
    }
  });

  it('a desktop still starts: the X server makes no file in the shared directory', async () => {
    const uid = ensureUser(OTHER).uid;
    expect(
      readdirSync('/tmp/.X11-unix').filter(n => statSync(`/tmp/.X11-unix/${n}`).uid === uid).length
    ).toBeGreaterThanOrEqual(NAMES - 100);
    const s = await startSession(daemon!.socket, { profile: 'test-min' });
    expect(s.state, JSON.stringify(s)).toBe('running');
    await request(daemon!.socket, 'DELETE', `/api/sessions/${s.id}`);
  });
});
