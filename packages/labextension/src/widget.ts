// DesktopWidget: one remote desktop in a Lab tab. It starts a session (or attaches to a running
// one after a reload), shows progress and errors in its own pane, draws the desktop with
// noVNC's RFB, keeps the remote size in step with the tab, reconnects after a network loss and
// carries the clipboard both ways. It knows nothing of commands, launchers or settings storage:
// the plugin owns those.
import { isLive, type Profile, type Session } from '@jupyterlab-desktops/protocol';
import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { PromiseDelegate, UUID } from '@lumino/coreutils';
import type { Message } from '@lumino/messaging';
import { Signal, type ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import type RFB from '@novnc/novnc';
import { DesktopsError, isTransient, type DesktopsAPI } from './api';
import type { SessionStream } from './events';
import { sendCombo, type IKeyCombo } from './keys';
import { reconnectDelay } from './reconnect';
import { RemoteResizer } from './resize';
import { DEFAULT_SETTINGS, rfbProperties, type IDesktopSettings } from './settings';

const DESKTOP_CLASS = 'jp-Desktops-widget';
const SCREEN_CLASS = 'jp-Desktops-screen';
const OVERLAY_CLASS = 'jp-Desktops-overlay';
const MESSAGE_CLASS = 'jp-Desktops-message';
const DETAIL_CLASS = 'jp-Desktops-detail';
const LOG_CLASS = 'jp-Desktops-log';
const ACTIONS_CLASS = 'jp-Desktops-actions';
/** How long the RFB connection may take before the tab offers the log and Retry. */
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * The RFB socket can close a moment before the daemon tells that the desktop ended: how long a
 * closed connection waits for that news before it counts as a lost connection.
 */
const END_NEWS_MS = 1500;

export class DesktopWidget extends Widget {
  constructor(options: DesktopWidget.IOptions) {
    super();
    this._api = options.api;
    this._events = options.events;
    this._events.changed.connect(this._onSessionChanged, this);
    this._profile = options.profile;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_desktops');
    this._settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this._attach = options.session;
    this._open = options.open;
    this.key = options.key ?? UUID.uuid4();
    this.id = `jp-Desktops-${Private.nextId()}`;
    this.addClass(DESKTOP_CLASS);
    this.title.label = options.profile.title;
    this.title.caption = options.profile.description || options.profile.title;
    // Keys typed in the desktop are the desktop's: Lab's shortcuts stay out of the way.
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('%1 desktop', options.profile.title));

    this._screen = document.createElement('div');
    this._screen.className = SCREEN_CLASS;
    this._overlay = document.createElement('div');
    this._overlay.className = OVERLAY_CLASS;
    this._overlay.setAttribute('role', 'status');
    this._overlay.setAttribute('aria-live', 'polite');
    this.node.append(this._screen, this._overlay);
    this.node.tabIndex = -1;

    this._resizer = new RemoteResizer({
      available: () =>
        this.isVisible
          ? { width: this._screen.clientWidth, height: this._screen.clientHeight }
          : { width: 0, height: 0 },
      current: () => {
        const c = this._screen.querySelector('canvas');
        return this._rfb && this._state === 'connected' && c
          ? { width: c.width, height: c.height }
          : null;
      },
      request: () => {
        // noVNC sends its screen's size; only while the flag is set.
        if (!this._rfb) {
          return;
        }
        this._rfb.resizeSession = true;
        this._rfb.resizeSession = false;
      },
      // How many size changes the tab has looked at, and what it asked for last: for tests
      // and for whoever debugs a desktop that does not follow its tab.
      checked: asked => {
        this.node.dataset.resizeChecks = String(Number(this.node.dataset.resizeChecks ?? 0) + 1);
        this.node.dataset.resizeAsked = asked ? `${asked.width}x${asked.height}` : '';
      }
    });
    this._resizeObserver = new ResizeObserver(() => this._resizer.schedule());
    this._resizeObserver.observe(this.node);
    this.node.addEventListener('focusin', this);
    document.addEventListener('fullscreenchange', this);
    window.addEventListener('online', this);
    this.setSettings({});
  }

  /** Names this tab in the saved layout; kept across reloads. */
  readonly key: string;

  /**
   * Resolves once there is something to show: a running desktop being connected to, or why
   * there is none (resolved by `_setState`, the one place the tab's state changes).
   */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  get profile(): Pick<Profile, 'id' | 'title'> {
    return this._profile;
  }

  get session(): Session | null {
    return this._session;
  }

  get state(): DesktopWidget.State {
    return this._state;
  }

  /** Emitted on every state change; the toolbar and status bar follow it. */
  get stateChanged(): ISignal<this, DesktopWidget.State> {
    return this._stateChanged;
  }

  /** Emitted when the tab's session changes (started, restarted): the layout is saved again. */
  get sessionChanged(): ISignal<this, Session | null> {
    return this._sessionChanged;
  }

  /** Emitted with text copied inside the desktop. */
  get clipboardChanged(): ISignal<this, string> {
    return this._clipboardChanged;
  }

  /** The last text copied inside the desktop. */
  get remoteClipboard(): string {
    return this._remoteClipboard;
  }

  /** A short status line for toolbars and the status bar ("Reconnecting (2/8)…"). */
  get statusText(): string {
    return this._overlay.querySelector(`.${MESSAGE_CLASS}`)?.textContent ?? '';
  }

  get settings(): Readonly<IDesktopSettings> {
    return this._settings;
  }

  /** Whether the desktop fills the screen. */
  get isFullscreen(): boolean {
    return document.fullscreenElement === this.node;
  }

  /** Applies settings now, to the live connection too. */
  setSettings(settings: Partial<IDesktopSettings>): void {
    this._settings = { ...this._settings, ...settings };
    this.node.dataset.resize = this._settings.resize;
    if (this._rfb) {
      Object.assign(this._rfb, rfbProperties(this._settings));
    }
    this._resizer.enabled = this._settings.resize === 'remote' && !this._settings.viewOnly;
  }

  /** Ends the desktop session (not just this tab's connection). */
  async stop(): Promise<void> {
    const s = this._session;
    this._disconnect();
    if (!s) {
      return;
    }
    const stopped = await this._api.stop(s.id);
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
    this._started = true;
    // Its own desktop, stopped first: where users may run several, starting alone would leave
    // it running, or end another tab's (the oldest) to make room.
    const live = old && isLive(old);
    void this._start(live ? old.id : undefined);
  }

  /** Connects again now (after a lost connection), without restarting the desktop. */
  reconnect(): void {
    if (!this._session || this._state === 'ended' || this._state === 'failed') {
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

  async toggleFullscreen(): Promise<void> {
    if (this.isFullscreen) {
      await document.exitFullscreen();
    } else {
      await this.node.requestFullscreen();
    }
  }

  /** The desktop as a PNG, as drawn now. */
  async screenshot(): Promise<Blob> {
    const canvas = this._screen.querySelector('canvas');
    if (!canvas || this._state !== 'connected') {
      throw new Error(this._trans.__('There is no desktop to take a picture of.'));
    }
    return new Promise((resolve, reject) =>
      canvas.toBlob(
        b => (b ? resolve(b) : reject(new Error(this._trans.__('The picture failed.')))),
        'image/png'
      )
    );
  }

  /** Puts text on the desktop's clipboard. */
  pasteToDesktop(text: string): void {
    if (!this._rfb || this._settings.viewOnly) {
      return;
    }
    this._rfb.clipboardPasteFrom(text);
    this._sharedClipboard = text;
  }

  handleEvent(event: Event): void {
    switch (event.type) {
      case 'focusin':
        // Copied in Lab (or anywhere) before coming back to the desktop: hand it over.
        void this._syncClipboardFromBrowser();
        break;
      case 'fullscreenchange':
        void this._onFullscreenChange();
        break;
      case 'online':
        if (this._state === 'reconnecting') {
          this.reconnect();
        }
        break;
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    const s = this._session;
    if (this._settings.stopOnClose && s && isLive(s)) {
      void this._api.stop(s.id).catch(() => undefined);
    }
    this._disconnect();
    this._resizer.dispose();
    this._resizeObserver.disconnect();
    this.node.removeEventListener('focusin', this);
    document.removeEventListener('fullscreenchange', this);
    window.removeEventListener('online', this);
    this._clearTimers();
    this._events.changed.disconnect(this._onSessionChanged, this);
    this._ready.resolve(); // a tab closed while it started: nothing waits for it any more
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
    this._resizer.schedule();
  }

  protected onActivateRequest(): void {
    if (this._rfb) {
      this._rfb.focus({ preventScroll: true });
    } else {
      this.node.focus();
    }
  }

  protected onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    // Start only once the tab has a size, so the desktop is born at the tab's geometry.
    if (this._started || !this.isVisible || this.node.clientWidth < 50) {
      return;
    }
    this._started = true;
    void this._start();
  }

  /** Starts the tab's desktop (after stopping `replaces`), or attaches to a restored one. */
  private async _start(replaces?: string): Promise<void> {
    const t = this._trans;
    const attempt = ++this._startAttempt;
    const current = (): boolean => attempt === this._startAttempt && !this.isDisposed;
    if (this._attach) {
      // After a reload: the same desktop, if it is still there.
      const id = this._attach;
      this._attach = undefined;
      this._setState('connecting', t.__('Reconnecting to %1…', this._profile.title), [], {
        pending: true
      });
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
        // Another tab is starting it: its events tell when it runs (or ends).
        this._showStarting(Date.parse(s.startedAt));
      }
      this._follow(s);
      return;
    }
    this._showStarting(Date.now());
    try {
      // Already ended (or the server gone, which the start then reports): nothing to stop.
      if (replaces) {
        await this._api.stop(replaces).catch(() => undefined);
      }
      if (!current()) {
        return;
      }
      // The event stream first: the start's news must find it listening.
      await Promise.race([this._events.synced(), Private.delay(2000)]);
      if (!current()) {
        return;
      }
      const s = await this._api.start(this._profile.id, {
        width: Private.even(this.node.clientWidth),
        height: Private.even(this.node.clientHeight),
        open: this._open
      });
      if (!current()) {
        return;
      }
      this._setSession(s);
      // Its news may have come before the answer did.
      this._follow(this._events.get(s.id) ?? s);
    } catch (err) {
      if (current()) {
        this._clearTimers();
        await this._showError(err);
      }
    }
  }

  /** A session as the stream knows it, or (the stream not in step yet) as the daemon says. */
  private async _lookup(id: string): Promise<Session | null> {
    await Promise.race([this._events.synced(), Private.delay(2000)]);
    if (this._events.connected) {
      return this._events.get(id) ?? null;
    }
    try {
      return await this._api.session(id);
    } catch (err) {
      if (err instanceof DesktopsError && err.status === 404) {
        return null;
      }
      throw err;
    }
  }

  /** "Starting XFCE… 3 s", counted from `since`; after the setting's time, the log and Retry. */
  private _showStarting(since: number): void {
    const t = this._trans;
    const progress = (): string =>
      t.__('Starting %1… %2 s', this._profile.title, Math.round((Date.now() - since) / 1000));
    this._setState('starting', progress(), [], { pending: true });
    clearInterval(this._tick);
    this._tick = setInterval(() => {
      if (this._state === 'starting' && !this._slow) {
        this._setMessage(progress());
      }
    }, 1000);
    clearTimeout(this._startTimer);
    this._slow = false;
    this._startTimer = setTimeout(
      () => void this._onSlowStart(),
      Math.max(0, since + this._settings.startTimeout * 1000 - Date.now())
    );
  }

  /** The restored tab's desktop is gone: say so, and offer a new one. */
  private _showGone(): void {
    const t = this._trans;
    this._setState('ended', t.__('This %1 desktop is no longer running.', this._profile.title), [
      { label: t.__('Start a new one'), action: () => this.restart() }
    ]);
  }

  /** News of a session from the event stream: this tab's moves with it. */
  private _onSessionChanged(_: SessionStream, change: SessionStream.IChange): void {
    const mine = this._session;
    if (!mine || change.id !== mine.id || this._state === 'idle') {
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
    switch (s.state) {
      case 'starting':
        break;
      case 'running':
        if (this._state === 'starting' || (this._state === 'connecting' && !this._rfb)) {
          this._clearTimers();
          void this._connect();
        }
        break;
      case 'stopping':
        // Its end is on the way; the final state (and its log) is what the tab will show.
        if (this._state === 'starting' || this._state === 'connecting') {
          this._clearTimers();
          this._setMessage(this._trans.__('%1 is stopping…', this._profile.title));
        }
        break;
      default:
        if (this._shownEnd !== s.id) {
          this._disconnect();
          this._showEnded(s);
        }
    }
  }

  /** The start takes longer than the setting allows: say so, show the log, offer Retry. */
  private async _onSlowStart(): Promise<void> {
    if (this._state !== 'starting') {
      return;
    }
    this._slow = true;
    const t = this._trans;
    this._setState(
      'starting',
      t.__(
        '%1 is taking longer than %2 s to start.',
        this._profile.title,
        this._settings.startTimeout
      ),
      [{ label: t.__('Retry'), action: () => this.restart() }]
    );
    const s = this._session;
    if (s) {
      await this._showLog(s.id);
    }
  }

  private async _connect(): Promise<void> {
    const s = this._session;
    if (!s || this.isDisposed) {
      return;
    }
    const t = this._trans;
    if (this._state !== 'reconnecting') {
      this._setState('connecting', t.__('Connecting to %1…', this._profile.title));
    }
    let rfb: RFB;
    try {
      // Lazy: keeps noVNC (and its top-level await) off JupyterLab's start-up path.
      const RFBClass = (await import('@novnc/novnc')).default;
      if (this.isDisposed || this._rfb) {
        return;
      }
      this._screen.replaceChildren();
      // Throws where the browser cannot open the WebSocket at all.
      rfb = new RFBClass(this._screen, this._api.rfbUrl(s.id), { shared: true });
    } catch (err) {
      await this._showError(err);
      return;
    }
    this._rfb = rfb;
    rfb.background = 'var(--jp-layout-color2)';
    rfb.focusOnClick = true;
    Object.assign(rfb, rfbProperties(this._settings));
    clearTimeout(this._connectTimer);
    this._connectTimer = setTimeout(() => {
      if (this._rfb !== rfb || this._state === 'connected') {
        return;
      }
      this._setState(this._state, t.__('%1 does not answer.', this._profile.title), [
        { label: t.__('Retry'), action: () => this.reconnect() }
      ]);
      void this._showLog(s.id);
    }, CONNECT_TIMEOUT_MS);
    rfb.addEventListener('connect', () => {
      if (this._rfb !== rfb) {
        return;
      }
      clearTimeout(this._connectTimer);
      this._attempt = 0;
      this._connectedOnce = true;
      this._setState('connected', '');
      this.setSettings({});
      this._resizer.schedule();
      if (this.node.contains(document.activeElement) || this.isVisible) {
        rfb.focus();
      }
      void this._syncClipboardFromBrowser();
    });
    rfb.addEventListener('disconnect', () => {
      if (this._rfb !== rfb) {
        return;
      }
      this._rfb = null;
      clearTimeout(this._connectTimer);
      void this._onDisconnect();
    });
    rfb.addEventListener('clipboard', ((e: CustomEvent<{ text: string }>) => {
      void this._onRemoteClipboard(e.detail.text);
    }) as EventListener);
    rfb.addEventListener('securityfailure', () => {
      // The bridge never asks for credentials; a failure here means a misconfigured server.
      this._setState('failed', t.__('The desktop refused the connection.'));
    });
  }

  /**
   * The proxy hides the daemon's close code (docs/architecture.md, section 2), so the event
   * stream tells what happened: a desktop that still runs (or a server out of reach) means a
   * lost connection, retried with backoff; anything else means the desktop ended.
   */
  private async _onDisconnect(): Promise<void> {
    const mine = this._session;
    if (this.isDisposed || !mine || this._state === 'ended' || this._state === 'failed') {
      return;
    }
    let s: Session | null | undefined;
    if (this._events.connected) {
      // The socket can close a moment before the news of the end: wait for it briefly.
      s = await this._events.until(mine.id, x => x?.state !== 'running', END_NEWS_MS);
      s = s === undefined ? (this._events.get(mine.id) ?? null) : s;
    } else {
      // The stream is away too. One question, not a loop: it tells a server out of reach from
      // a path that carries requests but no WebSockets.
      try {
        s = await this._api.session(mine.id);
      } catch (err) {
        if (err instanceof DesktopsError && err.status === 404) {
          s = null;
        } else if (err instanceof DesktopsError && isTransient(err)) {
          s = undefined;
        } else {
          await this._showError(err);
          return;
        }
      }
    }
    if (this.isDisposed || this._session?.id !== mine.id || this._rfb) {
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
      const known = await this._api.session(mine.id).catch(() => s);
      this._attempt = 0;
      this._setState('disconnected', known.connectProblem ?? Private.noStream(this._trans), [
        { label: this._trans.__('Retry'), action: () => this.reconnect() }
      ]);
      return;
    }
    this._scheduleReconnect();
  }

  private _scheduleReconnect(): void {
    const t = this._trans;
    const max = this._settings.reconnectAttempts;
    this._attempt++;
    if (this._attempt > max) {
      this._attempt = 0;
      this._setState('disconnected', t.__('The connection to %1 was lost.', this._profile.title), [
        { label: t.__('Reconnect'), action: () => this.reconnect() }
      ]);
      return;
    }
    const delay = reconnectDelay(this._attempt);
    this._setState(
      'reconnecting',
      t.__(
        'The connection to %1 was lost. Reconnecting in %2 s (attempt %3 of %4)…',
        this._profile.title,
        Math.max(1, Math.round(delay / 1000)),
        this._attempt,
        max
      ),
      [{ label: t.__('Reconnect now'), action: () => this.reconnect() }]
    );
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(() => {
      if (this._state === 'reconnecting' && !this._rfb) {
        void this._connect();
      }
    }, delay);
  }

  private async _onRemoteClipboard(text: string): Promise<void> {
    this._remoteClipboard = text;
    this._sharedClipboard = text;
    this._clipboardChanged.emit(text);
    try {
      // Where the browser allows it, the desktop's copy lands on the system clipboard.
      await navigator.clipboard.writeText(text);
    } catch {
      // Not permitted (or not focused): the clipboard panel has it.
    }
  }

  /**
   * Reads the browser's clipboard when the page is allowed to without asking, and gives it to
   * the desktop if it changed. Without that permission the clipboard panel does it by hand.
   */
  private async _syncClipboardFromBrowser(): Promise<void> {
    if (!this._rfb || this._state !== 'connected' || this._settings.viewOnly) {
      return;
    }
    try {
      const status = await navigator.permissions.query({
        name: 'clipboard-read' as PermissionName
      });
      if (status.state !== 'granted') {
        return;
      }
      const text = await navigator.clipboard.readText();
      if (text && text !== this._sharedClipboard) {
        this.pasteToDesktop(text);
      }
    } catch {
      // No clipboard access here.
    }
  }

  private async _onFullscreenChange(): Promise<void> {
    const kb = (navigator as Navigator & { keyboard?: { lock?(): Promise<void>; unlock?(): void } })
      .keyboard;
    if (this.isFullscreen) {
      // In fullscreen, Chromium lets a page have the keys it normally keeps (Ctrl+W, Alt+Tab).
      await kb?.lock?.().catch(() => undefined);
      this._rfb?.focus({ preventScroll: true });
    } else {
      kb?.unlock?.();
    }
    this._resizer.schedule();
    this._stateChanged.emit(this._state);
  }

  private _showEnded(s: Session): void {
    this._shownEnd = s.id;
    const t = this._trans;
    const exit = s.exit;
    const actions: DesktopWidget.IAction[] = [
      {
        label: exit?.code === 'start-failed' ? t.__('Retry') : t.__('Restart'),
        action: () => this.restart()
      }
    ];
    let text: string;
    if (exit?.code === 'replaced' && exit.replacedBy) {
      text = t.__('This desktop was replaced by %1.', exit.replacedBy.title);
      const by = exit.replacedBy;
      actions.unshift({
        label: t.__('Go to %1', by.title),
        action: () => this._goTo.emit({ profile: by.profile, session: by.session })
      });
    } else if (exit) {
      text = exit.message;
    } else {
      text = t.__('%1 has ended.', this._profile.title);
    }
    this._setState(s.state === 'failed' ? 'failed' : 'ended', text, actions);
    if (s.state === 'failed') {
      void this._showLog(s.id);
    }
  }

  /** Asks the plugin to show another session (the one that replaced this one). */
  get goTo(): ISignal<this, { profile: string; session: string }> {
    return this._goTo;
  }

  private async _showError(err: unknown): Promise<void> {
    const message =
      err instanceof Error ? err.message : this._trans.__('The desktop could not be started.');
    this._setState('failed', message, [
      { label: this._trans.__('Retry'), action: () => this.restart() }
    ]);
    const session = err instanceof DesktopsError ? err.session : undefined;
    if (session) {
      this._setSession(session);
      await this._showLog(session.id);
    }
  }

  private async _showLog(id: string): Promise<void> {
    try {
      const log = await this._api.log(id);
      if (!log.text.trim() || this.isDisposed) {
        return;
      }
      this._overlay.querySelector(`.${LOG_CLASS}`)?.previousElementSibling?.remove();
      this._overlay.querySelector(`.${LOG_CLASS}`)?.remove();
      const pre = document.createElement('pre');
      pre.className = LOG_CLASS;
      pre.textContent = log.text.split('\n').slice(-40).join('\n');
      const label = document.createElement('p');
      label.className = DETAIL_CLASS;
      label.textContent = this._trans.__('The end of the session log:');
      this._overlay.append(label, pre);
      // The end is what tells: an X server's start-up warnings come first.
      pre.scrollTop = pre.scrollHeight;
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
    this._screen.replaceChildren();
  }

  private _clearTimers(): void {
    clearInterval(this._tick);
    clearTimeout(this._startTimer);
    clearTimeout(this._connectTimer);
    clearTimeout(this._reconnectTimer);
  }

  private _setMessage(text: string): void {
    const p = this._overlay.querySelector(`.${MESSAGE_CLASS}`);
    if (p) {
      p.textContent = text;
    }
  }

  /**
   * The one place the tab's state changes. Unless `pending` (a start or a lookup under way,
   * nothing to show yet), the tab is ready: Lab reveals it.
   */
  private _setState(
    state: DesktopWidget.State,
    text: string,
    actions: DesktopWidget.IAction[] = [],
    o: { pending?: boolean } = {}
  ): void {
    this._state = state;
    if (!o.pending) {
      this._ready.resolve();
    }
    this.node.dataset.state = state;
    this._overlay.replaceChildren();
    this._overlay.hidden = state === 'connected';
    if (text) {
      const p = document.createElement('p');
      p.className = MESSAGE_CLASS;
      p.textContent = text;
      this._overlay.append(p);
    }
    if (actions.length) {
      const bar = document.createElement('div');
      bar.className = ACTIONS_CLASS;
      for (const a of actions) {
        const b = document.createElement('button');
        b.className = 'jp-mod-styled jp-mod-accept';
        b.textContent = a.label;
        b.addEventListener('click', a.action);
        bar.append(b);
      }
      this._overlay.append(bar);
    }
    this._stateChanged.emit(state);
  }

  private readonly _api: DesktopsAPI;
  private readonly _events: SessionStream;
  private readonly _profile: Pick<Profile, 'id' | 'title' | 'description'>;
  private readonly _trans: TranslationBundle;
  private _settings: IDesktopSettings;
  private readonly _open?: string;
  private _attach?: string;
  private readonly _screen: HTMLDivElement;
  private readonly _overlay: HTMLDivElement;
  private readonly _ready = new PromiseDelegate<void>();
  private readonly _stateChanged = new Signal<this, DesktopWidget.State>(this);
  private readonly _sessionChanged = new Signal<this, Session | null>(this);
  private readonly _clipboardChanged = new Signal<this, string>(this);
  private readonly _goTo = new Signal<this, { profile: string; session: string }>(this);
  private readonly _resizer: RemoteResizer;
  private readonly _resizeObserver: ResizeObserver;
  private _rfb: RFB | null = null;
  private _session: Session | null = null;
  private _started = false;
  private _state: DesktopWidget.State = 'idle';
  private _attempt = 0;
  /** Whether this tab has reached its session's stream at least once. */
  private _connectedOnce = false;
  private _startAttempt = 0;
  /** The start has outlasted the setting (its message says so; the counter stops). */
  private _slow = false;
  /** The session whose end the tab shows (its news may come twice: a stop's answer, the stream). */
  private _shownEnd: string | null = null;
  private _remoteClipboard = '';
  /** The text last carried between the desktop and the browser, either way. */
  private _sharedClipboard = '';
  private _tick?: ReturnType<typeof setInterval>;
  private _startTimer?: ReturnType<typeof setTimeout>;
  private _connectTimer?: ReturnType<typeof setTimeout>;
  private _reconnectTimer?: ReturnType<typeof setTimeout>;
}

export namespace DesktopWidget {
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

  export interface IOptions {
    api: DesktopsAPI;
    /** The page's event stream: how the tab learns its session's state. */
    events: SessionStream;
    profile: Pick<Profile, 'id' | 'title' | 'description'>;
    settings?: Partial<IDesktopSettings>;
    translator?: ITranslator;
    /** Attach to this running session instead of starting one (a restored tab). */
    session?: string;
    /** A file for the application ("Open in"), relative to the Jupyter root. */
    open?: string;
    /** The tab's name in the saved layout (a restored tab keeps its old one). */
    key?: string;
  }
}

namespace Private {
  let id = 0;
  export const nextId = (): number => ++id;

  export function delay(ms: number): Promise<void> {
    return new Promise(r => setTimeout(r, ms));
  }

  export function even(n: number): number {
    return Math.max(2, Math.floor(n / 2) * 2);
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
