// Shared by the daemon tests: temporary directories, test-only profiles and a real daemon on
// a real unix socket. Profiles made here are named "test-..." and never ship.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app';
import { ProfileStore } from '../src/profiles';
import { rfbGate, TicketBook } from '../src/rfb-gate';
import { MAX_MESSAGE } from '../src/routes/rfb';
import { SessionManager } from '../src/sessions/manager';

export const BUILTIN_PROFILES = resolve(__dirname, '..', 'profiles');
export const REAPER = join(BUILTIN_PROFILES, 'session-reaper.py');
export const ICONS = resolve(__dirname, '..', '..', 'icons');

export function tmp(prefix = 'desktops-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A PATH holding only the given (empty, executable) programs. */
export function fakePath(...names: string[]): string {
  const dir = tmp('desktops-path-');
  for (const n of names) {
    writeFileSync(join(dir, n), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, n), 0o755);
  }
  return dir;
}

/** Fails with a sentence naming the missing program instead of a cryptic spawn error. */
export function requireProgram(name: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'pipe' });
  } catch {
    throw new Error(
      `${name} is missing: install the Debian package ${pkg} (the test command does)`
    );
  }
}

/** Writes a profile and its xstartup into `dir`. */
export function writeProfile(
  dir: string,
  id: string,
  script: string,
  extra: Record<string, unknown> = {}
): void {
  writeFileSync(
    join(dir, `${id}.json`),
    JSON.stringify({ id, title: `Test ${id}`, xstartup: `${id}.sh`, ...extra })
  );
  writeFileSync(join(dir, `${id}.sh`), `#!/bin/sh\n${script}\n`);
  chmodSync(join(dir, `${id}.sh`), 0o755);
}

/**
 * A minimal real session: paints the root window and waits. `exec` keeps the script's pid so
 * the daemon sees the session end when it does.
 */
export const MINIMAL_SESSION = 'echo "display=$DISPLAY"\nexec sleep 600';

export interface ITestDaemon {
  app: FastifyInstance;
  sessions: SessionManager;
  profiles: ProfileStore;
  socket: string;
  /** The raw RFB socket and its tickets, when asked for (`rfbSocket: true`). */
  rfbSocket?: string;
  tickets?: TicketBook;
  runtimeDir: string;
  close(): Promise<void>;
}

/** The real app on a real unix socket, with built-in profiles plus `profileDirs`. */
export async function startDaemon(
  profileDirs: string[],
  opts: {
    maxSessions?: number;
    token?: string;
    daemonPid?: number;
    idleTimeoutMs?: number;
    /** The Jupyter root "Open in" files must lie inside. */
    rootDir?: string;
    /** Another daemon's runtime root, to stand for a second Jupyter server of the user. */
    runtimeRoot?: string;
    logMaxBytes?: number;
    spareTimeoutMs?: number;
    /** The X server program (default Xtigervnc). */
    xvnc?: string;
    /** Also listen on a raw RFB socket, with tickets (rfb-gate.ts); its handshake limit. */
    rfbSocket?: boolean;
    handshakeMs?: number;
  } = {}
): Promise<ITestDaemon> {
  const root = tmp('desktops-daemon-');
  chmodSync(root, 0o700);
  const runtimeDir = join(
    opts.runtimeRoot ?? join(root, 'rt'),
    `d${opts.daemonPid ?? process.pid}`
  );
  const socket = join(root, 'daemon.sock');
  const profiles = new ProfileStore({
    dirs: [BUILTIN_PROFILES, ...profileDirs],
    iconDirs: [ICONS],
    xvnc: 'Xtigervnc'
  });
  execFileSync('mkdir', ['-p', '-m', '700', runtimeDir]);
  const sessions = new SessionManager({
    profiles,
    runtimeDir,
    xvnc: opts.xvnc ?? 'Xtigervnc',
    maxSessions: opts.maxSessions ?? 1,
    maxWidth: 1920,
    maxHeight: 1080,
    idleTimeoutMs: opts.idleTimeoutMs,
    rootDir: opts.rootDir,
    reaper: REAPER,
    logMaxBytes: opts.logMaxBytes,
    spareTimeoutMs: opts.spareTimeoutMs
  });
  const tickets = opts.rfbSocket ? new TicketBook() : undefined;
  const app = await buildApp({ profiles, sessions, tickets, token: opts.token });
  await app.listen({ path: socket });
  const rfbSocket = tickets && join(root, 'rfb.sock');
  const gate =
    tickets &&
    rfbGate({ sessions, tickets, maxMessage: MAX_MESSAGE, handshakeMs: opts.handshakeMs });
  if (gate) {
    await new Promise<void>(r => gate.listen(rfbSocket, r));
  }
  return {
    app,
    sessions,
    profiles,
    socket,
    rfbSocket,
    tickets,
    runtimeDir,
    async close() {
      gate?.close();
      sessions.dispose();
      await sessions.stopAll({ code: 'daemon-shutdown', message: 'test over' });
      await app.close();
    }
  };
}

