// DesktopConnection: one tab's hold on one desktop, apart from any view (as JupyterLab keeps a
// terminal's connection apart from its widget). It starts a session (or finds a restored
// one), follows it on the page's event stream, drives noVNC's RFB (a new client per attempt),
// reconnects after a network loss, and says where it stands as a Status with a signal. The
// Lumino widget shows that status and owns focus, size and full screen.
import { isLive, type Profile, type Session } from '@jupyterlab-desktops/protocol';
import type { TranslationBundle } from '@jupyterlab/translation';
import { PromiseDelegate } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { Signal, type ISignal } from '@lumino/signaling';
import type RFB from '@novnc/novnc';
import { DesktopsError, isTransient, type DesktopsAPI } from './api';
import type { SessionStream } from './events';
import { sendCombo, type IKeyCombo } from './keys';
import { reconnectDelay } from './reconnect';
import { even } from './resize';
import { rfbProperties, type IDesktopSettings } from './settings';

/** How long the RFB connection may take before the tab offers the log and Retry. */
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * The RFB socket can close a moment before the daemon tells that the desktop ended: how long a
 * closed connection waits for that news before it counts as a lost connection.
 */
const END_NEWS_MS = 1500;
/** How long a start or a lookup waits for the event stream before it asks on its own. */
const STREAM_WAIT_MS = 2000;

export class DesktopConnection implements IDisposable {
  constructor(options: DesktopConnection.IOptions) {
    this._o = options;
    this._attach = options.session;
    options.events.changed.connect(this._onSessionChanged, this);
  }

  /** Where it stands: state, what to tell the user, what they can do, the log. */
  get status(): DesktopConnection.IStatus {
    return this._status;
  }

  get statusChanged(): ISignal<this, DesktopConnection.IStatus> {
    return this._statusChanged;
  }

  /**
   * Resolves once there is something to show: a running desktop being connected to, or why
   * there is none. Resolved by `_setStatus`, the one place the status changes.
   */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  get session(): Session | null {
    return this._session;
  }

  /** The tab's session changed (started, restarted): the layout is saved again. */
  get sessionChanged(): ISignal<this, Session | null> {
    return this._sessionChanged;
  }

  /** Text copied inside the desktop. */
  get clipboard(): ISignal<this, string> {
    return this._clipboard;
  }

  /** Asks the plugin to show another session (the one that replaced this one). */
  get goTo(): ISignal<this, { profile: string; session: string }> {
    return this._goTo;
  }

