// The page's one event stream (WS api/events): the daemon pushes every session's state, so tabs
// and the status bar never ask again. It reconnects on its own, with the backoff the desktop
// connections use, and takes a fresh snapshot each time: whatever changed while it was away
// is told as a change.
import { HEARTBEAT_MS, type Session, type SessionEvent } from '@jupyterlab-desktops/protocol';
import { PromiseDelegate } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { Signal, type ISignal } from '@lumino/signaling';
import { reconnectDelay } from './reconnect';

/** No message for this long (two heartbeats missed): the connection is dead, open another. */
const SILENCE_MS = 2 * HEARTBEAT_MS + 5000;

export class SessionStream implements IDisposable {
  /** `url` gives the stream's WebSocket URL (with the token where Lab sends one). */
  constructor(
    private readonly _url: () => string,
    options: { WebSocket?: typeof WebSocket; silenceMs?: number } = {}
  ) {
    this._WebSocket = options.WebSocket ?? WebSocket;
    this._silenceMs = options.silenceMs ?? SILENCE_MS;
    window.addEventListener('online', this);
  }

  /** Every session the daemon knows (live ones and the last ended ones), as last told. */
  get sessions(): Session[] {
    return [...this._sessions.values()];
  }

  /** A session as last told; undefined if the daemon does not know it (or not yet told). */
  get(id: string): Session | undefined {
    return this._sessions.get(id);
  }

  /** Whether the stream is open and its snapshot has arrived. */
  get connected(): boolean {
    return this._connected;
  }

  /** A session changed, or is no longer known (`session: null`, after a daemon restart). */
  get changed(): ISignal<this, SessionStream.IChange> {
    return this._changed;
  }

  /** The stream connected (its snapshot arrived) or lost its connection. */
  get connectionChanged(): ISignal<this, boolean> {
    return this._connectionChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Opens the stream (once; later calls do nothing). Resolves when it is in step. */
  synced(): Promise<void> {
    if (!this._ws && !this._timer && !this._disposed) {
      this._open();
    }
    return this._connected ? Promise.resolve() : this._next.promise;
  }

  /**
   * Resolves with the session once `done` holds for it (null: the daemon no longer knows it),
   * or with undefined after `timeoutMs`. Waits for events: nothing is asked again.
   */
  until(
    id: string,
    done: (s: Session | null) => boolean,
    timeoutMs?: number
  ): Promise<Session | null | undefined> {
    const known = this._sessions.get(id);
    if (this.connected && done(known ?? null)) {
      return Promise.resolve(known ?? null);
    }
    return new Promise(resolve => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (v: Session | null | undefined): void => {
        clearTimeout(timer);
        this._changed.disconnect(onChange);
        this._connectionChanged.disconnect(onConnection);
        resolve(v);
      };
      const onChange = (_: this, c: SessionStream.IChange): void => {
        if (c.id === id && done(c.session)) {
          finish(c.session);
        }
      };
      const onConnection = (): void => {
        const s = this._sessions.get(id) ?? null;
        if (this.connected && done(s)) {
          finish(s);
        }
      };
      this._changed.connect(onChange);
      this._connectionChanged.connect(onConnection);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => finish(undefined), timeoutMs);
      }
    });
  }

  /** Connects again now (the browser is back online, or a user asked). */
  reconnect(): void {
    if (this._disposed || this.connected) {
      return;
    }
    clearTimeout(this._timer);
    this._timer = undefined;
    this._attempt = 0;
    this._drop();
    this._open();
  }

  handleEvent(event: Event): void {
    if (event.type === 'online' && (this._ws || this._timer)) {
      this.reconnect();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.removeEventListener('online', this);
    clearTimeout(this._timer);
    clearTimeout(this._silence);
    this._drop();
    Signal.clearData(this);
  }

  private _open(): void {
    let ws: WebSocket;
    try {
      ws = new this._WebSocket(this._url());
    } catch {
      this._retry();
      return;
    }
    this._ws = ws;
    this._listen();
    ws.onmessage = (e: MessageEvent) => {
      if (this._ws !== ws) {
        return;
      }
      this._listen();
      let event: SessionEvent;
      try {
        event = JSON.parse(String(e.data)) as SessionEvent;
      } catch {
        return;
      }
      this._onEvent(event);
    };
    ws.onclose = () => this._closed(ws);
    // A failed connection closes too; the close is what counts.
    ws.onerror = () => undefined;
  }

  private _closed(ws: WebSocket): void {
    if (this._ws !== ws) {
      return;
    }
    this._drop();
    this._retry();
  }

  private _onEvent(event: SessionEvent): void {
    if (event.type === 'snapshot') {
      const before = this._sessions;
      this._sessions = new Map(event.sessions.map(s => [s.id, s]));
      this._attempt = 0;
      this._connected = true;
      const synced = this._next;
      this._next = new PromiseDelegate<void>();
      synced.resolve();
      // What happened while the stream was away, told as changes.
      for (const s of event.sessions) {
        const old = before.get(s.id);
        if (!old || old.state !== s.state) {
          this._changed.emit({ id: s.id, session: s });
        }
      }
      for (const id of before.keys()) {
        if (!this._sessions.has(id)) {
          this._changed.emit({ id, session: null });
        }
      }
      this._connectionChanged.emit(true);
    } else if (event.type === 'session') {
      this._sessions.set(event.session.id, event.session);
      this._changed.emit({ id: event.session.id, session: event.session });
    }
  }

  /** Silence past two heartbeats means a dead connection (a sleeping laptop, a lost route). */
  private _listen(): void {
    clearTimeout(this._silence);
    const ws = this._ws;
    this._silence = setTimeout(() => ws && this._closed(ws), this._silenceMs);
  }

  private _retry(): void {
    if (this._disposed) {
      return;
    }
    this._attempt++;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._open();
    }, reconnectDelay(this._attempt));
  }

  private _drop(): void {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.close();
    }
    clearTimeout(this._silence);
    if (this._connected) {
      this._connected = false;
      this._connectionChanged.emit(false);
    }
  }

  private readonly _WebSocket: typeof WebSocket;
  private readonly _silenceMs: number;
  private _ws: WebSocket | null = null;
  private _sessions = new Map<string, Session>();
  /** Resolves at the next snapshot. */
  private _next = new PromiseDelegate<void>();
  /** Open, with its snapshot. */
  private _connected = false;
  private _attempt = 0;
  private _timer?: ReturnType<typeof setTimeout>;
  private _silence?: ReturnType<typeof setTimeout>;
  private _disposed = false;
  private readonly _changed = new Signal<this, SessionStream.IChange>(this);
  private readonly _connectionChanged = new Signal<this, boolean>(this);
}

export namespace SessionStream {
  export interface IChange {
    id: string;
    session: Session | null;
  }
}
