// Which desktops a start would end, and which of them the user is asked about.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import type { Session } from '@jupyterlab-desktops/protocol';
import { afterAll, describe, expect, it } from 'vitest';

afterAll(async () => {
  await win.happyDOM.close();
});

const { replacedByStart, wasUsed } = await import('./ending');

const session = (id: string, startedAt: string, more: Partial<Session> = {}): Session => ({
  id: id.padEnd(16, 'x'),
  profile: 'xfce',
  title: id,
  state: 'running',
  width: 1280,
  height: 800,
  startedAt,
  ...more
});

describe('which desktops a start ends', () => {
  const a = session('a', '2026-12-02T10:00:00.000Z');
  const b = session('b', '2026-12-02T11:00:00.000Z');
  const gone = session('c', '2026-12-02T09:00:00.000Z', { state: 'exited' });

  it('none below the limit; at it, the oldest live ones, as the daemon replaces them', () => {
    expect(replacedByStart({ sessions: [a], maxSessions: 2 })).toEqual([]);
    expect(replacedByStart({ sessions: [b, gone, a], maxSessions: 1 })).toEqual([a, b]);
    expect(replacedByStart({ sessions: [b, a], maxSessions: 2 })).toEqual([a]);
  });

  it('asks only for a live desktop that had keys, clicks or clipboard text', () => {
    expect(wasUsed(a)).toBe(false);
    expect(wasUsed({ ...a, lastInputAt: '2026-12-02T10:01:00.000Z' })).toBe(true);
    expect(wasUsed({ ...gone, lastInputAt: '2026-12-02T10:01:00.000Z' })).toBe(false);
  });
});
