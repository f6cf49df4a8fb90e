// SessionManager: the session policy. Which desktops may run (the limit, replacing the oldest,
// idle culling), the lifecycle states and their reasons, and the order of a start and a stop.
// The parts it uses stand alone: xvnc.ts starts the X server, procs.ts finds and ends
// processes, logs.ts reads logs and words failures. Lifecycle (docs/architecture.md, section
// 5): private runtime dir and cookie, Xtigervnc on a unix socket only, xstartup in its own
// process group with a clean environment, `running` once the RFB socket answers, and a stop
// that leaves no process, socket or lock file behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, openSync, watch, type FSWatcher } from 'node:fs';
import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  GEOMETRY,
  isLive,
  SESSION_ID_PATTERN,
  type ExitReason,
  type Session,
  type Spare
} from '@jupyterlab-desktops/protocol';
import type { IResolvedProfile, ProfileStore } from '../profiles.js';
import { SessionError } from './errors.js';
import { checkGl, meetsGl } from './gl.js';
import {
  capLog,
  describeFsError,
  ERROR_FILE,
  formatDuration,
  readTail,
  reportedError
} from './logs.js';
import { resolveOpen, type IOpenFile } from './open.js';
import {
  endGroups,
  hasExited,
  findMarkedProcesses,
  isAlive,
  MARKER_VAR,
  RUNTIME_VAR,
  STOP_GRACE_MS,
  sweepMarked,
  waitExit
} from './procs.js';
import { makeSessionTmp, removeStaleSockets, sweepSessionTmps } from './tmp.js';
import { startXvnc, waitForRfb, xvncMemoryLimit, type IXServer } from './xvnc.js';

export { SessionError } from './errors.js';

export interface ISessionManagerOptions {
  profiles: ProfileStore;
  /**
   * This daemon's private (0700) directory, `<root>/d<pid>`; one subdirectory per session.
   */
  runtimeDir: string;
  xvnc: string;
  /** Desktops that may run at once (default 1). */
  maxSessions?: number;
  maxWidth?: number;
  maxHeight?: number;
  /**
   * Stop a desktop after this long without keyboard, pointer or clipboard input from any
   * connected tab (0, the default: never).
   */
  idleTimeoutMs?: number;
  /** The user's Jupyter root: files given to applications ("Open in") must lie inside it. */
  rootDir?: string;
  /** session-reaper.py, which runs each xstartup (server.ts finds it beside the profiles). */
  reaper: string;
  /** The Python 3 that runs it (default: python3 on PATH). */
  python?: string;
  /** The umask desktops get: the user's usual one, not the daemon's 077 (default 022). */
  umask?: number;
  /** Largest a session log may grow (checked every second; default 4 MiB). */
  logMaxBytes?: number;
  /**
   * How long an X server started ahead of a click (prepare()) waits for a start to take it
   * before it ends (default 3 minutes; 0 turns pre-starting off).
   */
  spareTimeoutMs?: number;
}

/**
 * An X server started before the click that will use it: its directory is a session's (the
 * session that takes it keeps its id), marked with SPARE_MARK so that the user's other
 * daemons do not count it as a desktop.
 */
interface ISpare {
  id: string;
  dir: string;
  width: number;
  height: number;
  x: IXServer;
  state: 'starting' | 'ready';
  expires: number;
  timer?: ReturnType<typeof setTimeout>;
}

interface IRecord {
  session: Session;
  dir: string;
  display?: number;
  xvnc?: ChildProcess;
  xstartup?: ChildProcess;
  /** Set when a teardown begins; resolves once every process and the runtime dir are gone. */
  ended?: Promise<void>;
  /** When it became `running` (ms since the epoch). */
  runningAt?: number;
  /** When the last input arrived (ms since the epoch); start time until then. */
  lastInput: number;
  /** The log's last lines, kept once the runtime dir is gone. */
  logTail?: { text: string; truncated: boolean };
  /** The absolute path of the file the application opens, if any. */
  open?: string;
  /**
   * The desktop's TMPDIR, private and removed with it: xfce4-session's ICE files and what
   * applications write there do not pile up in /tmp.
   */
  tmp?: string;
  /** The start under way (from admission until `running` or its failure). */
  launching?: Promise<void>;
  /** Aborted by a teardown that comes while the desktop still starts. */
  cancel?: AbortController;
  /** Watches the log for writes, or waits to check its size once written to (`_watchLog`). */
  logWatch?: FSWatcher | ReturnType<typeof setTimeout>;
  /** The X server started ahead of the click (prepare()), which this session took. */
  spare?: IXServer;
}

