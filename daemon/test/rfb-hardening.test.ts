// The bridge's defences against a hostile client, through the real daemon to the real
// Xtigervnc: a SetDesktopSize hidden behind a version string the server reads differently from
// a naive filter, clipboard text in one-byte frames, and more tabs at once than the RFB
// socket's listen queue holds.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RfbClientFilter } from '../src/rfb-filter';
import { desktopSize, RfbTestClient } from './rfb-client';
import {
  displayOf,
  request,
  requireProgram,
  startDaemon,
  startSession,
  tmp,
  type ITestDaemon,
  waitFor,
  writeProfile,
  xvncOf
} from './helpers';

/** startDaemon's maximum geometry. */
const MAX = { width: 1920, height: 1080 };
const START = { width: 800, height: 600 };

function profiles(): string {
  const dir = tmp('desktops-profiles-');
  writeProfile(dir, 'test-min', 'echo "display=$DISPLAY"\nexec sleep 600');
  return dir;
}

async function startMinimal(d: ITestDaemon): Promise<string> {
  const s = await startSession(d.socket, { profile: 'test-min', ...START });
  expect(s.state).toBe('running');
  return s.id;
}

/**
 * What a client sends right after ClientInit to hide a SetDesktopSize for 16384x16384 from a
 * filter one byte ahead of the server (one taking the first message's type for a handshake
 * byte, as a filter reading 3.5 as 3.7 did): SetEncodings (Raw, ExtendedDesktopSize) with its
 * padding byte reading as a PointerEvent to that filter, the request, then 3 bytes of clipboard
 * text, so that the filter frames the lot as two SetPixelFormats and both framings meet again.
 */
function hiddenDesktopSize(): Buffer {
  return Buffer.concat([
    Buffer.from([2, 5, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xcc]),
    desktopSize(16384, 16384),
    Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63])
  ]);
}

/** SetEncodings: Raw, and ExtendedDesktopSize to hear of layout changes. */
const ENCODINGS = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xcc]);

/**
 * The answer to `c`'s SetDesktopSize (an ExtendedDesktopSize of reason 1, after ENCODINGS): its
 * result and the framebuffer's size. The first update asked for comes at once, the later ones
 * when something changes.
 */
async function resizeResult(
  c: RfbTestClient
): Promise<{ status: number; width: number; height: number }> {
  for (let incremental = 0; ; incremental = 1) {
    c.send([3, incremental, 0, 0, 0, 0, 0, 1, 0, 1]); // FramebufferUpdateRequest, 1x1
    const r = (await c.readUpdate()).find(u => u.encoding === -308 && u.x === 1);
    if (r) {
      return { status: r.y, width: r.w, height: r.h };
    }
  }
}

/** The framebuffer's size now, from a new connection's ServerInit. */
async function framebuffer(d: ITestDaemon, id: string): Promise<{ width: number; height: number }> {
  const c = await RfbTestClient.open(d.socket, id);
  const { width, height } = await c.handshake();
  c.close();
  return { width, height };
}

async function resize(d: ITestDaemon, id: string, width: number, height: number): Promise<void> {
  const c = await RfbTestClient.open(d.socket, id);
  await c.handshake();
  c.send(Buffer.concat([ENCODINGS, desktopSize(width, height)]));
  expect(await resizeResult(c)).toEqual({ status: 0, width, height });
  c.close();
}

// What TigerVNC 1.12 makes of each 12-byte version (SConnection::processVersionMsg; every
// mapping is in daemon/src/rfb-filter.test.ts).
const VERSIONS: [string, 3 | 7 | 8][] = [
  ['RFB 003.003\n', 3],
  ['RFB 003.007\n', 7],
  ['RFB 003.008\n', 8],
  ['RFB 003.000\n', 3],
  ['RFB 003.005\n', 3],
  ['RFB 003.006\n', 3],
  ['RFB 003.889\n', 8],
  ['RFB 003.-01\n', 3],
  ['RFB \t 3.\n 7\n', 7],
  ['RFB 3.8\nabcd', 8],
  ['RFB 3.7\x00\x05\x06\x07\x08', 7]
];

