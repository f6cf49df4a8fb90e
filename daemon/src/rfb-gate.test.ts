import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DesktopReader, TICKET_MS, TicketBook } from './rfb-gate';

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

describe('DesktopReader', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) {
      s.destroy();
    }
    for (const s of servers.splice(0)) {
      s.close();
    }
    for (const d of dirs.splice(0)) {
      rmSync(d, { recursive: true, force: true });
    }
  });

  /** A connected pair of unix sockets: [the side that connected, the side accepted]. */
  async function pair(onread?: DesktopReader['onread']): Promise<[Socket, Socket]> {
    const dir = mkdtempSync(join(tmpdir(), 'desktops-reader-'));
    dirs.push(dir);
    const server = createServer();
    servers.push(server);
    server.listen(join(dir, 's'));
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const near = connect({ path: join(dir, 's'), onread });
    await once(near, 'connect');
    const far = (await accepted)[0];
    sockets.push(near, far);
    return [near, far];
  }

  it('a stalled client gets every byte intact: the one read buffer waits for each write', async () => {
    const reader = new DesktopReader();
    // The desktop's end (what Xtigervnc writes into), and the daemon's, read through `onread`.
    const [daemonSide, desktop] = await pair(reader.onread);
    // The daemon's end towards the client, and the client, which reads nothing for now.
    const [client, toClient] = await pair();
    client.pause();
    reader.pipe(daemonSide, toClient);

    // 16 MiB, each 4-byte word its own offset: any byte read into the buffer again before its
    // write went out shows up as a word out of place.
    const size = 16 << 20;
    const sent = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) {
      sent.writeUInt32LE(i, i);
    }
    desktop.write(sent);
    // The client's kernel buffer is full and one of the daemon's writes waits in Node: the
    // moment a read into the same buffer would overwrite what that write has yet to send.
    await vi.waitFor(() => expect(toClient.writableLength).toBeGreaterThan(0), {
      timeout: 10000
    });

    const got: Buffer[] = [];
    let n = 0;
    client.on('data', (b: Buffer) => {
      got.push(b);
      n += b.length;
    });
    client.resume();
    await vi.waitFor(() => expect(n).toBe(size), { timeout: 20000 });
    const received = Buffer.concat(got);
    let firstBad = -1;
    for (let i = 0; i < size; i += 4) {
      if (received.readUInt32LE(i) !== i) {
        firstBad = i;
        break;
      }
    }
    expect(firstBad, 'the offset of the first word out of place').toBe(-1);
  });
});
