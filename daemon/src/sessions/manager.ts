// SessionManager: starts, watches and ends desktops. Plain class, no Fastify, so it can be
// tested alone. Lifecycle (DESIGN.md): private runtime dir and cookie, Xtigervnc on a unix
// socket only, xstartup in its own process group with a clean environment, `running` once the
// RFB socket answers, and a stop that leaves no process, socket or lock file behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { GEOMETRY, type ExitReason, type Session } from '@jupyterlab-desktops/protocol';
import type { IResolvedProfile, ProfileStore } from '../profiles.js';
import { isAlive, MARKER_VAR, RUNTIME_VAR, signalGroup, sleep, sweepMarked } from './procs.js';
import { checkGl, meetsGl } from './gl.js';
import { SessionError } from './errors.js';
import { resolveOpen, type IOpenFile } from './open.js';
import { readDisplay, writeXauthority, xvncArgs } from './xvnc.js';

export { SessionError } from './errors.js';

export interface ISessionManagerOptions {
  profiles: ProfileStore;
  /**
   * This daemon's private (0700) directory, `<root>/d<pid>`; one subdirectory per session.
   */
  runtimeDir: string;
  xvnc: string;
  maxSessions?: number;
  maxWidth?: number;
  maxHeight?: number;
  /** How long a desktop may take to answer on its RFB socket. */
  startTimeoutMs?: number;
  /**
   * A start script that fails usually fails at once: wait this long after the RFB socket
   * answers, so that such a failure is reported by the start request itself.
   */
  settleMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping. */
  stopGraceMs?: number;
  /**
   * Stop a desktop after this long without keyboard, pointer or clipboard input from any
   * connected tab (0: never).
   */
  idleTimeoutMs?: number;
  /** How many ended sessions are remembered for status queries. */
  keepEnded?: number;
  /** Variables copied from the daemon's environment into the desktop's, when set. */
  passEnv?: string[];
  /** The user's Jupyter root: files given to applications ("Open in") must lie inside it. */
  rootDir?: string;
}

interface IRecord {
  session: Session;
  dir: string;
  display?: number;
  xvnc?: ChildProcess;
  xstartup?: ChildProcess;
  /** Set when a teardown begins; resolves once every process and the runtime dir are gone. */
  ended?: Promise<void>;
  /** When the last input arrived (ms since the epoch); start time until then. */
  lastInput: number;
  /** The log's last lines, kept once the runtime dir is gone. */
  logTail?: { text: string; truncated: boolean };
  /** The absolute path of the file the application opens, if any. */
  open?: string;
}

