// The daemon's entry point and the only file that listens: on the unix socket
// jupyter-server-proxy passes as {unix_socket}, or, only with --tcp and a token on standard
// input, on loopback for development. Exits 0 only when asked to stop (SIGTERM/SIGINT):
// jupyter-server-proxy never restarts a daemon that exited 0.
import { realpathSync } from 'node:fs';
import { chmod, lstat, rmdir, unlink } from 'node:fs/promises';
import inspector from 'node:inspector';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Server as NetServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { GEOMETRY } from '@jupyterlab-desktops/protocol';
import { buildApp, buildUnavailableApp } from './app.js';
import { doctor } from './doctor.js';
import { ProfileStore } from './profiles.js';
import { rfbGate, TicketBook } from './rfb-gate.js';
import { MAX_MESSAGE } from './routes/rfb.js';
import { prepareRuntimeDir } from './runtime.js';
import { SessionManager } from './sessions/manager.js';

/** The largest desktop a client may ask for, unless the site says otherwise. */
const DEFAULT_MAX_GEOMETRY = `${GEOMETRY.defaultMaxWidth}x${GEOMETRY.defaultMaxHeight}`;

const USAGE = `usage: jupyter-desktops-daemon (--socket PATH | --tcp 127.0.0.1:PORT | --doctor | --profiles) [options]
  --doctor              check Node, Xtigervnc, profiles and OpenGL, print a report, exit
  --profiles            print every profile found, its file and what it overrides (JSON), exit
  --socket PATH         listen on this unix socket (created 0600)
  --rfb-socket PATH     also listen here for desktops' streams as raw RFB (created 0600;
                        jupyter-server-proxy's raw_socket_proxy entry desktops-rfb)
  --tcp HOST:PORT       development only: loopback TCP; reads its token (16+ characters)
                        from the first line of standard input: a pipe or a file (< token)
  --profiles-dir DIR    extra profile directory, later ones override (repeatable)
  --runtime-dir DIR     private directory for session sockets and logs (each daemon
                        uses DIR/d<pid>; default $XDG_RUNTIME_DIR/jupyter-desktops)
  --root-dir DIR        the user's Jupyter root: "Open in" files must lie inside it
                        (default: the current directory)
  --max-sessions N      desktops a user may run at once (default 1)
  --max-geometry WxH    largest desktop a client may ask for (default ${DEFAULT_MAX_GEOMETRY})
  --idle-timeout MIN    stop a desktop after MIN minutes without input (default 0: never)
  --prestart MIN        keep an X server ready for the next click (started when the
                        launcher shows) for MIN minutes unused (default 3; 0: never)
  --xvnc PATH           X server program (default Xtigervnc)
  --python PATH         Python 3 that runs each desktop's session reaper (default python3)
  --quiet               no request log`;

/** How to give the --tcp token, for the usage errors. */
const TOKEN_HOW =
  'e.g. (umask 077; openssl rand -hex 16 > token); ' +
  'jupyter-desktops-daemon --tcp 127.0.0.1:8765 < token';

export class UsageError extends Error {}

export interface IDaemonConfig {
  socket?: string;
  /** The raw RFB socket (rfb-gate.ts), beside `socket`. */
  rfbSocket?: string;
  tcp?: { host: string; port: number };
  /** With --tcp: read from standard input (readToken), never from argv or the environment. */
  token?: string;
  profileDirs: string[];
  iconDirs: string[];
  runtimeDir: string;
  /** Whether the runtime dir was chosen (flag or XDG_RUNTIME_DIR) rather than defaulted. */
  runtimeDirGiven: boolean;
  /** The user's Jupyter root ("Open in" files must lie inside it). */
  rootDir: string;
  maxSessions: number;
  maxWidth: number;
  maxHeight: number;
  xvnc: string;
  /** The Python 3 that runs each desktop's session reaper. */
  python: string;
  quiet: boolean;
  idleTimeoutMs: number;
  /** How long an X server started ahead of a click waits for it (0: none is started). */
  prestartMs: number;
  doctor: boolean;
  /** `--profiles`: print the profiles found and where (for `jupyter desktops profiles`). */
  profiles: boolean;
}

/**
 * Where built-in profiles and icons live: one level above the running script, i.e. dist/ for
 * the bundle (dist/bin/*.cjs) and daemon/ when run from lib/ in a checkout.
 */
