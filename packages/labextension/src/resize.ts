// RemoteResizer: makes the remote desktop follow the size of its tab. Debounced, so dragging a
// split or the window asks the server once; blind to hidden tabs (Lab hides background tabs
// with display: none, which reads as 0x0); clamped to the site's limits; retried when a
// request was dropped because another one was still in flight.

import { GEOMETRY } from '@jupyterlab-desktops/protocol';

export interface ISize {
  width: number;
  height: number;
}

export interface IResizeTarget {
  /** The area the desktop may use (the tab's content box); 0x0 when hidden. */
  available(): ISize;
  /** The desktop's current size (the framebuffer); null before the first frame. */
  current(): ISize | null;
  /** Asks the server for a new size. */
  request(size: ISize): void;
  /**
   * Told each time the resizer has looked at a change: the size it asked for, or null when it
   * asked for nothing (hidden, already that size, disabled, or given up).
   */
  checked?(asked: ISize | null): void;
}

export interface IResizerOptions {
  /** Quiet time before a request (ms). */
  debounceMs?: number;
  /** How often an unanswered request is checked and repeated (ms). */
  retryMs?: number;
  /** Attempts per target size before giving up (the server may refuse a size). */
  maxAttempts?: number;
  min?: ISize;
  max?: ISize;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/** Desktops are born at even sizes (a tab's start, and the launcher's guess at it). */
export function even(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}

/** The size to ask for, or null when the area is too small to mean anything (hidden). */
export function targetSize(avail: ISize, min: ISize, max: ISize): ISize | null {
  if (avail.width < min.width / 2 || avail.height < min.height / 2) {
    return null;
  }
  const fit = (n: number, lo: number, hi: number): number =>
    Math.max(lo, Math.min(hi, Math.floor(n)));
  return {
    width: fit(avail.width, min.width, max.width),
    height: fit(avail.height, min.height, max.height)
  };
}

export class RemoteResizer {
  constructor(
    private readonly _target: IResizeTarget,
    options: IResizerOptions = {}
  ) {
    this._o = {
      debounceMs: 300,
      retryMs: 1000,
      maxAttempts: 3,
      min: { width: GEOMETRY.minWidth, height: GEOMETRY.minHeight },
      max: { width: GEOMETRY.maxWidth, height: GEOMETRY.maxHeight },
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: h => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options
    };
  }

  /** Whether requests are sent at all (the "remote" resize mode). */
  get enabled(): boolean {
    return this._enabled;
  }

  set enabled(on: boolean) {
    this._enabled = on;
    if (on) {
      this.schedule();
    } else {
      this._cancel();
    }
  }

  /** The area may have changed: check again after the debounce time. */
  schedule(): void {
    if (!this._enabled) {
      this._target.checked?.(null);
      return;
    }
    this._cancel();
    this._timer = this._o.setTimeout(() => this._run(), this._o.debounceMs);
  }

  dispose(): void {
    this._enabled = false;
    this._cancel();
  }

  private _cancel(): void {
    if (this._timer !== undefined) {
      this._o.clearTimeout(this._timer);
    }
    this._timer = undefined;
  }

  private _run(): void {
    this._timer = undefined;
    const asked = this._enabled ? this._decide() : null;
    if (asked) {
      this._target.request(asked);
      // Check that the server followed; repeat if a request was dropped.
      this._timer = this._o.setTimeout(() => this._run(), this._o.retryMs);
    }
    this._target.checked?.(asked);
  }

  /** The size to ask for now, if any. */
  private _decide(): ISize | null {
    const want = targetSize(this._target.available(), this._o.min, this._o.max);
    const have = this._target.current();
    if (!want || !have) {
      return null;
    }
    if (want.width === have.width && want.height === have.height) {
      this._last = null;
      return null;
    }
    const same = this._last && this._last.width === want.width && this._last.height === want.height;
    this._attempts = same ? this._attempts + 1 : 1;
    this._last = want;
    return this._attempts > this._o.maxAttempts ? null : want;
  }

  private readonly _o: Required<IResizerOptions>;
  private _enabled = false;
  private _timer: unknown;
  private _last: ISize | null = null;
  private _attempts = 0;
}
