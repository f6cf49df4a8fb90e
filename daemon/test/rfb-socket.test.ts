// The raw RFB socket (rfb-gate.ts), the stream's one-hop route: what jupyter-server-proxy's
// raw_socket_proxy entry hands it is a plain byte stream, so these tests speak to the socket
// as that entry would pass a browser's bytes on, with real Xtigervnc desktops behind it.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { desktopSize, plainCredentials, RfbTestClient } from './rfb-client';
import {
  exited,
  request,
  requireProgram,
  spawnDaemon,
  startDaemon,
  startSession,
  tmp,
  waitFor,
  waitForState,
  writeProfile,
  type ITestDaemon
} from './helpers';

function profiles(): string {
  const dir = tmp('desktops-profiles-');
  writeProfile(dir, 'test-min', 'echo "display=$DISPLAY"\nexec sleep 600');
  return dir;
}

async function ticket(d: ITestDaemon, id: string): Promise<string> {
  const r = await request(d.socket, 'POST', `/api/sessions/${id}/ticket`);
  expect(r.status).toBe(200);
  return r.json.ticket;
}

/** A raw client through the handshake with a fresh ticket of `id`. */
async function connected(d: ITestDaemon, id: string): Promise<RfbTestClient> {
  const c = await RfbTestClient.openRaw(d.rfbSocket!);
  expect(await c.vencryptPlain(id, await ticket(d, id))).toBe(0);
  return c;
}

/** Resolves once the daemon has closed `c`'s connection. */
async function closedBy(c: RfbTestClient): Promise<void> {
  await expect(c.read(1, 15000)).rejects.toThrow(/connection closed/);
}

describe('the raw RFB socket', () => {
  let d: ITestDaemon;
  let id: string;
  let other: string;
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    d = await startDaemon([profiles()], { rfbSocket: true, maxSessions: 2, handshakeMs: 1000 });
    id = (await startSession(d.socket, { profile: 'test-min', width: 800, height: 600 })).id;
    other = (await startSession(d.socket, { profile: 'test-min', width: 1024, height: 768 })).id;
  });
  afterAll(() => d?.close());

  it('says so in /healthz, and issues tickets of 30 s for a running session only', async () => {
    expect((await request(d.socket, 'GET', '/healthz')).json.rfbSocket).toBe(true);
    const r = await request(d.socket, 'POST', `/api/sessions/${id}/ticket`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ticket: expect.stringMatching(/^[\w-]{32}$/), expiresInMs: 30000 });
    const none = await request(d.socket, 'POST', '/api/sessions/AAAAAAAAAAAAAAAA/ticket');
    expect([none.status, none.json.error.code]).toEqual([404, 'not-found']);
  });

  it("a ticket's session is the desktop reached: its own size, and frames from it", async () => {
    for (const [sid, width, height] of [
      [id, 800, 600],
      [other, 1024, 768]
    ] as const) {
      const c = await connected(d, sid);
      expect(await c.init()).toMatchObject({ width, height });
      const frame = await c.requestFrame(width, height);
      expect(frame.rects).toBeGreaterThan(0);
      expect(frame.first).toMatchObject({ w: width, encoding: 0 });
      c.close();
    }
  });

  it('a ticket is good once, for its own session only', async () => {
    const t = await ticket(d, id);
    const wrongSession = await RfbTestClient.openRaw(d.rfbSocket!);
    expect(await wrongSession.vencryptPlain(other, t)).toMatch(/no valid ticket/);
    await closedBy(wrongSession);
    // Tried against the wrong session, it is not used up: a guess must not spend the owner's.
    const first = await RfbTestClient.openRaw(d.rfbSocket!);
    expect(await first.vencryptPlain(id, t)).toBe(0);
    const again = await RfbTestClient.openRaw(d.rfbSocket!);
    expect(await again.vencryptPlain(id, t)).toMatch(/no valid ticket/);
    await closedBy(again);
    // The first connection is unharmed.
    expect((await first.init()).width).toBe(800);
    first.close();
    const forged = await RfbTestClient.openRaw(d.rfbSocket!);
    expect(await forged.vencryptPlain(id, 'A'.repeat(32))).toMatch(/no valid ticket/);
  });

  it('a client that is not noVNC-like is refused with a reason, and one that stalls is cut off', async () => {
    const v37 = await RfbTestClient.openRaw(d.rfbSocket!);
    await v37.read(12);
    v37.send(Buffer.from('RFB 003.007\n'));
    expect((await v37.read(1))[0]).toBe(0); // no security types, then the reason
    const len = (await v37.read(4)).readUInt32BE(0);
    expect((await v37.read(len)).toString()).toMatch(/RFB 3\.8 only/);
    await closedBy(v37);

    const none = await RfbTestClient.openRaw(d.rfbSocket!);
    await none.read(12);
    none.send(Buffer.from('RFB 003.008\n'));
    await none.read(2);
    none.send([1]); // None, which is not offered
    expect((await none.read(4)).readUInt32BE(0)).toBe(1);
    const why = (await none.read((await none.read(4)).readUInt32BE(0))).toString();
    expect(why).toMatch(/VeNCrypt Plain/);

    const quiet = await RfbTestClient.openRaw(d.rfbSocket!);
    await quiet.read(12);
    await closedBy(quiet); // handshakeMs: 1000
  });

  it('a client that sends more than a handshake holds is cut off', async () => {
    const c = await RfbTestClient.openRaw(d.rfbSocket!);
    await c.read(12);
    c.send(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.alloc(8192, 19)]));
    await closedBy(c);
  });

  it('a client gone while its desktop is reached leaves no connection open', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      const t = await ticket(d, id);
      const c = await RfbTestClient.openRaw(d.rfbSocket!);
      // Everything up to the credentials at once, then gone while the daemon reaches the
      // desktop.
      const hello = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([19, 0, 2])]);
      c.send(Buffer.concat([hello, plainCredentials(id, t)]));
      c.close();
    }
    await waitFor(() => fds() <= before, 5000, 'the connections to close');
  });

  it('keeps the client filter: SetDesktopSize is clamped, input sets the idle clock', async () => {
    const touched = vi.spyOn(d.sessions, 'touch');
    const c = await connected(d, other);
    await c.init();
    // SetEncodings (Raw, ExtendedDesktopSize), then a SetDesktopSize for 16384x16384.
    const encodings = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xcc]);
    c.send(Buffer.concat([encodings, desktopSize(16384, 16384)]));
    c.send([3, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
    let resized: { w: number; h: number } | undefined;
    while (!resized) {
      resized = (await c.readUpdate()).find(u => u.encoding === -308);
      if (!resized) {
        c.send([3, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
      }
    }
    expect(resized).toMatchObject({ w: 1920, h: 1080 });
    c.send([4, 1, 0, 0, 0, 0, 0, 0x61]); // KeyEvent: 'a' down
    await waitFor(() => touched.mock.calls.some(([s, work]) => s === other && work), 5000, 'touch');
    c.close();
    touched.mockRestore();
  });

  it('a desktop that ends closes its raw connections; its tickets are refused after', async () => {
    const c = await connected(d, other);
    await c.init();
    const t = await ticket(d, other);
    expect((await request(d.socket, 'DELETE', `/api/sessions/${other}`)).status).toBe(200);
    await closedBy(c);
    await waitForState(d.socket, other, ['exited']);
    const late = await RfbTestClient.openRaw(d.rfbSocket!);
    expect(await late.vencryptPlain(other, t)).toMatch(/is not running|No such desktop/);
    const none = await request(d.socket, 'POST', `/api/sessions/${other}/ticket`);
    expect(none.json.error.code).toMatch(/not-running|not-found/);
  });
});