describe('a SetDesktopSize right after the handshake, whatever version the client claims', () => {
  let d: ITestDaemon;
  let id: string;
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    d = await startDaemon([profiles()]);
    id = await startMinimal(d);
  });
  afterAll(() => d?.close());

  for (const [version, minor] of VERSIONS) {
    it(`${JSON.stringify(version)} (3.${minor} to Xtigervnc): 16384x16384 is clamped to the maximum`, async () => {
      await resize(d, id, START.width, START.height);
      const c = await RfbTestClient.open(d.socket, id);
      await c.handshakeAs(Buffer.from(version, 'latin1'), minor, hiddenDesktopSize());
      // Made, and clamped: 1920x1080x4 bytes is 8 MiB, 16384x16384 would be 1 GiB.
      expect(await resizeResult(c)).toEqual({ status: 0, ...MAX });
      c.close();
      expect(await framebuffer(d, id)).toEqual(MAX);
    });
  }

  for (const version of ['RFB 004.000\n', 'RFB 002.008\n']) {
    it(`${JSON.stringify(version)}, which Xtigervnc refuses, closes that connection (1002) and nothing changes`, async () => {
      await resize(d, id, START.width, START.height);
      const c = await RfbTestClient.open(d.socket, id);
      await c.read(12);
      c.send(Buffer.from(version, 'latin1'));
      await expect(c.read(1)).rejects.toThrow(/connection closed \(1002 /);
      expect(await framebuffer(d, id)).toEqual(START);
    });
  }

  it('a SetDesktopSize from a client that cannot hear its result closes that connection (1002); Xtigervnc lives on', async () => {
    // Xtigervnc 1.12 would make the change, then crash (SIGSEGV) writing the result.
    await resize(d, id, START.width, START.height);
    const c = await RfbTestClient.open(d.socket, id);
    await c.handshake();
    c.send(desktopSize(1024, 768));
    await expect(c.read(1)).rejects.toThrow(
      /connection closed \(1002 SetDesktopSize from a client without DesktopSize/
    );
    expect(await framebuffer(d, id)).toEqual(START);
    expect((await request(d.socket, 'GET', `/api/sessions/${id}`)).json.state).toBe('running');
  });
});

describe('clipboard text in tiny frames', () => {
  let d: ITestDaemon;
  let id: string;
  let x: Record<string, string>;
  /** The most bytes any bridge's filter held back, and whether it went past the bound. */
  let held = 0;
  let overflow: (err: Error) => void = () => undefined;
  const overflowed = new Promise<never>((_, reject) => (overflow = reject));
  overflowed.catch(() => undefined);

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    requireProgram('xclip', 'xclip');
    d = await startDaemon([profiles()]);
    id = await startMinimal(d);
    x = {
      PATH: process.env.PATH!,
      DISPLAY: `:${await displayOf(d.socket, id)}`,
      XAUTHORITY: join(d.runtimeDir, id, 'Xauthority')
    };
    const push = RfbClientFilter.prototype.push;
    vi.spyOn(RfbClientFilter.prototype, 'push').mockImplementation(function (
      this: RfbClientFilter,
      chunk: Buffer
    ) {
      const out = push.call(this, chunk);
      held = Math.max(held, this.pending);
      if (this.pending > 64) {
        // At once: a filter holding the text costs quadratic time to get to its end.
        overflow(new Error(`the filter holds ${this.pending} bytes`));
      }
      return out;
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await d?.close();
  });

  /** The X server's CLIPBOARD selection, as an X client reads it ('' while it has none). */
  async function clipboard(): Promise<string> {
    try {
      const r = await promisify(execFile)('xclip', ['-o', '-selection', 'clipboard'], {
        env: x,
        encoding: 'latin1',
        maxBuffer: 4 << 20
      });
      return r.stdout;
    } catch {
      return '';
    }
  }

  function cutText(text: string): Buffer {
    const head = Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]);
    head.writeUInt32BE(text.length, 4);
    return Buffer.concat([head, Buffer.from(text, 'latin1')]);
  }

  function text(length: number): string {
    let s = '';
    for (let i = 0; s.length < length; i++) {
      s += `${i.toString(36)} `;
    }
    return s.slice(0, length);
  }

  /** GET /healthz over and over until stopped; the statuses. */
  function keepAsking(): () => Promise<number[]> {
    let stop = false;
    const statuses: number[] = [];
    const asking = (async () => {
      while (!stop) {
        statuses.push((await request(d.socket, 'GET', '/healthz')).status);
      }
    })();
    return async () => {
      stop = true;
      await asking;
      return statuses;
    };
  }

  // Xtigervnc takes clipboard text up to its MaxCutText, 256 KiB, and logs what it drops: a
  // marker sent after a longer text shows the stream stayed framed to its last byte.
  for (const [length, frame] of [
    [256 * 1024, 1],
    [300_000, 1],
    [1_000_000, 16]
  ]) {
    it(`${length} bytes of clipboard text in ${frame}-byte WebSocket messages reach Xtigervnc, the daemon answering all along`, async () => {
      held = 0;
      const c = await RfbTestClient.open(d.socket, id);
      await c.handshake();
      const sent = text(length);
      const marker = `marker after ${length}`;
      const expected = length <= 256 * 1024 ? sent : marker;
      const stopAsking = keepAsking();
      const msg = cutText(sent);
      for (let at = 0; at < msg.length; at += frame) {
        c.ws.send(msg.subarray(at, at + frame));
      }
      if (expected === marker) {
        c.send(cutText(marker));
      }
      await Promise.race([
        overflowed,
        waitFor(async () => (await clipboard()) === expected, 50000, 'the text in the clipboard')
      ]);
      const statuses = await stopAsking();
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.every(s => s === 200)).toBe(true);
      if (expected === marker) {
        const log = (await request(d.socket, 'GET', `/api/sessions/${id}/log`)).json.text;
        expect(log).toContain(`Cut text too long (${length} bytes) - ignoring`);
      }
      expect(held).toBeLessThanOrEqual(64);
      c.close();
    });
  }
});

