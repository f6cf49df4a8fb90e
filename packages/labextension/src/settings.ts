// The user's display settings (schema/plugin.json), read into one typed object. Values that
// are missing or out of range fall back to the defaults, so a hand-edited settings file never
// leaves a tab in a state the schema does not describe.

export type ResizeMode = 'remote' | 'scale' | 'none';

export interface IDesktopSettings {
  /** remote: the desktop follows the tab's size; scale: the picture is scaled; none: clipped. */
  resize: ResizeMode;
  /** JPEG quality for lossy updates, 0 (smallest) to 9 (best). */
  quality: number;
  /** Compression effort, 0 (fastest) to 9 (smallest). */
  compression: number;
  /** Show the desktop without sending keyboard or mouse input. */
  viewOnly: boolean;
  /** Closing a desktop's tab stops the desktop (otherwise it keeps running). */
  stopOnClose: boolean;
  /** How many times a lost connection is retried before asking the user. */
  reconnectAttempts: number;
  /** Draw a small dot where the remote cursor would be invisible. */
  dotCursor: boolean;
  /** Seconds a desktop may take to start before the tab shows the log and Retry. */
  startTimeout: number;
  /** Ask before replacing or stopping a desktop that has had input (it may hold unsaved work). */
  confirmEnd: boolean;
}

export const DEFAULT_SETTINGS: Readonly<IDesktopSettings> = Object.freeze({
  resize: 'remote',
  quality: 6,
  compression: 2,
  viewOnly: false,
  stopOnClose: false,
  reconnectAttempts: 8,
  dotCursor: false,
  startTimeout: 60,
  confirmEnd: true
});

const RESIZE_MODES: readonly ResizeMode[] = ['remote', 'scale', 'none'];

function int(v: unknown, min: number, max: number, dflt: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : dflt;
}

function bool(v: unknown, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : dflt;
}

/** Reads settings (the registry's composite object) into a complete, valid set. */
export function readSettings(raw: Record<string, unknown> | null | undefined): IDesktopSettings {
  const r = raw ?? {};
  const d = DEFAULT_SETTINGS;
  return {
    resize: RESIZE_MODES.includes(r.resize as ResizeMode) ? (r.resize as ResizeMode) : d.resize,
    quality: int(r.quality, 0, 9, d.quality),
    compression: int(r.compression, 0, 9, d.compression),
    viewOnly: bool(r.viewOnly, d.viewOnly),
    stopOnClose: bool(r.stopOnClose, d.stopOnClose),
    reconnectAttempts: int(r.reconnectAttempts, 0, 100, d.reconnectAttempts),
    dotCursor: bool(r.dotCursor, d.dotCursor),
    startTimeout: int(r.startTimeout, 5, 600, d.startTimeout),
    confirmEnd: bool(r.confirmEnd, d.confirmEnd)
  };
}

/** The noVNC RFB properties one set of settings gives. */
export function rfbProperties(s: IDesktopSettings): {
  resizeSession: boolean;
  scaleViewport: boolean;
  clipViewport: boolean;
  qualityLevel: number;
  compressionLevel: number;
  viewOnly: boolean;
  showDotCursor: boolean;
} {
  return {
    // Remote resizing is driven by RemoteResizer (debounced, and blind to hidden tabs), not by
    // noVNC's own observer, which would ask for a 0x0 desktop whenever the tab is hidden.
    resizeSession: false,
    scaleViewport: s.resize === 'scale',
    // Not in remote mode: there the canvas keeps the desktop's own size (RemoteResizer reads
    // it), and the tab crops the moment before the desktop has followed.
    clipViewport: s.resize === 'none',
    qualityLevel: s.quality,
    compressionLevel: s.compression,
    viewOnly: s.viewOnly,
    showDotCursor: s.dotCursor
  };
}