  /** The live RFB client, while there is one. */
  get rfb(): RFB | null {
    return this._rfb;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Starts the desktop, or finds the restored one. Once; later calls do nothing. */
  open(): void {
    if (this._opened) {
      return;
    }
    this._opened = true;
    void this._start();
  }

  setSettings(settings: IDesktopSettings): void {
    this._settings = settings;
    if (this._rfb) {
      Object.assign(this._rfb, rfbProperties(settings));
    }
  }

  /** Ends the desktop session (not just this tab's connection). */
  async stop(): Promise<void> {
    const s = this._session;
    this._disconnect();
    if (!s) {
      return;
    }
    const stopped = await this._o.api.stop(s.id);
    if (this._session?.id === stopped.id && this._shownEnd !== stopped.id) {
      this._session = stopped;
      this._showEnded(stopped);
    }
  }

  /** Stops this tab's desktop and starts a new one of the same profile. */
  restart(): void {
    const old = this._session;
    this._disconnect();
    this._setSession(null);
    this._attach = undefined;
    this._opened = true;
    // Its own desktop, stopped first: where users may run several, starting alone would leave
    // it running, or end another tab's (the oldest) to make room.
    void this._start(old && isLive(old) ? old.id : undefined);
  }

  /** Connects again now (after a lost connection), without restarting the desktop. */
  reconnect(): void {
    const state = this._status.state;
    if (!this._session || state === 'ended' || state === 'failed') {
      return;
    }
    this._disconnect();
    this._attempt = 0;
    void this._connect();
  }

  sendKeys(combo: IKeyCombo): void {
    const rfb = this._rfb;
    if (!rfb || this._settings.viewOnly) {
      return;
    }
    sendCombo(combo, (sym, code, down) => rfb.sendKey(sym, code, down));
    rfb.focus({ preventScroll: true });
  }

  /** Puts text on the desktop's clipboard; false where it cannot. */
  paste(text: string): boolean {
    if (!this._rfb || this._settings.viewOnly) {
      return false;
    }
    this._rfb.clipboardPasteFrom(text);
    return true;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    const s = this._session;
    if (this._settings.stopOnClose && s && isLive(s)) {
      void this._o.api.stop(s.id).catch(() => undefined);
    }
    this._disconnect();
    this._o.events.changed.disconnect(this._onSessionChanged, this);
    this._ready.resolve(); // closed while it started: nothing waits for it any more
    Signal.clearData(this);
  }

  /** Starts the desktop (after stopping `replaces`), or attaches to a restored one. */
  private async _start(replaces?: string): Promise<void> {
    const t = this._o.trans;
    const title = this._o.profile.title;
    const attempt = ++this._startAttempt;
    const current = (): boolean => attempt === this._startAttempt && !this._disposed;
    if (this._attach) {
      // After a reload: the same desktop, if it is still there.
      const id = this._attach;
      this._attach = undefined;
      this._setStatus('connecting', t.__('Reconnecting to %1…', title), [], { pending: true });
      let s: Session | null;
      try {
        s = await this._lookup(id);
      } catch (err) {
        if (current()) {
          await this._showError(err);
        }
        return;
      }
      if (!current()) {
        return;
      }
      if (!s) {
        this._showGone();
        return;
      }
      this._setSession(s);
      if (s.state === 'starting') {
        // Another tab is starting it: its news tells when it runs (or ends).
        this._showStarting(Date.parse(s.startedAt));
      }
      this._follow(s);
      return;
    }
    this._showStarting(Date.now());
    try {
      // Already ended (or the server gone, which the start then reports): nothing to stop.
      if (replaces) {
        await this._o.api.stop(replaces).catch(() => undefined);
      }
      if (!current()) {
        return;
      }
      // The event stream first: the start's news must find it listening.
      await Promise.race([this._o.events.synced(), Private.delay(STREAM_WAIT_MS)]);
      if (!current()) {
        return;
      }
      const size = this._o.size();
      const s = await this._o.api.start(this._o.profile.id, {
        width: even(size.width),
        height: even(size.height),
        open: this._o.open
      });
      if (!current()) {
        return;
      }
      this._setSession(s);
      // Its news may have come before the answer did.
      this._follow(this._o.events.get(s.id) ?? s);
    } catch (err) {
      if (current()) {
        this._clearTimers();
        await this._showError(err);
      }
    }
  }

  /** A session as the stream knows it, or else as the daemon says. */
  private async _lookup(id: string): Promise<Session | null> {
    const events = this._o.events;
    await Promise.race([events.synced(), Private.delay(STREAM_WAIT_MS)]);
    // One the stream has not told of (yet: its news may be on the way) is asked about once.
    return (events.connected && events.get(id)) || this._ask(id);
  }

  /** The daemon's word on a session, asked once; null if it does not know it. */
  private async _ask(id: string): Promise<Session | null> {
    try {
      return await this._o.api.session(id);
    } catch (err) {
      if (err instanceof DesktopsError && err.status === 404) {
        return null;
      }
      throw err;
    }
  }

  /** "Starting XFCE… 3 s", counted from `since`; after the setting's time, the log and Retry. */
  private _showStarting(since: number): void {
    const t = this._o.trans;
    const progress = (): string =>
      t.__('Starting %1… %2 s', this._o.profile.title, Math.round((Date.now() - since) / 1000));
    this._setStatus('starting', progress(), [], { pending: true });
    clearInterval(this._tick);
    this._tick = setInterval(() => {
      if (this._status.state === 'starting' && !this._slow) {
        this._setStatus('starting', progress(), [], { pending: true });
      }
    }, 1000);
    clearTimeout(this._startTimer);
    this._slow = false;
    this._startTimer = setTimeout(
      () => void this._onSlowStart(),
      Math.max(0, since + this._settings.startTimeout * 1000 - Date.now())
    );
  }

  /** The start takes longer than the setting allows: say so, show its log, offer Retry. */
  private async _onSlowStart(): Promise<void> {
    if (this._status.state !== 'starting') {
      return;
    }
    this._slow = true;
    const t = this._o.trans;
    this._setStatus(
      'starting',
      t.__(
        '%1 is taking longer than %2 s to start.',
        this._o.profile.title,
        this._settings.startTimeout
      ),
      [{ label: t.__('Retry'), action: () => this.restart() }]
    );
    const s = this._session;
    if (s) {
      await this._showLog(s.id);
    }
  }

  /** The restored tab's desktop is gone: say so, and offer a new one. */
  private _showGone(): void {
    const t = this._o.trans;
    this._setStatus('ended', t.__('This %1 desktop is no longer running.', this._o.profile.title), [
      { label: t.__('Start a new one'), action: () => this.restart() }
    ]);
  }

  /** News of a session from the event stream: the tab's moves with it. */
  private _onSessionChanged(_: SessionStream, change: SessionStream.IChange): void {
    const mine = this._session;
    if (!mine || this._status.state === 'idle') {
      return;
    }
    // The desktop that replaced this one ended: the offer to go to it goes too.
    const by = mine.exit?.replacedBy?.session;
    if (
      change.id === by &&
      this._shownEnd === mine.id &&
      !(change.session && isLive(change.session))
    ) {
      this._showEnded(mine);
      return;
    }
    if (change.id !== mine.id) {
      return;
    }
    if (change.session) {
      this._follow(change.session);
    } else if (isLive(mine)) {
      // The daemon no longer knows it (it was restarted): the desktop is gone.
      this._disconnect();
      this._showGone();
    }
  }

  /** Brings the tab in line with its session's state. */
  private _follow(s: Session): void {
    if (this._session?.id !== s.id) {
      return;
    }
    this._session = s;
    const state = this._status.state;
    switch (s.state) {
      case 'starting':
        break;
      case 'running':
        if (state === 'starting' || (state === 'connecting' && !this._rfb)) {
          this._clearTimers();
          void this._connect();
        }
        break;
      case 'stopping':
        // Its end is on the way; the final state (and its log) is what the tab will show.
        if (state === 'starting' || state === 'connecting') {
          this._clearTimers();
          this._setStatus(state, this._o.trans.__('%1 is stopping…', this._o.profile.title), [], {
            pending: true
          });
        }
        break;
      default:
        if (this._shownEnd !== s.id) {
          this._disconnect();
          this._showEnded(s);
        }
    }
  }

  private async _connect(): Promise<void> {
    const s = this._session;
    if (!s || this._disposed) {
      return;
    }
    const t = this._o.trans;
    const title = this._o.profile.title;
    if (this._status.state !== 'reconnecting') {
      this._setStatus('connecting', t.__('Connecting to %1…', title));
    }
    let rfb: RFB;
    const api = this._o.api;
    let credentials: { username: string; password: string } | undefined;
    try {
      // Lazy: keeps noVNC (and its top-level await) off JupyterLab's start-up path.
      const [RFBClass, raw] = await Promise.all([
        import('@novnc/novnc').then(m => m.default),
        api.rawRfb()
      ]);
      if (raw) {
        // One hop: the raw socket, with a ticket for this desktop (VeNCrypt Plain). Without
        // a ticket (an older daemon, the desktop just ended) this attempt takes the bridge.
        credentials = await api
          .ticket(s.id)
          .then(t => ({ username: s.id, password: t.ticket }))
          .catch(() => undefined);
      }
      if (this._disposed || this._rfb) {
        return;
      }
      this._o.screen.replaceChildren();
      // Throws where the browser cannot open the WebSocket at all.
      rfb = credentials
        ? new RFBClass(this._o.screen, api.rawRfbUrl(), { shared: true, credentials })
        : new RFBClass(this._o.screen, api.rfbUrl(s.id), { shared: true });
    } catch (err) {
      await this._showError(err);
      return;
    }
    /** Whether this connection got through, and whether the daemon answered it at all. */
    let reached = false;
    let answered = false;
    this._rfb = rfb;
    rfb.background = 'var(--jp-layout-color2)';
    rfb.focusOnClick = true;
    Object.assign(rfb, rfbProperties(this._settings));
    clearTimeout(this._connectTimer);
    this._connectTimer = setTimeout(() => {
      if (this._rfb !== rfb || this._status.state === 'connected') {
        return;
      }
      this._setStatus(this._status.state, t.__('%1 does not answer.', title), [
        { label: t.__('Retry'), action: () => this.reconnect() }
      ]);
      void this._showLog(s.id);
    }, CONNECT_TIMEOUT_MS);
    rfb.addEventListener('connect', () => {
      if (this._rfb !== rfb) {
        return;
      }
      reached = true;
      clearTimeout(this._connectTimer);
      this._attempt = 0;
      this._connectedOnce = true;
      this._setStatus('connected', '');
    });
    rfb.addEventListener('disconnect', () => {
      if (this._rfb !== rfb) {
        return;
      }
      if (credentials && !reached && !answered) {
        // The raw route never got to the daemon (a proxy without raw_socket_proxy, say):
        // the page's next attempts take the daemon's WebSocket route.
        api.noRawRfb();
      }
      this._rfb = null;
      clearTimeout(this._connectTimer);
      void this._onDisconnect();
    });
    rfb.addEventListener('clipboard', ((e: CustomEvent<{ text: string }>) => {
      this._clipboard.emit(e.detail.text);
    }) as EventListener);
    rfb.addEventListener('securityfailure', () => {
      // On the raw route, the daemon refused the ticket (the desktop had just ended, say):
      // the route works, and the disconnect that follows tries again with a new ticket. The
      // bridge never asks for credentials: a misconfigured server.
      answered = true;
      if (!credentials) {
        this._setStatus('failed', t.__('The desktop refused the connection.'));
      }
    });
  }

  /**
   * The proxy hides the daemon's close code (docs/architecture.md, section 2), so the event
   * stream tells what happened: a desktop that still runs (or a server out of reach) means a
   * lost connection, retried with backoff; anything else means the desktop ended.
   */
  private async _onDisconnect(): Promise<void> {
    const mine = this._session;
    const state = this._status.state;
    if (this._disposed || !mine || state === 'ended' || state === 'failed') {
      return;
    }
    const events = this._o.events;
    let s: Session | null | undefined;
    if (events.connected) {
      // The socket can close a moment before the news of the end: wait for it briefly.
      s = await events.until(mine.id, x => x?.state !== 'running', END_NEWS_MS);
      s = s === undefined ? (events.get(mine.id) ?? null) : s;
    } else {
      // The stream is away too. One question, not a loop: it tells a server out of reach from
      // a path that carries requests but no WebSockets.
      try {
        s = await this._ask(mine.id);
      } catch (err) {
        if (!(err instanceof DesktopsError && isTransient(err))) {
          await this._showError(err);
          return;
        }
        s = undefined;
      }
    }
    if (this._disposed || this._session?.id !== mine.id || this._rfb) {
      return;
    }
    if (s === null) {
      this._showGone();
      return;
    }
    if (s && s.state !== 'running') {
      // Stopping or ended: the news (now, or when it ends) is what the tab shows.
      this._follow(s);
      return;
    }
    if (s && !this._connectedOnce && this._attempt >= 1) {
      // A running desktop this tab has never reached, twice: not a passing network loss but
      // a path that does not carry WebSockets. Retrying for minutes would not help; say so
      // (and why, where the daemon saw the stream asked for without its upgrade).
      const known = await this._o.api.session(mine.id).catch(() => s);
      this._attempt = 0;
      this._setStatus('disconnected', known.connectProblem ?? Private.noStream(this._o.trans), [
        { label: this._o.trans.__('Retry'), action: () => this.reconnect() }
      ]);
      return;
    }
    this._scheduleReconnect();
  }

  private _scheduleReconnect(): void {
    const t = this._o.trans;
    const title = this._o.profile.title;
    const max = this._settings.reconnectAttempts;
    this._attempt++;
    if (this._attempt > max) {
      this._attempt = 0;
      this._setStatus('disconnected', t.__('The connection to %1 was lost.', title), [
        { label: t.__('Reconnect'), action: () => this.reconnect() }
      ]);
      return;
    }
    const delay = reconnectDelay(this._attempt);
    this._setStatus(
      'reconnecting',
      t.__(
        'The connection to %1 was lost. Reconnecting in %2 s (attempt %3 of %4)…',
        title,
        Math.max(1, Math.round(delay / 1000)),
        this._attempt,
        max
      ),
      [{ label: t.__('Reconnect now'), action: () => this.reconnect() }]
    );
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(() => {
      if (this._status.state === 'reconnecting' && !this._rfb) {
        void this._connect();
      }
    }, delay);
  }

  private _showEnded(s: Session): void {
    this._shownEnd = s.id;
    const t = this._o.trans;
    const exit = s.exit;
    const actions: DesktopConnection.IAction[] = [
      {
        label: exit?.code === 'start-failed' ? t.__('Retry') : t.__('Restart'),
        action: () => this.restart()
      }
    ];
    let text: string;
    if (exit?.code === 'replaced' && exit.replacedBy) {
      const by = exit.replacedBy;
      // Known to the stream and no longer live: there is nothing to go to.
      const successor = this._o.events.connected ? this._o.events.get(by.session) : undefined;
      if (this._o.events.connected && !(successor && isLive(successor))) {
        text = t.__('This desktop was replaced by %1, which has ended since.', by.title);
      } else {
        text = t.__('This desktop was replaced by %1.', by.title);
        actions.unshift({
          label: t.__('Go to %1', by.title),
          action: () => this._goTo.emit({ profile: by.profile, session: by.session })
        });
      }
    } else if (exit) {
      text = exit.message;
    } else {
      text = t.__('%1 has ended.', this._o.profile.title);
    }
    this._setStatus(s.state === 'failed' ? 'failed' : 'ended', text, actions);
    if (s.state === 'failed') {
      void this._showLog(s.id);
    }
  }

  private async _showError(err: unknown): Promise<void> {
    const t = this._o.trans;
    const message = err instanceof Error ? err.message : t.__('The desktop could not be started.');
    this._setStatus('failed', message, [{ label: t.__('Retry'), action: () => this.restart() }]);
    const session = err instanceof DesktopsError ? err.session : undefined;
    if (session) {
      this._setSession(session);
      await this._showLog(session.id);
    }
  }

  /** Adds the end of the session's log to the status (its last 40 lines). */
  private async _showLog(id: string): Promise<void> {
    try {
      const log = await this._o.api.log(id);
      if (!log.text.trim() || this._disposed) {
        return;
      }
      const text = log.text.split('\n').slice(-40).join('\n');
      this._status = { ...this._status, log: text };
      this._statusChanged.emit(this._status);
    } catch {
      // The log is a help, not a requirement.
    }
  }

  private _setSession(s: Session | null): void {
    const changed = (s?.id ?? null) !== (this._session?.id ?? null);
    this._session = s;
    if (changed) {
      this._connectedOnce = false;
      this._shownEnd = null;
      this._sessionChanged.emit(s);
    }
  }

  private _disconnect(): void {
    const rfb = this._rfb;
    this._rfb = null;
    this._clearTimers();
    this._startAttempt++;
    if (rfb) {
      rfb.disconnect();
    }
    this._o.screen.replaceChildren();
  }

  private _clearTimers(): void {
    clearInterval(this._tick);
    clearTimeout(this._startTimer);
    clearTimeout(this._connectTimer);
    clearTimeout(this._reconnectTimer);
  }

  /**
   * The one place the status changes. Unless `pending` (a start or a lookup under way, nothing
   * to show yet), the connection is ready: Lab reveals the tab.
   */
  private _setStatus(
    state: DesktopConnection.State,
    message: string,
    actions: DesktopConnection.IAction[] = [],
    o: { pending?: boolean } = {}
  ): void {
    // The log belongs to the message it explains: a new state starts without it.
    const log = state === this._status.state ? this._status.log : undefined;
    this._status = { state, message, actions, log };
    if (!o.pending) {
      this._ready.resolve();
    }
    this._statusChanged.emit(this._status);
  }

  private readonly _o: DesktopConnection.IOptions;
  private _settings: IDesktopSettings = {} as IDesktopSettings;
  private _attach?: string;
  private _status: DesktopConnection.IStatus = { state: 'idle', message: '', actions: [] };
  private readonly _ready = new PromiseDelegate<void>();
  private readonly _statusChanged = new Signal<this, DesktopConnection.IStatus>(this);
  private readonly _sessionChanged = new Signal<this, Session | null>(this);
  private readonly _clipboard = new Signal<this, string>(this);
  private readonly _goTo = new Signal<this, { profile: string; session: string }>(this);
  private _rfb: RFB | null = null;
  private _session: Session | null = null;
  private _opened = false;
  private _disposed = false;
  private _attempt = 0;
  /** Whether this tab has reached its session's stream at least once. */
  private _connectedOnce = false;
  private _startAttempt = 0;
  /** The start has outlasted the setting (its message says so; the counter stops). */
  private _slow = false;
  /** The session whose end the tab shows (its news may come twice: a stop's answer, the stream). */
  private _shownEnd: string | null = null;
  private _tick?: ReturnType<typeof setInterval>;
  private _startTimer?: ReturnType<typeof setTimeout>;
  private _connectTimer?: ReturnType<typeof setTimeout>;
  private _reconnectTimer?: ReturnType<typeof setTimeout>;
}

export namespace DesktopConnection {
  export type State =
    | 'idle'
    | 'starting'
    | 'connecting'
    | 'connected'
    | 'reconnecting'
    | 'disconnected'
    | 'ended'
    | 'failed';

