// DesktopWidget: one remote desktop in a Lab tab. Its DesktopConnection starts or finds the
// session and drives noVNC; the widget is the Lumino side: it starts the connection once the
// tab has a size, shows the connection's status in its overlay, keeps the remote size in step
// with the tab, and owns focus, full screen and the browser's clipboard. It knows nothing of
// commands, launchers or settings storage: the plugin owns those.
import type { Profile, Session } from '@jupyterlab-desktops/protocol';
import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { UUID } from '@lumino/coreutils';
import type { Message } from '@lumino/messaging';
import { Signal, type ISignal } from '@lumino/signaling';
import { Widget, type Menu } from '@lumino/widgets';
import type { DesktopsAPI } from './api';
import { DesktopConnection } from './connection';
import type { SessionStream } from './events';
import type { IKeyCombo } from './keys';
import { StatusOverlay } from './overlay';
import { RemoteResizer } from './resize';
import { DEFAULT_SETTINGS, type IDesktopSettings } from './settings';

const DESKTOP_CLASS = 'jp-Desktops-widget';
const SCREEN_CLASS = 'jp-Desktops-screen';

export class DesktopWidget extends Widget {
  constructor(options: DesktopWidget.IOptions) {
    super();
    this._profile = options.profile;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_desktops');
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
    this._overlay = new StatusOverlay(this._trans);
    this.node.append(this._screen, this._overlay.node);
    this.node.tabIndex = -1;

    this._connection = new DesktopConnection({
      api: options.api,
      events: options.events,
      profile: options.profile,
      trans: this._trans,
      screen: this._screen,
      size: () => ({ width: this.node.clientWidth, height: this.node.clientHeight }),
      session: options.session,
      open: options.open
    });
    this._connection.statusChanged.connect(this._onStatus, this);
    this._connection.clipboard.connect((_, text) => void this._onRemoteClipboard(text));

    this._resizer = new RemoteResizer({
      available: () =>
        this.isVisible
          ? { width: this._screen.clientWidth, height: this._screen.clientHeight }
          : { width: 0, height: 0 },
      current: () => {
        const c = this._screen.querySelector('canvas');
        return this._connection.rfb && this.state === 'connected' && c
          ? { width: c.width, height: c.height }
          : null;
      },
      request: () => {
        // noVNC sends its screen's size; only while the flag is set.
        const rfb = this._connection.rfb;
        if (!rfb) {
          return;
        }
        rfb.resizeSession = true;
        rfb.resizeSession = false;
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
    this._settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this._restored = options.session !== undefined;
    this.setSettings({});
  }

  /** Names this tab in the saved layout; kept across reloads. */
  readonly key: string;

  /** Resolves once there is something to show: the desktop, or why there is none. */
  get ready(): Promise<void> {
    return this._connection.ready;
  }

  get profile(): Pick<Profile, 'id' | 'title'> {
    return this._profile;
  }

  get session(): Session | null {
    return this._connection.session;
  }

  get state(): DesktopWidget.State {
    return this._connection.status.state;
  }

  /** Emitted on every state change (and full screen); the toolbar follows it. */
  get stateChanged(): ISignal<this, DesktopWidget.State> {
    return this._stateChanged;
  }

  /** Emitted when the tab's session changes (started, restarted): the layout is saved again. */
  get sessionChanged(): ISignal<DesktopConnection, Session | null> {
    return this._connection.sessionChanged;
  }

  /** Emitted with text copied inside the desktop. */
  get clipboardChanged(): ISignal<this, string> {
    return this._clipboardChanged;
  }

  /** Asks the plugin to show another session (the one that replaced this one). */
  get goTo(): ISignal<DesktopConnection, { profile: string; session: string }> {
    return this._connection.goTo;
  }

  /** The last text copied inside the desktop. */
  get remoteClipboard(): string {
    return this._remoteClipboard;
  }

  /** A short status line for toolbars ("Reconnecting in 2 s…"). */
  get statusText(): string {
    return this._overlay.message;
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
    this._connection.setSettings(this._settings);
    this._resizer.enabled = this._settings.resize === 'remote' && !this._settings.viewOnly;
  }

  /** Ends the desktop session (not just this tab's connection). */
  stop(): Promise<void> {
    return this._connection.stop();
  }

  /** Stops this tab's desktop and starts a new one of the same profile. */
  restart(): void {
    this._connection.restart();
  }

  /** Connects again now (after a lost connection), without restarting the desktop. */
  reconnect(): void {
    this._connection.reconnect();
  }

  sendKeys(combo: IKeyCombo): void {
    this._connection.sendKeys(combo);
  }

  /**
   * Opens a menu of this tab's (its toolbar's) at `x`, `y`. Keys are the menu's while it is
   * open, even when Lab activates the tab meanwhile (the desktop would take Esc and the
   * arrows), and the desktop's again once it closes.
   */
  openMenu(menu: Menu, x: number, y: number): void {
    this._menu = menu;
    menu.aboutToClose.connect(() => {
      this._menu = null;
      this.activate();
    });
    menu.open(x, y);
    menu.activate();
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
    if (!canvas || this.state !== 'connected') {
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
    if (this._connection.paste(text)) {
      this._sharedClipboard = text;
    }
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
        if (this.state === 'reconnecting') {
          this.reconnect();
        }
        break;
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._connection.dispose();
    this._resizer.dispose();
    this._resizeObserver.disconnect();
    this.node.removeEventListener('focusin', this);
    document.removeEventListener('fullscreenchange', this);
    window.removeEventListener('online', this);
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    // A restored tab finds its desktop at once, shown or not: its tab tells the truth from
    // the start. (A new desktop waits for the tab's size, below.)
    if (this._restored) {
      this._connection.open();
    }
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
    this._resizer.schedule();
  }

  protected onActivateRequest(): void {
    if (this._menu) {
      this._menu.node.focus();
      return;
    }
    const rfb = this._connection.rfb;
    if (rfb) {
      rfb.focus({ preventScroll: true });
    } else {
      this.node.focus();
    }
  }

  protected onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    // Start only once the tab has a size, so the desktop is born at the tab's geometry.
    if (!this.isVisible || this.node.clientWidth < 50) {
      return;
    }
    this._connection.open();
  }

  private _onStatus(_: DesktopConnection, status: DesktopConnection.IStatus): void {
    const was = this.node.dataset.state;
    this.node.dataset.state = status.state;
    // A counter that moves on (the start's seconds) is no news to the toolbar.
    if (!this._overlay.render(status)) {
      return;
    }
    if (status.state === 'connected' && was !== 'connected') {
      this.setSettings({});
      this._resizer.schedule();
      if (this.node.contains(document.activeElement) || this.isVisible) {
        this._connection.rfb?.focus();
      }
      void this._syncClipboardFromBrowser();
    }
    this._stateChanged.emit(status.state);
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
    if (!this._connection.rfb || this.state !== 'connected' || this._settings.viewOnly) {
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
      this._connection.rfb?.focus({ preventScroll: true });
    } else {
      kb?.unlock?.();
    }
    this._resizer.schedule();
    this._stateChanged.emit(this.state);
  }

  private readonly _profile: Pick<Profile, 'id' | 'title' | 'description'>;
  private readonly _trans: TranslationBundle;
  private readonly _connection: DesktopConnection;
  private readonly _restored: boolean;
  private _settings: IDesktopSettings;
  private readonly _screen: HTMLDivElement;
  private readonly _overlay: StatusOverlay;
  private readonly _stateChanged = new Signal<this, DesktopWidget.State>(this);
  private readonly _clipboardChanged = new Signal<this, string>(this);
  private readonly _resizer: RemoteResizer;
  private readonly _resizeObserver: ResizeObserver;
  /** The toolbar's menu, while one is open. */
  private _menu: Menu | null = null;
  private _remoteClipboard = '';
  /** The text last carried between the desktop and the browser, either way. */
  private _sharedClipboard = '';
}

export namespace DesktopWidget {
  export type State = DesktopConnection.State;
  export type IAction = DesktopConnection.IAction;

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
}