function assetsRoot(): string {
  return resolve(dirname(realpathSync(process.argv[1] ?? '.')), '..');
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): IDaemonConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' },
        'rfb-socket': { type: 'string' },
        tcp: { type: 'string' },
        'profiles-dir': { type: 'string', multiple: true },
        'runtime-dir': { type: 'string' },
        'root-dir': { type: 'string' },
        'max-sessions': { type: 'string' },
        'max-geometry': { type: 'string' },
        'idle-timeout': { type: 'string' },
        prestart: { type: 'string' },
        xvnc: { type: 'string' },
        python: { type: 'string' },
        quiet: { type: 'boolean' },
        doctor: { type: 'boolean' },
        profiles: { type: 'boolean' },
        help: { type: 'boolean' }
      },
      strict: true
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    throw new UsageError(USAGE);
  }
  if ([values.socket, values.tcp, values.doctor, values.profiles].filter(Boolean).length !== 1) {
    throw new UsageError(`give exactly one of --socket, --tcp, --doctor or --profiles\n${USAGE}`);
  }
  if (values['rfb-socket'] && !values.socket) {
    throw new UsageError('--rfb-socket goes with --socket');
  }
  let tcp: IDaemonConfig['tcp'];
  if (values.tcp) {
    const m = /^(127\.0\.0\.1|\[::1\]|localhost):(\d{1,5})$/.exec(values.tcp);
    if (!m) {
      throw new UsageError('--tcp only accepts a loopback address, e.g. 127.0.0.1:8765');
    }
    tcp = { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    // Earlier versions read the token from there, where /proc/<pid>/environ shows it for the
    // daemon's whole life, whatever the daemon deletes. Refused rather than ignored, so that
    // an old command line learns what changed instead of waiting on standard input.
    if (env.JUPYTER_DESKTOPS_TOKEN !== undefined) {
      throw new UsageError(
        '--tcp no longer reads JUPYTER_DESKTOPS_TOKEN (a token in the environment can be read ' +
          `in /proc/<pid>/environ): unset it and give the token on standard input, ${TOKEN_HOW}`
      );
    }
  }
  const maxSessions = Number(values['max-sessions'] ?? '1');
  if (!Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > 16) {
    throw new UsageError('--max-sessions must be an integer from 1 to 16');
  }
  const idle = Number(values['idle-timeout'] ?? '0');
  if (!Number.isFinite(idle) || idle < 0 || idle > 525600) {
    throw new UsageError('--idle-timeout must be a number of minutes (0 turns it off)');
  }
  const prestart = Number(values.prestart ?? '3');
  if (!Number.isFinite(prestart) || prestart < 0 || prestart > 1440) {
    throw new UsageError('--prestart must be a number of minutes from 0 (off) to 1440');
  }
  const geo = /^(\d{3,4})x(\d{3,4})$/.exec(values['max-geometry'] ?? DEFAULT_MAX_GEOMETRY);
  if (!geo) {
    throw new UsageError('--max-geometry must look like 3840x2160');
  }
  const uid = process.getuid ? process.getuid() : 0;
  const root = assetsRoot();
  return {
    socket: values.socket ? resolve(values.socket) : undefined,
    rfbSocket: values['rfb-socket'] ? resolve(values['rfb-socket']) : undefined,
    tcp,
    profileDirs: [join(root, 'profiles'), ...(values['profiles-dir'] ?? []).map(d => resolve(d))],
    iconDirs: [join(root, 'icons'), resolve(root, '..', 'icons')],
    runtimeDir: resolve(
      values['runtime-dir'] ??
        (env.XDG_RUNTIME_DIR
          ? join(env.XDG_RUNTIME_DIR, 'jupyter-desktops')
          : join(tmpdir(), `jupyter-desktops-${uid}`))
    ),
    runtimeDirGiven: !!(values['runtime-dir'] ?? env.XDG_RUNTIME_DIR),
    rootDir: resolve(values['root-dir'] ?? process.cwd()),
    maxSessions,
    maxWidth: Number(geo[1]),
    maxHeight: Number(geo[2]),
    xvnc: values.xvnc ?? 'Xtigervnc',
    python: values.python ?? 'python3',
    quiet: !!values.quiet,
    doctor: !!values.doctor,
    profiles: !!values.profiles,
    idleTimeoutMs: idle * 60_000,
    prestartMs: prestart * 60_000
  };
}