  export interface IAction {
    label: string;
    action: () => void;
  }

  export interface IStatus {
    state: State;
    /** What to tell the user (plain text; empty when the desktop shows). */
    message: string;
    actions: IAction[];
    /** The end of the session's log, where it explains the message. */
    log?: string;
  }

  export interface IOptions {
    api: DesktopsAPI;
    /** The page's event stream: how the tab learns its session's state. */
    events: SessionStream;
    profile: Pick<Profile, 'id' | 'title'>;
    trans: TranslationBundle;
    /** Where noVNC draws (the connection owns what is inside). */
    screen: HTMLElement;
    /** The size the desktop is born at (the tab's). */
    size: () => { width: number; height: number };
    /** Attach to this session instead of starting one (a restored tab). */
    session?: string;
    /** A file for the application ("Open in"), relative to the Jupyter root. */
    open?: string;
  }
}

namespace Private {
  export function delay(ms: number): Promise<void> {
    return new Promise(r => setTimeout(r, ms));
  }

  /** A running desktop whose stream this browser cannot open, and the usual causes. */
  export function noStream(t: TranslationBundle): string {
    return t.__(
      'The desktop is running, but this browser cannot open its stream: WebSocket ' +
        'connections to it fail. A proxy in front of Jupyter may not pass WebSockets on, ' +
        'or the server lacks what jupyter-server-proxy needs for them; ' +
        '`jupyter desktops doctor` on the server checks the latter.'
    );
  }
}
