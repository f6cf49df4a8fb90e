// The daemon's entry point and the only file that listens: on the unix socket
// jupyter-server-proxy passes as {unix_socket}, or, only with --tcp and a token in the
// environment, on loopback for development. Exits 0 only when asked to stop (SIGTERM/SIGINT):
// jupyter-server-proxy never restarts a daemon that exited 0.
import { realpathSync } from 'node:fs';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { GEOMETRY } from '@jupyterlab-desktops/protocol';
import { buildApp, buildUnavailableApp } from './app.js';
import { doctor } from './doctor.js';
import { ProfileStore } from './profiles.js';
import { prepareRuntimeDir } from './runtime.js';
import { SessionManager } from './sessions/manager.js';

/** The largest desktop a client may ask for, unless the site says otherwise. */
const DEFAULT_MAX_GEOMETRY = `${GEOMETRY.defaultMaxWidth}x${GEOMETRY.defaultMaxHeight}`;

const USAGE = `usage: jupyter-desktops-daemon (--socket PATH | --tcp 127.0.0.1:PORT | --doctor | --profiles) [options]
  --doctor              check Node, Xtigervnc, profiles and OpenGL, print a report, exit
  --profiles            print every profile found, its file and what it overrides (JSON), exit
  --socket PATH         listen on this unix socket (created 0600)
  --tcp HOST:PORT       development only: loopback TCP; requires JUPYTER_DESKTOPS_TOKEN
  --profiles-dir DIR    extra profile directory, later ones override (repeatable)
  --runtime-dir DIR     private directory for session sockets and logs (each daemon
                        uses DIR/d<pid>; default $XDG_RUNTIME_DIR/jupyter-desktops)
  --root-dir DIR        the user's Jupyter root: "Open in" files must lie inside it
                        (default: the current directory)
  --max-sessions N      desktops a user may run at once (default 1)
  --max-geometry WxH    largest desktop a client may ask for (default ${DEFAULT_MAX_GEOMETRY})
  --idle-timeout MIN    stop a desktop after MIN minutes without input (default 0: never)
  --xvnc PATH           X server program (default Xtigervnc)
  --python PATH         Python 3 that runs each desktop's session reaper (default python3)
  --quiet               no request log`;

export class UsageError extends Error {}

export interface IDaemonConfig {
  socket?: string;
  tcp?: { host: string; port: number };
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
        tcp: { type: 'string' },
        'profiles-dir': { type: 'string', multiple: true },
        'runtime-dir': { type: 'string' },
        'root-dir': { type: 'string' },
        'max-sessions': { type: 'string' },
        'max-geometry': { type: 'string' },
        'idle-timeout': { type: 'string' },
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
  let tcp: IDaemonConfig['tcp'];
  let token: string | undefined;
  if (values.tcp) {
    const m = /^(127\.0\.0\.1|\[::1\]|localhost):(\d{1,5})$/.exec(values.tcp);
    if (!m) {
      throw new UsageError('--tcp only accepts a loopback address, e.g. 127.0.0.1:8765');
    }
    tcp = { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    token = env.JUPYTER_DESKTOPS_TOKEN;
    if (!token || token.length < 16) {
      throw new UsageError(
        '--tcp needs JUPYTER_DESKTOPS_TOKEN (16+ characters) in the environment'
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
  const geo = /^(\d{3,4})x(\d{3,4})$/.exec(values['max-geometry'] ?? DEFAULT_MAX_GEOMETRY);
  if (!geo) {
    throw new UsageError('--max-geometry must look like 3840x2160');
  }
  const uid = process.getuid ? process.getuid() : 0;
  const root = assetsRoot();
  return {
    socket: values.socket ? resolve(values.socket) : undefined,
    tcp,
    token,
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
    idleTimeoutMs: idle * 60_000
  };
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

export async function main(argv = process.argv.slice(2)): Promise<void> {
  // The umask Jupyter started us with is the user's usual one: their desktops get it back
  // (never world-writable), while the daemon's own files stay private.
  const inheritedUmask = process.umask(0o077) | 0o002;
  let cfg: IDaemonConfig;
  try {
    cfg = parseConfig(argv, process.env);
  } catch (err) {
    process.stderr.write(`jupyter-desktops-daemon: ${(err as Error).message}\n`);
    // Not 0: a proxy must not take a usage error for a clean stop.
    process.exit(2);
  }
  delete process.env.JUPYTER_DESKTOPS_TOKEN;
  const profiles = new ProfileStore({
    dirs: cfg.profileDirs,
    iconDirs: cfg.iconDirs,
    xvnc: cfg.xvnc
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
    process.stderr.write(`jupyter-desktops-daemon: cannot start desktops: ${problem}\n`);
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
    rootDir: cfg.rootDir,
    reaper: join(assetsRoot(), 'profiles', 'session-reaper.py'),
    python: cfg.python,
    umask: inheritedUmask
  });
  const app = await buildApp({
    profiles,
    sessions,
    token: cfg.token,
    logger: cfg.quiet ? false : {}
  });

  const orphans = await sessions.cleanOrphans();
  if (orphans) {
    app.log.warn(`ended ${orphans} process(es) left by an earlier daemon`);
  }
  const { problems } = await profiles.load();
  for (const p of problems) {
    app.log.warn(`ignoring profile ${p.file}: ${p.message}`);
  }

  await serve(app, cfg, async () => {
    sessions.dispose();
    await sessions.stopAll({ code: 'daemon-shutdown', message: 'The desktops service stopped' });
  });
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
    await unlinkStaleSocket(cfg.socket);
    // Born 0600: no moment in which the socket has wider modes than it keeps.
    process.umask(0o177);
    try {
      await app.listen({ path: cfg.socket });
    } finally {
      process.umask(0o077);
    }
    await chmod(cfg.socket, 0o600);
  } else if (cfg.tcp) {
    await app.listen({ host: cfg.tcp.host, port: cfg.tcp.port });
  }
}