/** Environment variables copied into a desktop's, when set: safe and useful there. */
const PASS_ENV = ['LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'XDG_RUNTIME_DIR'];
/** How long a desktop may take to answer on its RFB socket. */
const START_TIMEOUT_MS = 15_000;
/**
 * A start script that fails usually fails at once. A session is `running` as soon as its RFB
 * socket answers (nothing waits to see whether it holds); a start script that exits this soon
 * after with a status of its own (below 128) is reported as a start that failed
 * (`start-failed`, with its reason), not as a session that ended.
 */
const EARLY_EXIT_MS = 2000;
/** How soon after a write a session log is held to its limit (and how often, while written). */
const LOG_CHECK_MS = 1000;
/** How many ended sessions are remembered for status queries. */
const KEEP_ENDED = 20;
/** How long a session's end waits to learn whether its X server went first. */
const X_SERVER_GRACE_MS = 500;
const SESSION_ID = new RegExp(SESSION_ID_PATTERN);
/** The file in a session directory that says it holds a pre-started X server, not a desktop. */
const SPARE_MARK = 'spare';
/** What a pre-started X server calls its desktop until a start takes it. */
const SPARE_NAME = 'Desktop';

export class SessionManager extends EventEmitter {
  private readonly _records = new Map<string, IRecord>();
  private _queue: Promise<unknown> = Promise.resolve();
  private readonly _o: Required<ISessionManagerOptions>;

  private _idleTimer?: ReturnType<typeof setInterval>;
  private _spare?: ISpare;

  constructor(opts: ISessionManagerOptions) {
    super();
    // One 'change' listener per open event stream (a tab, a window): no limit.
    this.setMaxListeners(0);
    this._o = {
      maxSessions: 1,
      maxWidth: GEOMETRY.maxWidth,
      maxHeight: GEOMETRY.maxHeight,
      idleTimeoutMs: 0,
      rootDir: process.cwd(),
      python: 'python3',
      umask: 0o022,
      logMaxBytes: 4 * 1024 * 1024,
      spareTimeoutMs: 3 * 60_000,
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
    return this.list().filter(isLive);
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
    if (!r) {
      return;
    }
    if (problem) {
      r.session.connectProblem = problem;
    } else {
      delete r.session.connectProblem;
    }
  }

  /**
   * Records user input on a session: the idle clock restarts, and `work` (keys, mouse buttons,
   * clipboard text: not a pointer that only moves) marks it as used.
   */
  touch(id: string, work = true): void {
    const r = this._records.get(id);
    if (r) {
      r.lastInput = Date.now();
      if (work) {
        r.session.lastInputAt = new Date(r.lastInput).toISOString();
      }
    }
  }

  /** Desktops the user may run at once. */
  get maxSessions(): number {
    return this._o.maxSessions;
  }

  /** Stops the idle and log checks (the daemon is closing). */
  dispose(): void {
    clearInterval(this._idleTimer);
    clearTimeout(this._spare?.timer);
    for (const r of this._records.values()) {
      this._unwatchLog(r);
    }
  }

  /**
   * Holds a session's log to its limit without a timer while the desktop is quiet: the first
   * write after a check wakes the daemon (inotify), which checks the size a moment later and
   * then waits for the next write. A chatty desktop costs one check a second, a quiet one none.
   */
  private _watchLog(r: IRecord): void {
    if (r.ended) {
      return;
    }
    const file = join(r.dir, 'log');
    try {
      const watcher = watch(file, { persistent: false }, () => {
        watcher.close();
        const timer = setTimeout(async () => {
          await capLog(file, this._o.logMaxBytes).catch(() => false);
          this._watchLog(r);
        }, LOG_CHECK_MS);
        timer.unref();
        r.logWatch = timer;
      });
      watcher.on('error', () => watcher.close());
      r.logWatch = watcher;
    } catch {
      // The log is gone: so is the session.
    }
  }

  private _unwatchLog(r: IRecord): void {
    // A watcher closes; so does a Node.js timer (close() clears it).
    r.logWatch?.close();
    r.logWatch = undefined;
  }

  /** Stops running desktops that have had no input for the idle timeout. */
  async cullIdle(now = Date.now()): Promise<string[]> {
    const limit = this._o.idleTimeoutMs;
    if (!limit) {
      return [];
    }
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
   * touches the first one's desktops. Call once, as the daemon starts serving.
   */
  cleanOrphans(): Promise<number> {
    // In the queue of starts and stops: a start asked meanwhile waits for it, so that its
    // session (not yet known when the sweep began) is not taken for an orphan.
    return this._serial(() => this._cleanOrphans());
  }

  private async _cleanOrphans(): Promise<number> {
    const root = dirname(this._o.runtimeDir);
    const own = this._o.runtimeDir;
    const known = new Set(this._records.keys());
    if (this._spare) {
      known.add(this._spare.id);
    }
    const dead = (runtime: string): boolean => {
      if (runtime === own) {
        return false;
      }
      const m = /^d(\d+)$/.exec(basename(runtime));
      return dirname(runtime) === root && !!m && !isAlive(Number(m[1]));
    };
    const killed = await sweepMarked(
      (runtime, session) => dead(runtime) || (runtime === own && !known.has(session))
    );
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (dead(join(root, name))) {
        await rm(join(root, name), { recursive: true, force: true });
      }
    }
    for (const name of await readdir(own).catch(() => [] as string[])) {
      if (SESSION_ID.test(name) && !known.has(name)) {
        await rm(join(own, name), { recursive: true, force: true });
      }
    }
    // TMPDIRs of sessions nothing runs any more: no daemon of ours lists the session and no
    // process carries its marker (a second server may use another runtime root).
    await sweepSessionTmps(async () => {
      const live = new Set((await this._userSessions()).map(s => s.id));
      const marked = new Set((await findMarkedProcesses()).map(p => p.session));
      return id => !live.has(id) && !marked.has(id);
    });
    await removeStaleSockets();
    return killed;
  }

  /** How many of the user's sessions other daemons of theirs run. */
  private async _sessionsElsewhere(): Promise<number> {
    const own = basename(this._o.runtimeDir);
    return (await this._userSessions()).filter(s => `d${s.daemon}` !== own && !s.spare).length;
  }

  private _elsewhereMessage(n: number): string {
    const max = this._o.maxSessions;
    return (
      `You already run ${n} desktop${n === 1 ? '' : 's'} from another Jupyter server of yours, ` +
      `and ${max} ${max === 1 ? 'is' : 'are'} the most allowed: stop ${n === 1 ? 'it' : 'one'} there first`
    );
  }

  /**
   * This user's sessions that hold processes, in every live daemon under the runtime root
   * (a user's second Jupyter server runs a second daemon): their directories exist from the
   * start until the end of their stop.
   */
  private async _userSessions(): Promise<{ daemon: number; id: string; spare: boolean }[]> {
    const root = dirname(this._o.runtimeDir);
    const found: { daemon: number; id: string; spare: boolean }[] = [];
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const m = /^d(\d+)$/.exec(name);
      if (!m || !isAlive(Number(m[1]))) {
        continue;
      }
      for (const id of await readdir(join(root, name)).catch(() => [] as string[])) {
        if (SESSION_ID.test(id)) {
          const spare = await access(join(root, name, id, SPARE_MARK)).then(
            () => true,
            () => false
          );
          found.push({ daemon: Number(m[1]), id, spare });
        }
      }
    }
    return found;
  }

  /**
   * Starts a desktop. At the session limit it first ends the oldest ones, or, with
   * `replace: false`, refuses. Resolves once it runs; rejects with why it did not start.
   */
  async start(
    profileId: string,
    geometry: { width?: number; height?: number } = {},
    opts: { replace?: boolean; open?: string } = {}
  ): Promise<Session> {
    return (await this.begin(profileId, geometry, opts)).done;
  }

  /**
   * Admits a start: checks the profile, the file and the limit (a refusal throws and changes
   * nothing), begins ending the desktops it replaces and records the new one as `starting`.
   * Resolves with that session at once; `done` settles when it runs or has failed (both are
   * also 'change' events). Admissions are serialized, so concurrent starts respect the limit.
   */
  begin(
    profileId: string,
    geometry: { width?: number; height?: number } = {},
    opts: { replace?: boolean; open?: string } = {}
  ): Promise<{ session: Session; done: Promise<Session> }> {
    return this._serial(() => this._admit(profileId, geometry, opts.replace ?? true, opts.open));
  }

  /** Stops a session; resolves when nothing of it is left. */
  stop(id: string): Promise<Session> {
    return this._serial(async () => {
      const r = this._records.get(id);
      if (!r) {
        throw new SessionError('not-found', `No desktop session ${id}`);
      }
      await this._teardown(
        r,
        { code: 'stopped', message: `${r.session.title} was stopped` },
        'exited'
      );
      return { ...r.session };
    });
  }

  /** Stops every session and the pre-started X server (daemon shutdown). */
  stopAll(reason: ExitReason): Promise<void> {
    return this._serial(async () => {
      await Promise.all([
        ...[...this._records.values()].map(r => this._teardown(r, reason, 'exited')),
        this._spare && this._endSpare(this._spare)
      ]);
    });
  }

  /**
   * Has an X server of this size running before the click that uses it (the launcher shows
   * the desktop tiles): a start of that size then costs only its start script. One per user:
   * asking again keeps it for another spareTimeoutMs, another size replaces it, and none
   * starts while another Jupyter server of the user holds one. Resolves once it is spawned.
   */
  prepare(geometry: { width: number; height: number }): Promise<Spare> {
    return this._serial(async () => {
      if (!this._o.spareTimeoutMs) {
        return { state: 'off' };
      }
      const { width, height } = this._size(geometry);
      const old = this._spare;
      if (old && old.width === width && old.height === height) {
        this._keepSpare(old);
        return this._spareInfo(old);
      }
      if (old) {
        await this._endSpare(old);
      }
      const own = basename(this._o.runtimeDir);
      if ((await this._userSessions()).some(s => s.spare && `d${s.daemon}` !== own)) {
        return { state: 'off' };
      }
      return this._spareInfo(await this._startSpare(width, height));
    });
  }

  /** Ends the pre-started X server, if there is one. */
  discardSpare(): Promise<void> {
    return this._serial(async () => {
      if (this._spare) {
        await this._endSpare(this._spare);
      }
    });
  }

  private async _startSpare(width: number, height: number): Promise<ISpare> {
    const id = randomBytes(12).toString('base64url');
    const dir = join(this._o.runtimeDir, id);
    let x: IXServer;
    // Marked before it has its name: the user's other daemons never see it unmarked (as a
    // desktop that counts towards the limit).
    const unnamed = join(this._o.runtimeDir, `.${id}`);
    try {
      await mkdir(unnamed, { mode: 0o700 });
      await writeFile(join(unnamed, SPARE_MARK), '', { mode: 0o600 });
      await rename(unnamed, dir);
      const logFd = openSync(join(dir, 'log'), 'a', 0o600);
      try {
        x = await this._startX(dir, { width, height }, SPARE_NAME, this._env(id, dir), logFd);
      } finally {
        closeSync(logFd);
      }
    } catch (err) {
      await rm(unnamed, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
      throw new SessionError(
        'start-failed',
        `No X server could be started ahead of a click: ${describeFsError(err, dir)}`
      );
    }
    const spare: ISpare = {
      id,
      dir,
      width,
      height,
      x,
      state: 'starting',
      expires: 0
    };
    this._spare = spare;
    this._keepSpare(spare);
    // One that dies (or never answers) is dropped: a click then starts its own, which says why.
    x.child.once('exit', () => this._dropSpare(spare));
    Promise.race([x.display.then(() => waitForRfb(x.rfbSocket, START_TIMEOUT_MS)), x.died]).then(
      () => {
        spare.state = 'ready';
      },
      () => this._dropSpare(spare)
    );
    return spare;
  }

  /** Keeps the pre-started X server for another spareTimeoutMs. */
  private _keepSpare(spare: ISpare): void {
    clearTimeout(spare.timer);
    spare.expires = Date.now() + this._o.spareTimeoutMs;
    spare.timer = setTimeout(() => this._dropSpare(spare), this._o.spareTimeoutMs);
    spare.timer.unref();
  }

  private _spareInfo(spare: ISpare): Spare {
    return {
      state: spare.state,
      width: spare.width,
      height: spare.height,
      expiresAt: new Date(spare.expires).toISOString()
    };
  }

  /** Ends a pre-started X server unless a start took it meanwhile. */
  private _dropSpare(spare: ISpare): void {
    void this._serial(async () => {
      if (this._spare === spare) {
        await this._endSpare(spare);
      }
    });
  }

  private async _endSpare(spare: ISpare): Promise<void> {
    if (this._spare === spare) {
      this._spare = undefined;
    }
    clearTimeout(spare.timer);
    await endGroups([spare.x.child]);
    await sweepMarked((runtime, s) => runtime === this._o.runtimeDir && s === spare.id);
    await rm(spare.dir, { recursive: true, force: true });
  }

  /** The pre-started X server, if it has this size: it is the caller's from now on. */
  private _takeSpare(width: number, height: number): ISpare | undefined {
    const spare = this._spare;
    if (!spare || spare.width !== width || spare.height !== height) {
      return undefined;
    }
    this._spare = undefined;
    clearTimeout(spare.timer);
    return spare;
  }

  /** The last part of a session's log (Xtigervnc and xstartup output). */
  async log(id: string): Promise<{ text: string; truncated: boolean }> {
    const r = this._records.get(id);
    if (!r) {
      throw new SessionError('not-found', `No desktop session ${id}`);
    }
    return r.logTail ?? readTail(join(r.dir, 'log'));
  }

  private _serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this._queue.then(fn, fn);
    this._queue = next.catch(() => undefined);
    return next;
  }

  /** A size held to the site's limits; the default where none is given. */
  private _size(geometry: { width?: number; height?: number }): {
    width: number;
    height: number;
  } {
    return {
      width: this._clamp(
        geometry.width,
        GEOMETRY.minWidth,
        this._o.maxWidth,
        GEOMETRY.defaultWidth
      ),
      height: this._clamp(
        geometry.height,
        GEOMETRY.minHeight,
        this._o.maxHeight,
        GEOMETRY.defaultHeight
      )
    };
  }

  private _clamp(v: number | undefined, min: number, max: number, dflt: number): number {
    if (v === undefined) {
      return Math.min(dflt, max);
    }
    return Math.max(min, Math.min(max, Math.round(v)));
  }

  private async _admit(
    profileId: string,
    geometry: { width?: number; height?: number },
    replace: boolean,
    open: string | undefined
  ): Promise<{ session: Session; done: Promise<Session> }> {
    const resolved = await this._o.profiles.get(profileId);
    if (!resolved) {
      throw new SessionError('not-found', `No desktop profile named ${profileId}`);
    }
    const p = resolved.profile;
    if (!p.available) {
      throw new SessionError(
        'profile-unavailable',
        p.unavailableReason ?? `${p.title} is unavailable`
      );
    }
    // Checked before anything is replaced: a refused start changes nothing.
    if (p.fileRequired && open === undefined) {
      throw new SessionError(
        'bad-request',
        `${p.title} needs a file to open: right-click a ${orList(p.fileTypes)} file in the ` +
          `file browser and choose Open in ${p.title}`
      );
    }
    const file: IOpenFile | undefined =
      open === undefined ? undefined : await resolveOpen(p, this._o.rootDir, open);
    const { width, height } = this._size(geometry);

    // Make room first: the limit counts the user's live sessions, this daemon's and those of
    // the user's other Jupyter servers, which are not ours to replace.
    const live = [...this._records.values()].filter(r => isLive(r.session) && !r.ended);
    const elsewhere = await this._sessionsElsewhere();
    const excess = live.length + elsewhere + 1 - this._o.maxSessions;
    if (excess > live.length) {
      throw new SessionError('too-many-sessions', this._elsewhereMessage(elsewhere));
    }
    if (excess > 0 && !replace) {
      throw new SessionError(
        'too-many-sessions',
        `You already run ${live.length} desktop${live.length === 1 ? '' : 's'}, the most allowed: ` +
          `stop one first (${live.map(r => r.session.title).join(', ')})`
      );
    }

    // An X server of this size started ahead (the launcher asked): the session is its.
    const spare = this._takeSpare(width, height);
    const id = spare?.id ?? randomBytes(12).toString('base64url');
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

    // Oldest replaced first. Their teardowns begin now (each says `stopping`, then `exited`, replaced by this one);
    // the new desktop starts once they are gone.
    const replaced =
      excess > 0
        ? live.slice(0, excess).map(r =>
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
        : [];

    const dir = join(this._o.runtimeDir, id);
    try {
      // A pre-started X server's directory becomes a session's: the user's other daemons
      // count it from now on.
      await (spare ? rm(join(dir, SPARE_MARK)) : mkdir(dir, { mode: 0o700 }));
    } catch (err) {
      if (spare) {
        await this._endSpare(spare);
      }
      throw new SessionError(
        'start-failed',
        `${p.title} did not start: ${describeFsError(err, dir)}`
      );
    }
    // Another server of the user may have started one since: its directory shows it. (Two
    // starting at the same moment may then both refuse; neither passes the limit.)
    const now = await this._sessionsElsewhere();
    if (live.length - Math.max(excess, 0) + now + 1 > this._o.maxSessions) {
      await (spare ? this._endSpare(spare) : rm(dir, { recursive: true, force: true }));
      throw new SessionError('too-many-sessions', this._elsewhereMessage(now));
    }
    const record: IRecord = {
      session,
      dir,
      lastInput: Date.now(),
      open: file?.absolute,
      // Its X server is the session's from now on: a teardown ends it whatever happens next.
      xvnc: spare?.x.child,
      spare: spare?.x
    };
    this._records.set(id, record);
    try {
      record.tmp = await makeSessionTmp(id);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code
        ? describeFsError(err, tmpdir())
        : (err as Error).message;
      const message = `${p.title} did not start: ${why}`;
      await this._teardown(record, { code: 'start-failed', message }, 'failed');
      throw new SessionError('start-failed', message, { ...record.session });
    }
    this._forgetOld();
    this.emit('change', { ...session });

    const cancel = new AbortController();
    record.cancel = cancel;
    record.launching = (async () => {
      await Promise.all(replaced);
      await this._launch(record, resolved, cancel.signal);
    })();
    // Ended before it ran (it failed, or was stopped or replaced meanwhile): why, once gone.
    const notStarted = async (): Promise<never> => {
      await record.ended;
      throw new SessionError('start-failed', record.session.exit?.message ?? '', {
        ...record.session
      });
    };
    const done = record.launching.then(
      async () => {
        if (record.ended) {
          return notStarted();
        }
        session.state = 'running';
        record.runningAt = Date.now();
        this.emit('change', { ...session });
        return { ...session };
      },
      async err => {
        if (!record.ended) {
          const said = await reportedError(join(dir, ERROR_FILE));
          const message = `${p.title} did not start: ${said ?? describeFsError(err, dir)}`;
          void this._teardown(record, { code: 'start-failed', message }, 'failed');
        }
        return notStarted();
      }
    );
    // Whoever asked may not wait: the outcome is in the session and its events.
    done.catch(() => undefined);
    return { session: { ...session }, done };
  }

  /** Xtigervnc for a desktop, or ahead of one: the site's memory bound, the start time-out. */
  private _startX(
    dir: string,
    size: { width: number; height: number },
    desktopName: string,
    env: NodeJS.ProcessEnv,
    output: number
  ): Promise<IXServer> {
    return startXvnc({
      xvnc: this._o.xvnc,
      dir,
      ...size,
      desktopName,
      env,
      output,
      timeoutMs: START_TIMEOUT_MS,
      memoryLimit: xvncMemoryLimit(this._o.maxWidth, this._o.maxHeight)
    });
  }

  private async _launch(
    r: IRecord,
    resolved: IResolvedProfile,
    signal: AbortSignal
  ): Promise<void> {
    const s = r.session;
    signal.throwIfAborted();
    // A stop while the desktop starts: whatever is being waited for, stop waiting.
    const cancelled = new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error('it was stopped while starting')))
    );
    cancelled.catch(() => undefined);
    const logFd = openSync(join(r.dir, 'log'), 'a', 0o600);
    this._watchLog(r);
    // The xstartup's fd 3: where its scripts say why a session failed (a line in the shared
    // log could be written by any program, a file name printed in an error message even).
    const errorFd = openSync(join(r.dir, ERROR_FILE), 'a', 0o600);
    const env = this._env(s.id, r.dir, r.tmp);
    try {
      const x =
        r.spare ??
        (await this._startX(r.dir, { width: s.width, height: s.height }, s.title, env, logFd));
      const xvnc = x.child;
      r.xvnc = xvnc;
      xvnc.once('exit', (code, signal) =>
        this._onExit(
          r,
          'xserver-exited',
          `The X server exited (${signal ?? `status ${code}`})`,
          true
        )
      );
      signal.throwIfAborted();
      r.display = await Promise.race([x.display, cancelled]);

      const display = { DISPLAY: `:${r.display}`, XAUTHORITY: x.authFile };
      // Applications that need OpenGL learn before they start whether they can have it.
      const glEnv: Record<string, string> = {};
      if (resolved.gl) {
        const info = await Promise.race([
          checkGl(resolved.gl.glxinfo, { ...env, ...display }),
          cancelled
        ]);
        if (!meetsGl(resolved.gl.version, info)) {
          throw new Error(
            `it needs OpenGL ${resolved.gl.version} or newer, and this desktop offers ` +
              `${info.core.join('.')} (${info.renderer})`
          );
        }
        glEnv.DESKTOPS_GL_RENDERER = info.renderer;
        glEnv.DESKTOPS_GL_VERSION = info.core.join('.');
        if (info.software) {
          glEnv.DESKTOPS_GL_SOFTWARE = '1';
        }
      }
      signal.throwIfAborted();
      // The reaper runs the xstartup and, at the end, everything that descends from it.
      const reaper = [
        '-I',
        '-S',
        this._o.reaper,
        String(process.pid),
        String(STOP_GRACE_MS - 500),
        (this._o.umask & 0o777).toString(8),
        resolved.xstartup
      ];
      const xstartup = spawn(this._o.python, reaper, {
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
        stdio: ['ignore', logFd, logFd, errorFd]
      });
      r.xstartup = xstartup;
      const startupDied = new Promise<never>((_, reject) => {
        // The reaper's interpreter (the reaper says itself when the script cannot run).
        xstartup.once('error', err =>
          reject(
            new Error(
              `${this._o.python}, which runs its start script, could not be run: ${err.message}`
            )
          )
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
          if (hasExited(xvnc)) {
            return;
          }
          // A script that gives up at once exits with a status of its own; one killed by a
          // signal (or whose program was: 128 + the signal, as shells say it) was running,
          // and something ended it.
          const early = r.runningAt !== undefined && Date.now() - r.runningAt < EARLY_EXIT_MS;
          if (early && code !== null && code < 128) {
            const why = `its start script exited (${how})`;
            this._onExit(r, 'start-failed', `${s.title} did not start`, true, why);
            return;
          }
          this._onExit(r, 'xstartup-exited', ok ? what : `${what} with an error (${how})`, !ok);
        });
      });
      await Promise.race([
        waitForRfb(x.rfbSocket, START_TIMEOUT_MS),
        x.died,
        startupDied,
        cancelled
      ]);
    } finally {
      closeSync(logFd);
      closeSync(errorFd);
    }
  }

  /** The desktop's environment: nothing of Jupyter's, its tokens least of all. */
  private _env(id: string, dir: string, tmp?: string): Record<string, string> {
    const u = account();
    const env: Record<string, string> = {
      HOME: process.env.HOME || u.homedir,
      USER: u.username,
      LOGNAME: u.username,
      SHELL: u.shell || '/bin/sh',
      PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
      [MARKER_VAR]: id,
      [RUNTIME_VAR]: this._o.runtimeDir,
      // libICE's default is ~/.ICEauthority, to which every XFCE session adds for good.
      ICEAUTHORITY: join(dir, 'ICEauthority'),
      ...(tmp ? { TMPDIR: tmp } : {})
    };
    for (const k of PASS_ENV) {
      const v = process.env[k];
      if (v !== undefined && !/TOKEN|SECRET|PASSWORD|API_KEY/i.test(k)) {
        env[k] = v;
      }
    }
    return env;
  }

  /** One process of a running session ended on its own: tear the rest down. */
  private _onExit(
    r: IRecord,
    code: 'xserver-exited' | 'xstartup-exited' | 'start-failed',
    message: string,
    failed: boolean,
    /** Why, when the script does not say it in a sentence of its own. */
    fallback?: string
  ): void {
    if (r.ended || r.session.state !== 'running') {
      return;
    }
    void this._serial(async () => {
      // A failing xstartup may have said why in a sentence of its own: show that.
      const said = failed ? await reportedError(join(r.dir, ERROR_FILE)) : undefined;
      const why = said ?? fallback;
      const text = why ? `${message}: ${why}` : message;
      await this._teardown(r, { code, message: text }, failed ? 'failed' : 'exited');
    });
  }

  /** Ends every process of the session and removes its runtime dir. Idempotent. */
  private _teardown(r: IRecord, reason: ExitReason, final: 'exited' | 'failed'): Promise<void> {
    if (r.ended) {
      return r.ended;
    }
    // The reason is known now: a client asking while we stop already learns why.
    r.session.state = 'stopping';
    r.session.exit = reason;
    this.emit('change', { ...r.session });
    r.cancel?.abort();
    this._unwatchLog(r);
    r.ended = (async () => {
      // A start under way stops at its next step; then its processes are known.
      await r.launching?.catch(() => undefined);
      // The reaper ends the session's processes within its own grace: it gets longer.
      const ending = [endGroups(r.xvnc ? [r.xvnc] : [])];
      if (r.xstartup) {
        ending.push(endGroups([r.xstartup], STOP_GRACE_MS + 2000));
      }
      await Promise.all(ending);
      await sweepMarked((runtime, s) => runtime === this._o.runtimeDir && s === r.session.id);
      r.logTail = await readTail(join(r.dir, 'log'));
      await rm(r.dir, { recursive: true, force: true });
      if (r.tmp) {
        await rm(r.tmp, { recursive: true, force: true });
      }
      await removeStaleSockets();
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
    for (const r of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED))) {
      this._records.delete(r.session.id);
    }
  }
}

/** "a, b or c" */
function orList(items: string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : items.join('');
}

/**
 * This user's name, home and shell. A container may run as an arbitrary uid that has no entry
 * in /etc/passwd (OpenShift does): then the environment's, as a login would have set them.
 */
function account(): { username: string; homedir: string; shell: string | null } {
  try {
    return userInfo();
  } catch {
    const uid = process.getuid ? process.getuid() : -1;
    return {
      username: process.env.USER || process.env.LOGNAME || String(uid),
      homedir: process.env.HOME || '/',
      shell: process.env.SHELL || null
    };
  }
}