/** A JSON request to the daemon over its unix socket. */
export function request(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; json: any }> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        socketPath,
        method,
        path,
        headers: {
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...headers
        }
      },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', c => (text += c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined })
        );
      }
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Socket inodes of every TCP listener and bound UDP socket on the host, from /proc/net. */
export function listeningInodes(): Map<string, string> {
  const out = new Map<string, string>();
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${proto}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) {
        continue;
      }
      const [local, , state, , , , , , inode] = [
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        f[9]
      ];
      // TCP LISTEN is state 0A; any UDP socket with a bound local port can receive.
      const listening = proto.startsWith('tcp') ? state === '0A' : !local.endsWith(':0000');
      if (listening) {
        out.set(inode, `${proto} ${local}`);
      }
    }
  }
  return out;
}

/** The listeners (TCP or UDP) held by any of `pids`, as "pid proto addr" strings. */
export function listenersOf(pids: number[]): string[] {
  const listening = listeningInodes();
  const found: string[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && listening.has(m[1])) {
          found.push(`${pid} ${listening.get(m[1])}`);
        }
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return found;
}

/** Polls until `fn` returns a truthy value or the time is up. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10000,
  what = 'condition'
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise(r => setTimeout(r, 100));
  }
}

/** Creates (once) a real Linux user with a private home, for probes from another uid. */
export function ensureUser(name: string): { uid: number; gid: number; home: string } {
  if (process.getuid?.() !== 0) {
    throw new Error(`creating the test user ${name} needs root (CI runs as root)`);
  }
  try {
    execFileSync('id', ['-u', name], { stdio: 'pipe' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', name]);
  }
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  const home = `/home/${name}`;
  chmodSync(home, 0o700);
  return { uid, gid, home };
}

/** Runs a program as another user (setpriv: no shell, no inherited groups). */
export function runAs(
  user: string,
  argv: string[],
  env: Record<string, string> = {}
): { status: number; stdout: string; stderr: string } {
  const { uid, gid, home } = ensureUser(user);
  const r = spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', ...argv],
    {
      encoding: 'utf8',
      cwd: '/',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, USER: user, ...env },
      timeout: 20000
    }
  );
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A unix-socket connect attempt as another user: the Python error name, or "connected". */
export function connectAs(user: string, path: string): string {
  const r = runAs(user, [
    'python3',
    '-c',
    'import socket, sys\n' +
      's = socket.socket(socket.AF_UNIX)\n' +
      'try:\n    s.connect(sys.argv[1]); print("connected")\n' +
      'except OSError as e:\n    print(type(e).__name__)',
    path
  ]);
  return r.stdout.trim();
}

export const DAEMON_BUNDLE = resolve(__dirname, '..', 'dist', 'bin', 'jupyter-desktops-daemon.cjs');

/** The bundled daemon as a real process on a unix socket (as jupyter-server-proxy runs it). */
export async function spawnDaemon(
  socket: string,
  args: string[] = [],
  env: Record<string, string> = {},
  /** The umask it is started with, as Jupyter would pass its own on (octal). */
  umask?: string
): Promise<import('node:child_process').ChildProcess> {
  if (!existsSync(DAEMON_BUNDLE)) {
    throw new Error(`${DAEMON_BUNDLE} is missing: run npm run build first`);
  }
  const argv = [process.execPath, DAEMON_BUNDLE, '--socket', socket, '--quiet', ...args];
  const [cmd, ...rest] = umask ? ['sh', '-c', `umask ${umask} && exec "$@"`, 'sh', ...argv] : argv;
  const p = spawn(cmd, rest, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env }
  });
  let err = '';
  p.stderr!.on('data', d => (err += d));
  await waitFor(
    async () => {
      if (p.exitCode !== null) {
        throw new Error(`daemon exited ${p.exitCode}: ${err}`);
      }
      // Any answer, as jupyter-server-proxy waits: a daemon that cannot start desktops
      // answers too (503, with the reason).
      return (
        existsSync(socket) && (await request(socket, 'GET', '/healthz').catch(() => undefined))
      );
    },
    20000,
    'the daemon to answer'
  );
  return p;
}

/** Starts a program as another user (setpriv), in their home, with a minimal environment. */
export function asUser(
  user: string,
  argv: string[],
  env: Record<string, string> = {}
): ChildProcess {
  const { uid, gid, home } = ensureUser(user);
  return spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', ...argv], {
    cwd: home,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, USER: user, LOGNAME: user, ...env },
    stdio: 'ignore'
  });
}

/** A copy of the bundled daemon (with its profiles) every user can read; its path. */
export function readableBundle(): string {
  if (!existsSync(DAEMON_BUNDLE)) {
    throw new Error(`${DAEMON_BUNDLE} is missing: run npm run build first`);
  }
  const root = tmp('desktops-bundle-');
  cpSync(dirname(dirname(DAEMON_BUNDLE)), root, { recursive: true });
  execFileSync('chmod', ['-R', 'a+rX', root]);
  return join(root, 'bin', basename(DAEMON_BUNDLE));
}