/** Environment variables that are safe and useful inside a desktop. */
const DEFAULT_PASS_ENV = ['LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'XDG_RUNTIME_DIR'];
const LOG_TAIL_BYTES = 16 * 1024;
/** How long a session's end waits to learn whether its X server went first. */
const X_SERVER_GRACE_MS = 500;

export class SessionManager extends EventEmitter {
  private readonly _records = new Map<string, IRecord>();
  private _queue: Promise<unknown> = Promise.resolve();
  private readonly _o: Required<ISessionManagerOptions>;

  private _idleTimer?: ReturnType<typeof setInterval>;

  constructor(opts: ISessionManagerOptions) {
    super();
    this._o = {
      maxSessions: 1,
      maxWidth: GEOMETRY.maxWidth,
      maxHeight: GEOMETRY.maxHeight,
      startTimeoutMs: 15000,
      settleMs: 400,
      stopGraceMs: 3000,
      keepEnded: 20,
      idleTimeoutMs: 0,
      passEnv: DEFAULT_PASS_ENV,
      rootDir: process.cwd(),
      // An option given as undefined keeps its default.
      ...(Object.fromEntries(
        Object.entries(opts).filter(([, v]) => v !== undefined)
      ) as ISessionManagerOptions)
    };
    if (this._o.idleTimeoutMs > 0) {
      const every = Math.max(250, Math.min(30_000, this._o.idleTimeoutMs / 4));
      this._idleTimer = setInterval(() => void this.cullIdle(), every);
      this._idleTimer.unref();
    }
  }

  get runtimeDir(): string {
    return this._o.runtimeDir;
  }

  list(): Session[] {
    return [...this._records.values()].map(r => ({ ...r.session }));
  }

  get(id: string): Session | undefined {
    const r = this._records.get(id);
    return r ? { ...r.session } : undefined;
  }

  /** Sessions that hold processes (starting or running). */
  live(): Session[] {
    return this.list().filter(s => s.state === 'starting' || s.state === 'running');
  }

  /** Path of a running session's RFB socket. */
  rfbSocket(id: string): string | undefined {
    const r = this._records.get(id);
    return r && r.session.state === 'running' ? join(r.dir, 'rfb.sock') : undefined;
  }

  /**
   * Records why a tab could not open a session's stream, for the tab to show (the browser
   * learns nothing from a failed WebSocket); `undefined` once one connects.
   */
  noteConnectProblem(id: string, problem: string | undefined): void {
    const r = this._records.get(id);
    if (!r) return;
    if (problem) r.session.connectProblem = problem;
    else delete r.session.connectProblem;
  }

  /** Records user input on a session (the idle clock restarts). */
  touch(id: string): void {
    const r = this._records.get(id);
    if (r) r.lastInput = Date.now();
  }

  /** Stops the idle checks (the daemon is closing). */
  dispose(): void {
    clearInterval(this._idleTimer);
  }

  /** Stops running desktops that have had no input for the idle timeout. */
  async cullIdle(now = Date.now()): Promise<string[]> {
    const limit = this._o.idleTimeoutMs;
    if (!limit) return [];
    const idle = [...this._records.values()].filter(
      r => r.session.state === 'running' && !r.ended && now - r.lastInput >= limit
    );
    await Promise.all(
      idle.map(r =>
        this._serial(() =>
          this._teardown(
            r,
            {
              code: 'idle',
              message: `${r.session.title} was stopped after ${formatDuration(limit)} without input`
            },
            'exited'
          )
        )
      )
    );
    return idle.map(r => r.session.id);
  }

  /** The largest geometry a client may ask for. */
  get maxGeometry(): { width: number; height: number } {
    return { width: this._o.maxWidth, height: this._o.maxHeight };
  }

  /**
   * Kills processes left by earlier daemons that died without stopping their sessions, and
   * removes their runtime directories. Each daemon owns `<root>/d<pid>`; only the directories
   * of daemons that are no longer alive are swept, so a user's second Jupyter server never
   * touches the first one's desktops. Call once before serving.
   */
  async cleanOrphans(): Promise<number> {
    const root = dirname(this._o.runtimeDir);
    const own = this._o.runtimeDir;
    const known = new Set(this._records.keys());
    const dead = (runtime: string): boolean => {
      if (runtime === own) return false;
      const m = /^d(\d+)$/.exec(basename(runtime));
      return dirname(runtime) === root && !!m && !isAlive(Number(m[1]));
    };
    const killed = await sweepMarked(
      (runtime, session) => dead(runtime) || (runtime === own && !known.has(session))
    );
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (dead(join(root, name))) await rm(join(root, name), { recursive: true, force: true });
    }
    for (const name of await readdir(own).catch(() => [] as string[])) {
      if (/^[A-Za-z0-9_-]{16}$/.test(name) && !known.has(name)) {
        await rm(join(own, name), { recursive: true, force: true });
      }
    }
    return killed;
  }

  /**
   * Starts a desktop. At the session limit it first ends the oldest ones, or, with
   * `replace: false`, refuses. Serialized with stops, so concurrent starts respect the limit.
   */
  start(
    profileId: string,
    geometry: { width?: number; height?: number } = {},
    opts: { replace?: boolean; open?: string } = {}
  ): Promise<Session> {
    return this._serial(() => this._start(profileId, geometry, opts.replace ?? true, opts.open));
  }

  /** Stops a session; resolves when nothing of it is left. */
  stop(id: string): Promise<Session> {
    return this._serial(async () => {
      const r = this._records.get(id);
      if (!r) throw new SessionError('not-found', `No desktop session ${id}`);
      await this._teardown(
        r,
        { code: 'stopped', message: `${r.session.title} was stopped` },
        'exited'
      );
      return { ...r.session };
    });
  }

  /** Stops every session (daemon shutdown). */
  stopAll(reason: ExitReason): Promise<void> {
    return this._serial(async () => {
      await Promise.all([...this._records.values()].map(r => this._teardown(r, reason, 'exited')));
    });
  }

  /** The last part of a session's log (Xtigervnc and xstartup output). */
  async log(id: string, maxBytes = LOG_TAIL_BYTES): Promise<{ text: string; truncated: boolean }> {
    const r = this._records.get(id);
    if (!r) throw new SessionError('not-found', `No desktop session ${id}`);
    if (r.logTail !== undefined) return r.logTail;
    return readTail(join(r.dir, 'log'), maxBytes);
  }

  private _serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this._queue.then(fn, fn);
    this._queue = next.catch(() => undefined);
    return next;
  }

  private _clamp(v: number | undefined, min: number, max: number, dflt: number): number {
    if (v === undefined) return Math.min(dflt, max);
    return Math.max(min, Math.min(max, Math.round(v)));
  }

  private async _start(
    profileId: string,
    geometry: { width?: number; height?: number },
    replace: boolean,
    open: string | undefined
  ): Promise<Session> {
    const resolved = await this._o.profiles.get(profileId);
    if (!resolved) throw new SessionError('not-found', `No desktop profile named ${profileId}`);
    const p = resolved.profile;
    if (!p.available) {
      throw new SessionError(
        'profile-unavailable',
        p.unavailableReason ?? `${p.title} is unavailable`
      );
    }
    // Checked before anything is replaced: a refused file changes nothing.
    const file: IOpenFile | undefined =
      open === undefined ? undefined : await resolveOpen(p, this._o.rootDir, open);
    const width = this._clamp(
      geometry.width,
      GEOMETRY.minWidth,
      this._o.maxWidth,
      GEOMETRY.defaultWidth
    );
    const height = this._clamp(
      geometry.height,
      GEOMETRY.minHeight,
      this._o.maxHeight,
      GEOMETRY.defaultHeight
    );

    const id = randomBytes(12).toString('base64url');
    const session: Session = {
      id,
      profile: p.id,
      title: p.title,
      state: 'starting',
      width,
      height,
      startedAt: new Date().toISOString(),
      ...(file ? { open: file.path } : {})
    };

    // Make room first: the limit counts live sessions, oldest replaced first.
    const live = [...this._records.values()].filter(
      r => r.session.state === 'starting' || r.session.state === 'running'
    );
    const excess = live.length + 1 - this._o.maxSessions;
    if (excess > 0 && !replace) {
      throw new SessionError(
        'too-many-sessions',
        `You already run ${live.length} desktop${live.length === 1 ? '' : 's'}, the most allowed: ` +
          `stop one first (${live.map(r => r.session.title).join(', ')})`
      );
    }
    if (excess > 0) {
      await Promise.all(
        live.slice(0, excess).map(r =>
          this._teardown(
            r,
            {
              code: 'replaced',
              message: `${r.session.title} was replaced by ${p.title}`,
              replacedBy: { session: id, profile: p.id, title: p.title }
            },
            'exited'
          )
        )
      );
    }

    const dir = join(this._o.runtimeDir, id);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      throw new SessionError(
        'start-failed',
        `${p.title} did not start: ${describeFsError(err, dir)}`
      );
    }
    const record: IRecord = { session, dir, lastInput: Date.now(), open: file?.absolute };
    this._records.set(id, record);
    this._forgetOld();
    this.emit('change', { ...session });

    try {
      await this._launch(record, resolved);
      session.state = 'running';
      this.emit('change', { ...session });
      return { ...session };
    } catch (err) {
      const said = await reportedError(join(dir, 'log'));
      const message = `${p.title} did not start: ${said ?? describeFsError(err, dir)}`;
      await this._teardown(record, { code: 'start-failed', message }, 'failed');
      throw new SessionError('start-failed', message, { ...record.session });
    }
  }

  private async _launch(r: IRecord, resolved: IResolvedProfile): Promise<void> {
    const s = r.session;
    const authFile = join(r.dir, 'Xauthority');
    const rfbSocket = join(r.dir, 'rfb.sock');
    await writeXauthority(authFile);
    const logFd = openSync(join(r.dir, 'log'), 'a', 0o600);
    const env = this._env(s.id);
    try {
      const xvnc = spawn(
        this._o.xvnc,
        xvncArgs({
          rfbSocket,
          authFile,
          width: s.width,
          height: s.height,
          desktopName: s.title,
          displayFd: 3
        }),
        { detached: true, env, cwd: r.dir, stdio: ['ignore', logFd, logFd, 'pipe'] }
      );
      r.xvnc = xvnc;
      const died = new Promise<never>((_, reject) => {
        xvnc.once('error', err => reject(new Error(`Xtigervnc could not be run: ${err.message}`)));
        xvnc.once('exit', (code, signal) =>
          reject(new Error(`Xtigervnc exited (${signal ?? `status ${code}`}) while starting`))
        );
      });
      died.catch(() => undefined);
      xvnc.once('exit', (code, signal) =>
        this._onExit(
          r,
          'xserver-exited',
          `The X server exited (${signal ?? `status ${code}`})`,
          true
        )
      );
      r.display = await Promise.race([
        readDisplay(xvnc.stdio[3] as Readable, this._o.startTimeoutMs),
        died
      ]);

      const display = { DISPLAY: `:${r.display}`, XAUTHORITY: authFile };
      // Applications that need OpenGL learn before they start whether they can have it.
      const glEnv: Record<string, string> = {};
      if (resolved.gl) {
        const info = await checkGl(resolved.gl.glxinfo, { ...env, ...display });
        if (!meetsGl(resolved.gl.version, info)) {
          throw new Error(
            `it needs OpenGL ${resolved.gl.version} or newer, and this desktop offers ` +
              `${info.core.join('.')} (${info.renderer})`
          );
        }
        glEnv.DESKTOPS_GL_RENDERER = info.renderer;
        glEnv.DESKTOPS_GL_VERSION = info.core.join('.');
        if (info.software) glEnv.DESKTOPS_GL_SOFTWARE = '1';
      }
      const xstartup = spawn(resolved.xstartup, [], {
        detached: true,
        cwd: env.HOME,
        env: {
          ...env,
          ...resolved.env,
          ...display,
          ...glEnv,
          // The file to open, for the xstartup to pass to its application as one argument.
          ...(r.open ? { DESKTOPS_OPEN: r.open } : {}),
          JUPYTER_DESKTOPS_PROFILE: resolved.profile.id
        },
        stdio: ['ignore', logFd, logFd]
      });
      r.xstartup = xstartup;
      const startupDied = new Promise<never>((_, reject) => {
        xstartup.once('error', err =>
          reject(new Error(`its start script could not be run: ${err.message}`))
        );
        xstartup.once('exit', (code, signal) =>
          reject(new Error(`its start script exited (${signal ?? `status ${code}`})`))
        );
      });
      startupDied.catch(() => undefined);
      xstartup.once('exit', (code, signal) => {
        const ok = code === 0;
        const how = signal ?? `status ${code}`;
        // An app-only session is the application: its end is the app exiting.
        const what =
          resolved.profile.kind === 'app' ? `${s.title} exited` : `The ${s.title} session ended`;
        // A session cannot outlive its display. When the X server dies, its clients die with
        // it, and their exits can be reaped before the server's: if the server goes within
        // moments, its exit (reported by its own handler) is the cause to show.
        void waitExit([xvnc], X_SERVER_GRACE_MS).then(() => {
          if (xvnc.exitCode !== null || xvnc.signalCode !== null) return;
          this._onExit(r, 'xstartup-exited', ok ? what : `${what} with an error (${how})`, !ok);
        });
      });
      await Promise.race([waitForRfb(rfbSocket, this._o.startTimeoutMs), died, startupDied]);
      await Promise.race([sleep(this._o.settleMs), died, startupDied]);
    } finally {
      closeSync(logFd);
    }
  }

  /** The desktop's environment: nothing of Jupyter's, its tokens least of all. */
  private _env(id: string): Record<string, string> {
    const u = userInfo();
    const env: Record<string, string> = {
      HOME: process.env.HOME || u.homedir,
      USER: u.username,
      LOGNAME: u.username,
      SHELL: u.shell || '/bin/sh',
      PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
      [MARKER_VAR]: id,
      [RUNTIME_VAR]: this._o.runtimeDir
    };
    for (const k of this._o.passEnv) {
      const v = process.env[k];
      if (v !== undefined && !/TOKEN|SECRET|PASSWORD|API_KEY/i.test(k)) env[k] = v;
    }
    return env;
  }

  /** One process of a running session ended on its own: tear the rest down. */
  private _onExit(
    r: IRecord,
    code: 'xserver-exited' | 'xstartup-exited',
    message: string,
    failed: boolean
  ): void {
    if (r.ended || r.session.state !== 'running') return;
    void this._serial(async () => {
      // A failing xstartup may have said why in a sentence of its own: show that.
      const said = failed ? await reportedError(join(r.dir, 'log')) : undefined;
      const text = said ? `${message}: ${said}` : message;
      await this._teardown(r, { code, message: text }, failed ? 'failed' : 'exited');
    });
  }

  /** Ends every process of the session and removes its runtime dir. Idempotent. */
  private _teardown(r: IRecord, reason: ExitReason, final: 'exited' | 'failed'): Promise<void> {
    if (r.ended) return r.ended;
    // The reason is known now: a client asking while we stop already learns why.
    r.session.state = 'stopping';
    r.session.exit = reason;
    this.emit('change', { ...r.session });
    r.ended = (async () => {
      const procs = [r.xstartup, r.xvnc].filter((p): p is ChildProcess => !!p);
      for (const p of procs) signalGroup(p.pid, 'SIGTERM');
      await waitExit(procs, this._o.stopGraceMs);
      for (const p of procs) signalGroup(p.pid, 'SIGKILL');
      await waitExit(procs, 2000);
      await sweepMarked((runtime, s) => runtime === this._o.runtimeDir && s === r.session.id);
      r.logTail = await readTail(join(r.dir, 'log'), LOG_TAIL_BYTES);
      await removeDisplayFiles(r.display, r.xvnc?.pid);
      await rm(r.dir, { recursive: true, force: true });
      r.session.state = final;
      r.session.endedAt = new Date().toISOString();
      this.emit('change', { ...r.session });
    })();
    return r.ended;
  }

  private _forgetOld(): void {
    const ended = [...this._records.values()].filter(
      r => r.session.state === 'exited' || r.session.state === 'failed'
    );
    for (const r of ended.slice(0, Math.max(0, ended.length - this._o.keepEnded))) {
      this._records.delete(r.session.id);
    }
  }
}