describe('more tabs at once than the RFB socket listen queue holds', () => {
  let d: ITestDaemon;
  let id: string;
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    d = await startDaemon([profiles()]);
    id = await startMinimal(d);
  });
  afterAll(() => d?.close());

  it('300 WebSockets opened at once to one desktop, busy for a moment: every one gets the server greeting', async () => {
    // Stopped, Xtigervnc accepts nobody and its socket's listen queue (5) fills at once, as it
    // does when a busy server meets a burst of tabs: every connect after the first six fails.
    const xvnc = xvncOf(id).pid;
    process.kill(xvnc, 'SIGSTOP');
    let clients: RfbTestClient[] = [];
    try {
      clients = await Promise.all(
        Array.from({ length: 300 }, () => RfbTestClient.open(d.socket, id))
      );
    } finally {
      process.kill(xvnc, 'SIGCONT');
    }
    try {
      const greetings = await Promise.all(
        clients.map(c =>
          c.read(12).then(
            b => b.toString('latin1'),
            (err: Error) => err.message
          )
        )
      );
      const tally: Record<string, number> = {};
      for (const g of greetings) {
        tally[g] = (tally[g] ?? 0) + 1;
      }
      expect(tally).toEqual({ 'RFB 003.008\n': 300 });
    } finally {
      for (const c of clients) {
        c.close();
      }
      await waitFor(() => clients.every(c => c.closed), 10000, 'every WebSocket to close');
    }
  });

  it('what a client sends before the desktop takes its connection reaches the desktop once it does', async () => {
    const xvnc = xvncOf(id).pid;
    process.kill(xvnc, 'SIGSTOP');
    let clients: RfbTestClient[] = [];
    try {
      clients = await Promise.all(
        Array.from({ length: 20 }, () => RfbTestClient.open(d.socket, id))
      );
      for (const c of clients) {
        c.send(Buffer.from('RFB 003.008\n'));
      }
    } finally {
      process.kill(xvnc, 'SIGCONT');
    }
    try {
      // The server offers its security types only after it has read the client's version.
      const answers = await Promise.all(
        clients.map(async c => {
          const greeting = (await c.read(12)).toString('latin1');
          const types = [...(await c.read((await c.read(1))[0]))];
          return { greeting, types };
        })
      );
      expect(answers).toEqual(clients.map(() => ({ greeting: 'RFB 003.008\n', types: [1] })));
    } finally {
      for (const c of clients) {
        c.close();
      }
      await waitFor(() => clients.every(c => c.closed), 10000, 'every WebSocket to close');
    }
  });
});