/** The bundled daemon run as `user`, on a socket in their home; resolves once it answers. */
export async function userDaemon(
  user: string,
  bundle: string,
  args: string[] = [],
  env: Record<string, string> = {}
): Promise<{ proc: ChildProcess; socket: string }> {
  const socket = join(ensureUser(user).home, 'desktops.sock');
  const proc = asUser(
    user,
    [process.execPath, bundle, '--socket', socket, '--quiet', ...args],
    env
  );
  await waitFor(
    async () =>
      existsSync(socket) && (await request(socket, 'GET', '/healthz').catch(() => undefined)),
    30000,
    `${user}'s daemon`
  );
  return { proc, socket };
}

export interface ISessionProcess {
  pid: number;
  uid: number;
  /** The kernel's short name of the program (/proc/<pid>/comm). */
  comm: string;
  argv: string[];
  env: Map<string, string>;
}

/**
 * Every process carrying a session's marker, whoever runs it (root reads every /proc entry):
 * the one way the tests find a desktop's processes.
 */
export function processesOfSession(id: string): ISessionProcess[] {
  const out: ISessionProcess[] = [];
  for (const name of readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
    try {
      const env = new Map(
        readFileSync(`/proc/${name}/environ`, 'latin1')
          .split('\0')
          .filter(Boolean)
          .map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])
      );
      if (env.get('JUPYTER_DESKTOPS_SESSION') !== id) {
        continue;
      }
      const status = readFileSync(`/proc/${name}/status`, 'latin1');
      // A zombie has ended: it is no process of the session any more.
      if (/^State:\s+Z/m.test(status)) {
        continue;
      }
      const argv = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').slice(0, -1);
      const comm = readFileSync(`/proc/${name}/comm`, 'latin1').trim();
      out.push({
        pid: Number(name),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]),
        comm,
        argv,
        env
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** PIDs of the processes that carry the session marker of `id`. */
export async function sessionPids(id: string): Promise<number[]> {
  return processesOfSession(id).map(p => p.pid);
}

/** The session's process whose program is `comm` (waiting for it to appear). */
export function sessionProcess(
  id: string,
  comm: string,
  timeoutMs = 10000
): Promise<ISessionProcess> {
  return waitFor(
    () => processesOfSession(id).find(p => p.comm === comm),
    timeoutMs,
    `a ${comm} process in session ${id}`
  );
}

/** The session's Xtigervnc. */
export function xvncOf(id: string): ISessionProcess {
  const x = processesOfSession(id).find(p => p.argv[0] === 'Xtigervnc');
  if (!x) {
    throw new Error(`no Xtigervnc in session ${id}`);
  }
  return x;
}

/**
 * A display's window tree (`xwininfo -root -tree`); "" when a window went while it was read
 * (BadWindow, as a desktop starts), for the caller's waitFor to read it again.
 */
export function windowTree(display: string, xauthority: string): string {
  try {
    return execFileSync('xwininfo', ['-root', '-tree'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, DISPLAY: display, XAUTHORITY: xauthority }
    });
  } catch {
    return '';
  }
}

/** Resolves with a child's exit code once it has exited. */
export function exited(p: ChildProcess): Promise<number | null> {
  return new Promise(r =>
    p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', code => r(code))
  );
}

/** The display number a test profile logged as `display=:N`. */
export async function displayOf(socket: string, id: string): Promise<number> {
  const m = await waitFor(
    async () =>
      /display=:(\d+)/.exec((await request(socket, 'GET', `/api/sessions/${id}/log`)).json.text),
    10000,
    'the session to log its display'
  );
  return Number(m[1]);
}

/**
 * Starts a desktop as a tab does: `POST api/sessions` answers 202 with the `starting` session,
 * then the session is followed until it runs or ends. Returns it then (`running`, or `failed`
 * with its `exit`); a refused start throws with the daemon's answer.
 */
export async function startSession(
  socket: string,
  body: Record<string, unknown>,
  o: { timeoutMs?: number; headers?: Record<string, string>; until?: string[] } = {}
): Promise<any> {
  const r = await request(socket, 'POST', '/api/sessions', body, o.headers);
  if (r.status !== 202 || r.json.state !== 'starting') {
    throw new Error(`the start was refused: ${r.status} ${JSON.stringify(r.json)}`);
  }
  const until = o.until ?? ['running', 'exited', 'failed'];
  return waitForState(socket, r.json.id, until, o.timeoutMs, o.headers);
}

/**
 * For `startSession`, a start expected to fail: a session is `running` once its RFB socket
 * answers, so a start script that fails at once ends it after that.
 */
export const ENDED = { until: ['exited', 'failed'] };

/** Polls a session until its state is one of `states`; returns it. */
export function waitForState(
  socket: string,
  id: string,
  states: string[],
  timeoutMs = 15000,
  headers?: Record<string, string>
): Promise<any> {
  return waitFor(
    async () => {
      const r = (await request(socket, 'GET', `/api/sessions/${id}`, undefined, headers)).json;
      return states.includes(r.state) ? r : undefined;
    },
    timeoutMs,
    `session ${id} to become ${states.join(' or ')}`
  );
}