function waitExit(procs: ChildProcess[], timeoutMs: number): Promise<void> {
  const pending = procs.filter(p => p.exitCode === null && p.signalCode === null && p.pid);
  if (pending.length === 0) return Promise.resolve();
  return new Promise(resolve => {
    const timer = setTimeout(resolve, timeoutMs);
    let left = pending.length;
    for (const p of pending) {
      p.once('exit', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

/** Resolves once the RFB socket accepts a connection and sends its version banner. */
async function waitForRfb(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probeRfb(path)) return;
    if (Date.now() > deadline)
      throw new Error(`no answer on its RFB socket within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function probeRfb(path: string): Promise<boolean> {
  return new Promise(resolve => {
    const sock = connect(path);
    let got = '';
    const finish = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => finish(false));
    sock.on('error', () => finish(false));
    sock.on('data', d => {
      got += d.toString('latin1');
      if (got.length >= 12) finish(/^RFB \d{3}\.\d{3}\n/.test(got));
    });
    sock.on('end', () => finish(false));
  });
}

export async function readTail(
  file: string,
  maxBytes: number
): Promise<{ text: string; truncated: boolean }> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      let text = buf.toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      return { text, truncated: start > 0 };
    } finally {
      await fh.close();
    }
  } catch {
    return { text: '', truncated: false };
  }
}

/**
 * An X server killed with SIGKILL leaves its socket file in /tmp/.X11-unix behind (and a lock
 * file, for servers that write one). Remove them, but only when they are ours and no live
 * server holds the display (its abstract socket would still be listed in /proc/net/unix).
 */
async function removeDisplayFiles(
  display: number | undefined,
  pid: number | undefined
): Promise<void> {
  if (display === undefined || !pid) return;
  const uid = process.getuid ? process.getuid() : -1;
  const sock = `/tmp/.X11-unix/X${display}`;
  try {
    const unix = await readFile('/proc/net/unix', 'latin1');
    if (unix.includes(` @${sock}\n`)) return;
    const st = await lstat(sock);
    if (st.isSocket() && st.uid === uid) await unlink(sock);
  } catch {
    // Removed by the server itself, as on a clean exit.
  }
  const lock = `/tmp/.X${display}-lock`;
  try {
    const owner = Number((await readFile(lock, 'latin1')).trim());
    if (owner === pid && (await lstat(lock)).uid === uid) await unlink(lock);
  } catch {
    // No lock file: Xtigervnc with -displayfd writes none.
  }
}

/** "30 minutes", "90 seconds": for messages. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} hour${s === 3600 ? '' : 's'}`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} minute${s === 60 ? '' : 's'}`;
  return `${s} second${s === 1 ? '' : 's'}`;
}

/** File-system failures as sentences that name the place and the cause. */
export function describeFsError(err: unknown, where: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOSPC':
      return `no space left on the device holding ${where}`;
    case 'EDQUOT':
      return `the disk quota is exhausted for ${where}`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write ${e.path ?? where}`;
    case 'EROFS':
      return `${where} is on a read-only file system`;
    case 'ENOENT':
      return e.path ? `${e.path} does not exist` : e.message;
    default:
      return e.message;
  }
}

/** The prefix of a line by which an xstartup reports, in a sentence, why it failed. */
export const ERROR_LINE = 'jupyter-desktops: error: ';

/** The last sentence an xstartup reported with ERROR_LINE, if any. */
async function reportedError(log: string): Promise<string | undefined> {
  const { text } = await readTail(log, LOG_TAIL_BYTES);
  const lines = text.split('\n').filter(l => l.startsWith(ERROR_LINE));
  const last = lines.at(-1)?.slice(ERROR_LINE.length).trim();
  return last ? last.slice(0, 500) : undefined;
}
