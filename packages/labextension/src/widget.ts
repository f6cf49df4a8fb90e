// DesktopWidget: one remote desktop in a Lab tab. It starts (or attaches to) a session, shows
// progress and errors in its own pane, and draws the desktop with noVNC's RFB. It knows
// nothing of commands, launchers or settings storage: the plugin owns those.
import type { Profile, Session } from '@jupyterlab-desktops/protocol';
import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { PromiseDelegate } from '@lumino/coreutils';
import type { Message } from '@lumino/messaging';
import { Signal, type ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import type RFB from '@novnc/novnc';
import { DesktopsError, type DesktopsAPI } from './api';

const DESKTOP_CLASS = 'jp-Desktops-widget';
const SCREEN_CLASS = 'jp-Desktops-screen';
const OVERLAY_CLASS = 'jp-Desktops-overlay';
const MESSAGE_CLASS = 'jp-Desktops-message';
const LOG_CLASS = 'jp-Desktops-log';
const ACTIONS_CLASS = 'jp-Desktops-actions';

export class DesktopWidget extends Widget {
  constructor(options: DesktopWidget.IOptions) {
    super();
    this._api = options.api;
    this._profile = options.profile;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_desktops');
    this._options = { resize: 'remote', ...options.options };
    this.id = `jp-Desktops-${Private.nextId()}`;
    this.addClass(DESKTOP_CLASS);
    this.title.label = options.profile.title;
    this.title.caption = options.profile.description || options.profile.title;

    this._screen = document.createElement('div');
    this._screen.className = SCREEN_CLASS;
    this._overlay = document.createElement('div');
    this._overlay.className = OVERLAY_CLASS;
    this._overlay.setAttribute('role', 'status');
    this._overlay.setAttribute('aria-live', 'polite');
    this.node.append(this._screen, this._overlay);
    this.node.tabIndex = -1;
  }

  /** Resolves once there is something to show: the desktop, or why there is none. */
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

  get stateChanged(): ISignal<this, DesktopWidget.State> {
    return this._stateChanged;
  }

  /** Applies a display option now, to the live connection too. */
  setOption<K extends keyof DesktopWidget.IDisplayOptions>(
    key: K,
    value: DesktopWidget.IDisplayOptions[K]
  ): void {
    this._options[key] = value;
    if (this._rfb) Private.applyOptions(this._rfb, this._options);
  }

  /** Ends the desktop session (not just this tab's connection). */
  async stop(): Promise<void> {
    const s = this._session;
    this._disconnect();
    if (!s) return;
    const stopped = await this._api.stop(s.id);
    this._session = stopped;
    this._showEnded(stopped);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this._disconnect();
    this._ready.resolve();
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onActivateRequest(): void {
    if (this._rfb) this._rfb.focus({ preventScroll: true });
    else this.node.focus();
  }

  protected onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    // Start only once the tab has a size, so the desktop is born at the tab's geometry.
    if (this._started || !this.isVisible || this.node.clientWidth < 50) return;
    this._started = true;
    void this._start();
  }

  private async _start(): Promise<void> {
    const t = this._trans;
    this._setState('starting', t.__('Starting %1…', this._profile.title));
    try {
      this._session = await this._api.start(
        this._profile.id,
        Private.even(this.node.clientWidth),
        Private.even(this.node.clientHeight)
      );
    } catch (err) {
      await this._showError(err);
      return;
    }
    this._ready.resolve();
    await this._connect();
  }

  private async _connect(): Promise<void> {
    const s = this._session;
    if (!s || this.isDisposed) return;
    this._setState('connecting', this._trans.__('Connecting to %1…', this._profile.title));
    let RFBClass: typeof RFB;
    try {
      // Lazy: keeps noVNC (and its top-level await) off JupyterLab's start-up path.
      RFBClass = (await import('@novnc/novnc')).default;
    } catch (err) {
      await this._showError(err);
      return;
    }
    if (this.isDisposed) return;
    const rfb = new RFBClass(this._screen, this._api.rfbUrl(s.id), { shared: true });
    this._rfb = rfb;
    rfb.background = 'var(--jp-layout-color2)';
    rfb.focusOnClick = true;
    Private.applyOptions(rfb, this._options);
    rfb.addEventListener('connect', () => {
      this._setState('connected', '');
      this._ready.resolve();
      if (this.node.contains(document.activeElement) || this.isVisible) rfb.focus();
    });
    rfb.addEventListener('disconnect', () => {
      if (this._rfb === rfb) this._rfb = null;
      void this._onDisconnect();
    });
    rfb.addEventListener('securityfailure', () => {
      // The bridge never asks for credentials; a failure here means a misconfigured server.
      this._setState('failed', this._trans.__('The desktop refused the connection.'));
    });
  }

  /**
   * The proxy hides the daemon's close code (DESIGN.md), so ask the daemon what happened.
   */
  private async _onDisconnect(): Promise<void> {
    if (this.isDisposed || !this._session || this._state === 'ended') return;
    let s: Session;
    try {
      s = await this._api.session(this._session.id);
      // The RFB socket can close a moment before the daemon sees the X server exit: ask
      // again briefly before calling it a lost connection, and wait out a teardown so the
      // final state (and its log) is what we show.
      for (let i = 0; i < 60; i++) {
        if (s.state === 'stopping' || (s.state === 'running' && i < 6)) {
          await new Promise(r => setTimeout(r, 250));
          if (this.isDisposed) return;
          s = await this._api.session(s.id);
        } else {
          break;
        }
      }
    } catch (err) {
      await this._showError(err);
      return;
    }
    this._session = s;
    if (s.state === 'running') {
      this._setState(
        'disconnected',
        this._trans.__('The connection to %1 was lost.', this._profile.title),
        [{ label: this._trans.__('Reconnect'), action: () => void this._connect() }]
      );
    } else {
      this._showEnded(s);
    }
  }

  private _showEnded(s: Session): void {
    const t = this._trans;
    const restart = { label: t.__('Restart'), action: () => this._restart() };
    const exit = s.exit;
    let text: string;
    if (exit?.code === 'replaced' && exit.replacedBy) {
      text = t.__('This desktop was replaced by %1.', exit.replacedBy.title);
    } else if (exit) {
      text = exit.message;
    } else {
      text = t.__('%1 has ended.', this._profile.title);
    }
    this._setState(s.state === 'failed' ? 'failed' : 'ended', text, [restart]);
    if (s.state === 'failed') void this._showLog(s.id);
  }

  private async _showError(err: unknown): Promise<void> {
    const message =
      err instanceof Error ? err.message : this._trans.__('The desktop could not be started.');
    this._setState('failed', message, [
      { label: this._trans.__('Retry'), action: () => this._restart() }
    ]);
    this._ready.resolve();
    const session = err instanceof DesktopsError ? err.session : undefined;
    if (session) {
      this._session = session;
      await this._showLog(session.id);
    }
  }

  private async _showLog(id: string): Promise<void> {
    try {
      const log = await this._api.log(id);
      if (!log.text.trim() || this.isDisposed) return;
      const pre = document.createElement('pre');
      pre.className = LOG_CLASS;
      pre.textContent = log.text.split('\n').slice(-40).join('\n');
      const label = document.createElement('p');
      label.textContent = this._trans.__('The end of the session log:');
      this._overlay.append(label, pre);
    } catch {
      // The log is a help, not a requirement.
    }
  }

  private _restart(): void {
    this._disconnect();
    this._session = null;
    this._started = true;
    void this._start();
  }

  private _disconnect(): void {
    const rfb = this._rfb;
    this._rfb = null;
    if (rfb) rfb.disconnect();
    this._screen.replaceChildren();
  }

  private _setState(
    state: DesktopWidget.State,
    text: string,
    actions: { label: string; action: () => void }[] = []
  ): void {
    this._state = state;
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
  private readonly _profile: Pick<Profile, 'id' | 'title' | 'description'>;
  private readonly _trans: TranslationBundle;
  private readonly _options: DesktopWidget.IDisplayOptions;
  private readonly _screen: HTMLDivElement;
  private readonly _overlay: HTMLDivElement;
  private readonly _ready = new PromiseDelegate<void>();
  private readonly _stateChanged = new Signal<this, DesktopWidget.State>(this);
  private _rfb: RFB | null = null;
  private _session: Session | null = null;
  private _started = false;
  private _state: DesktopWidget.State = 'idle';
}

export namespace DesktopWidget {
  export type State =
    'idle' | 'starting' | 'connecting' | 'connected' | 'disconnected' | 'ended' | 'failed';

  export interface IDisplayOptions {
    /** `remote`: the desktop follows the tab's size; `scale`: the picture is scaled; `none`. */
    resize: 'remote' | 'scale' | 'none';
  }

  export interface IOptions {
    api: DesktopsAPI;
    profile: Pick<Profile, 'id' | 'title' | 'description'>;
    options?: Partial<IDisplayOptions>;
    translator?: ITranslator;
  }
}

namespace Private {
  let id = 0;
  export const nextId = (): number => ++id;

  export function even(n: number): number {
    return Math.max(2, Math.floor(n / 2) * 2);
  }

  export function applyOptions(rfb: RFB, o: DesktopWidget.IDisplayOptions): void {
    rfb.resizeSession = o.resize === 'remote';
    rfb.scaleViewport = o.resize === 'scale';
    rfb.clipViewport = o.resize === 'none';
  }
}
