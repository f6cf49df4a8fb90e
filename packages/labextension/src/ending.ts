// Which desktops a start would end, and which of them may hold work: what confirm.ts asks
// about (no Lab imports here, so the rules are tested alone).
import { isLive, type Session, type SessionList } from '@jupyterlab-desktops/protocol';

/** The desktops one more start ends: the oldest live ones past the limit. */
export function replacedByStart(list: SessionList): Session[] {
  const live = list.sessions.filter(isLive).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return live.slice(0, Math.max(0, live.length + 1 - list.maxSessions));
}

/** Whether a live desktop had keys, a mouse button or clipboard text from a tab. */
export function wasUsed(s: Session): boolean {
  return isLive(s) && !!s.lastInputAt;
}