describe('a daemon without --rfb-socket', () => {
  let d: ITestDaemon;
  beforeAll(async () => {
    d = await startDaemon([profiles()]);
  });
  afterAll(() => d?.close());

  it('says it has none and issues no tickets', async () => {
    expect((await request(d.socket, 'GET', '/healthz')).json.rfbSocket).toBe(false);
    const r = await request(d.socket, 'POST', '/api/sessions/x/ticket');
    expect([r.status, r.json.error.message]).toEqual([404, 'No such route']);
  });
});

describe('the daemon program with --rfb-socket', () => {
  it('listens there 0600, replacing a stale socket, and removes it when stopped', async () => {
    const dir = tmp('desktops-rfbsock-');
    const sock = join(dir, 'daemon.sock');
    const rfb = join(dir, 'rfb.sock');
    let p = await spawnDaemon(sock, ['--rfb-socket', rfb, '--runtime-dir', join(dir, 'rt')]);
    await waitFor(() => existsSync(rfb), 10000, 'the RFB socket');
    expect(lstatSync(rfb).isSocket() && lstatSync(rfb).mode & 0o777).toBe(0o600);
    expect((await request(sock, 'GET', '/healthz')).json.rfbSocket).toBe(true);
    // Killed: its socket stays behind, and the next daemon listens there all the same.
    p.kill('SIGKILL');
    await exited(p);
    expect(existsSync(rfb)).toBe(true);
    p = await spawnDaemon(sock, ['--rfb-socket', rfb, '--runtime-dir', join(dir, 'rt')]);
    await waitFor(
      async () =>
        await RfbTestClient.openRaw(rfb)
          .then(c => (c.close(), true))
          .catch(() => false),
      10000,
      'a connection'
    );
    p.kill('SIGTERM');
    expect(await exited(p)).toBe(0);
    expect(existsSync(rfb)).toBe(false);
  });
});

describe('--rfb-socket', () => {
  it('goes with --socket', async () => {
    const { parseConfig } = await import('../src/server');
    expect(() => parseConfig(['--tcp', '127.0.0.1:9', '--rfb-socket', '/x'], {})).toThrow(
      /--rfb-socket goes with --socket/
    );
    expect(parseConfig(['--socket', 's', '--rfb-socket', 'r'], {}).rfbSocket).toMatch(/\/r$/);
  });
});