/** The most a token line may hold: a pipe that never ends must not fill memory. */
const TOKEN_LINE_MAX = 1024;

/**
 * The --tcp token: the first line of `input` (standard input), which must be a pipe or a
 * file, not a terminal, and must say it within `timeoutMs`. Neither argv nor the environment
 * carries it, so no /proc file of the daemon shows it.
 */
export function readToken(
  input: NodeJS.ReadableStream & { isTTY?: boolean; destroy?: () => void },
  timeoutMs = 10_000
): Promise<string> {
  if (input.isTTY) {
    return Promise.reject(
      new UsageError(`--tcp reads its token from standard input, which is a terminal: ${TOKEN_HOW}`)
    );
  }
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      // Nothing more is read from there: closed, a writer that goes on fails instead of blocking.
      input.destroy?.();
      if (err) {
        return reject(err);
      }
      const token = text.split('\n')[0].trim();
      if (token.length > TOKEN_LINE_MAX || !/^[\x21-\x7e]{16,}$/.test(token)) {
        return reject(
          new UsageError(
            `--tcp needs a token of 16 to ${TOKEN_LINE_MAX} printable characters on the first ` +
              `line of standard input: ${TOKEN_HOW}`
          )
        );
      }
      resolvePromise(token);
    };
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (text.includes('\n') || text.length > TOKEN_LINE_MAX) {
        done();
      }
    };
    const onEnd = (): void => done();
    const onError = (err: Error): void =>
      done(new UsageError(`--tcp could not read its token from standard input: ${err.message}`));
    const timer = setTimeout(
      () =>
        done(
          new UsageError(
            `--tcp waited ${timeoutMs / 1000} s for a token on standard input: ${TOKEN_HOW}`
          )
        ),
      timeoutMs
    );
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
  });
}

/**
 * What the daemon was started with that would let another program into it: the inspector
 * (NODE_OPTIONS=--inspect from Jupyter's environment, or --inspect) answers anyone who can
 * reach its port, as this user; LD_PRELOAD runs code in it. launch.py starts the daemon
 * without either; this is for a daemon started some other way. The inspector is closed at
 * once; LD_PRELOAD has run already, so it can only be named.
 */
export function refuseDebugHooks(
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
  execArgv: string[] = process.execArgv
): void {
  const url = inspector.url();
  if (url) {
    inspector.close();
    const cause = [
      ...(/--inspect/.test(env.NODE_OPTIONS ?? '') ? ['NODE_OPTIONS in its environment'] : []),
      ...(execArgv.some(a => a.startsWith('--inspect')) ? ['--inspect on its command line'] : [])
    ];
    warn(
      `the Node.js inspector was listening (${url}; from ${cause.join(' and ') || 'NODE_OPTIONS or --inspect'}): ` +
        'closed it, since anyone who reaches its port can run code as this user'
    );
  }
  if (env.LD_PRELOAD) {
    warn(
      `LD_PRELOAD is set (${env.LD_PRELOAD}): those libraries run inside the daemon; ` +
        'start it without LD_PRELOAD'
    );
  }
}

/**
 * Listens on a unix socket born 0600: no moment in which it has wider modes than it keeps.
 * A stale socket of an earlier daemon at `path` is removed first.
 */
async function listenPrivately(path: string, listen: () => Promise<unknown>): Promise<void> {
  await unlinkStaleSocket(path);
  process.umask(0o177);
  try {
    await listen();
  } finally {
    process.umask(0o077);
  }
  await chmod(path, 0o600);
}

function listen(server: NetServer, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function unlinkStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) {
      await unlink(path);
    }
  } catch {
    // nothing there
  }
}

const warn = (line: string): void => {
  process.stderr.write(`jupyter-desktops-daemon: ${line}\n`);
};

