// Key combinations the browser keeps for itself (Ctrl+W closes the browser tab) or that Lab
// would act on, sent to the desktop as X keysyms instead.

export interface IKeyCombo {
  /** Stable id, used in command arguments. */
  id: string;
  /** What the user sees (translated by the caller). */
  label: string;
  /** Keys pressed in order and released in reverse: [keysym, KeyboardEvent.code]. */
  keys: readonly (readonly [number, string])[];
}

const CTRL = [0xffe3, 'ControlLeft'] as const;
const ALT = [0xffe9, 'AltLeft'] as const;

export const KEY_COMBOS: readonly IKeyCombo[] = [
  { id: 'ctrl-alt-del', label: 'Ctrl+Alt+Del', keys: [CTRL, ALT, [0xffff, 'Delete']] },
  { id: 'ctrl-w', label: 'Ctrl+W', keys: [CTRL, [0x0077, 'KeyW']] },
  { id: 'ctrl-t', label: 'Ctrl+T', keys: [CTRL, [0x0074, 'KeyT']] },
  { id: 'ctrl-n', label: 'Ctrl+N', keys: [CTRL, [0x006e, 'KeyN']] },
  { id: 'ctrl-q', label: 'Ctrl+Q', keys: [CTRL, [0x0071, 'KeyQ']] },
  { id: 'ctrl-tab', label: 'Ctrl+Tab', keys: [CTRL, [0xff09, 'Tab']] },
  { id: 'alt-tab', label: 'Alt+Tab', keys: [ALT, [0xff09, 'Tab']] },
  { id: 'alt-f4', label: 'Alt+F4', keys: [ALT, [0xffc1, 'F4']] },
  { id: 'super', label: 'Super', keys: [[0xffeb, 'MetaLeft']] },
  { id: 'f11', label: 'F11', keys: [[0xffc8, 'F11']] }
];

export function findCombo(id: unknown): IKeyCombo | undefined {
  return KEY_COMBOS.find(c => c.id === id);
}

/** Presses and releases a combination through a noVNC-style sendKey. */
export function sendCombo(
  combo: IKeyCombo,
  sendKey: (keysym: number, code: string, down: boolean) => void
): void {
  for (const [sym, code] of combo.keys) {
    sendKey(sym, code, true);
  }
  for (const [sym, code] of [...combo.keys].reverse()) {
    sendKey(sym, code, false);
  }
}
