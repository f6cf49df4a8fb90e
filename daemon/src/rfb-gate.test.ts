import { afterEach, describe, expect, it, vi } from 'vitest';
import { TICKET_MS, TicketBook } from './rfb-gate';

describe('TicketBook', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a ticket is good once, for its own session, until it expires', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const book = new TicketBook();
    const a = book.issue('a');
    expect(a).not.toBe(book.issue('a'));
    expect(book.take('b', a)).toBe(false);
    expect(book.take('a', a)).toBe(true);
    expect(book.take('a', a)).toBe(false);
    const late = book.issue('a');
    now.mockReturnValue(1_000_000 + TICKET_MS);
    expect(book.take('a', late)).toBe(false);
  });

  it('refuses what is not a ticket, and keeps 16 per session at most', () => {
    const book = new TicketBook();
    const first = book.issue('a');
    for (let i = 0; i < 16; i++) {
      book.issue('a');
    }
    expect(book.take('a', first)).toBe(false);
    const t = book.issue('a');
    for (const bad of ['', 'x', `${t}=`, t.slice(1), `${t} `]) {
      expect(book.take('a', bad)).toBe(false);
    }
    expect(book.take('a', t)).toBe(true);
  });
});