export async function main(argv = process.argv.slice(2)): Promise<void> {
  // First: the inspector's port is open from before any of our code runs.
  refuseDebugHooks(process.env, warn);
  // The umask Jupyter started us with is the user's usual one: their desktops get it back
  // (never world-writable), while the daemon's own files stay private.
  const inheritedUmask = process.umask(0o077) | 0o002;
  let cfg: IDaemonConfig;
  try {
    cfg = parseConfig(argv, process.env);
    if (cfg.tcp) {
      cfg.token = await readToken(process.stdin);
    }
  } catch (err) {
    warn((err as Error).message);
    // Not 0: a proxy must not take a usage error for a clean stop.
    process.exit(2);
  }
  const serving = !cfg.profiles && !cfg.doctor;
  const profiles = new ProfileStore({
    dirs: cfg.profileDirs,
    iconDirs: cfg.iconDirs,
    xvnc: cfg.xvnc,
    // A profile that breaks while the daemon runs (a bad edit, a removed start script) only
    // loses its tile: the log must say which file and why, once per change.
    onProblem: serving
      ? p => warn(`${p.skipped ? 'ignoring profile' : 'profile'} ${p.file}: ${p.message}`)
      : undefined
  });
  if (cfg.profiles) {
    process.stdout.write(JSON.stringify(await profiles.sources(), null, 2) + '\n');
    process.exit(0);
  }
  if (cfg.doctor) {
    const report = await doctor({ ...cfg, profiles, assets: assetsRoot() });
    process.stdout.write(report.lines.join('\n') + '\n');
    process.exit(report.ok ? 0 : 1);
  }
  let runtimeDir: string;
  try {
    runtimeDir = await prepareRuntimeDir(cfg);
  } catch (err) {
    // Not an exit: jupyter-server-proxy would restart us in a loop while the tab waits for a
    // time-out. Serve the reason instead, on every route.
    const problem = (err as Error).message;
    warn(`cannot start desktops: ${problem}`);
    const app = await buildUnavailableApp({
      problem,
      token: cfg.token,
      logger: cfg.quiet ? false : {}
    });
    await serve(app, cfg, async () => undefined);
    return;
  }

  const sessions = new SessionManager({
    profiles,
    runtimeDir,
    xvnc: cfg.xvnc,
    maxSessions: cfg.maxSessions,
    maxWidth: cfg.maxWidth,
    maxHeight: cfg.maxHeight,
    idleTimeoutMs: cfg.idleTimeoutMs,
    spareTimeoutMs: cfg.prestartMs,
    rootDir: cfg.rootDir,
    reaper: join(assetsRoot(), 'profiles', 'session-reaper.py'),
    python: cfg.python,
    umask: inheritedUmask
  });
  const tickets = cfg.rfbSocket ? new TicketBook() : undefined;
  const app = await buildApp({
    profiles,
    sessions,
    tickets,
    token: cfg.token,
    logger: cfg.quiet ? false : {}
  });
  const gate = tickets && rfbGate({ sessions, tickets, maxMessage: MAX_MESSAGE });
  if (gate) {
    // An accept that fails (out of file descriptors) must not end the daemon.
    gate.on('error', err => warn(`the raw RFB socket: ${err.message}`));
    // Before the HTTP socket answers: /healthz then says the raw route is there.
    await listenPrivately(cfg.rfbSocket!, () => listen(gate, cfg.rfbSocket!));
  }

  // Listen first: jupyter-server-proxy's readiness probe (and the user's first click) waits
  // for the first answer, not for the housekeeping below.
  await serve(app, cfg, async () => {
    gate?.close();
    sessions.dispose();
    await sessions.stopAll({ code: 'daemon-shutdown', message: 'The desktops service stopped' });
    // <root>/d<pid> is this daemon's alone and its sessions' directories are gone with them:
    // left behind, every clean stop would add an empty directory until the next orphan sweep.
    // rmdir, not rm -r: should anything remain, it is left for that sweep to see.
    await rmdir(runtimeDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') {
        warn(`could not remove ${runtimeDir}: ${err.message}`);
      }
    });
  });
  // Starts wait for this (SessionManager serializes them behind it).
  const orphans = await sessions.cleanOrphans();
  if (orphans) {
    app.log.warn(`ended ${orphans} process(es) left by an earlier daemon`);
  }
  // Reports each bad profile through onProblem, once: later reads report only changes.
  await profiles.load();
}

/** Listens as the config says, and stops (`cleanup` first) on SIGTERM or SIGINT, exiting 0. */
async function serve(
  app: FastifyInstance,
  cfg: IDaemonConfig,
  cleanup: () => Promise<void>
): Promise<void> {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    app.log.info(`${signal}: stopping every desktop`);
    await cleanup();
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  if (cfg.socket) {
    await listenPrivately(cfg.socket, () => app.listen({ path: cfg.socket }));
  } else if (cfg.tcp) {
    await app.listen({ host: cfg.tcp.host, port: cfg.tcp.port });
  }
}
