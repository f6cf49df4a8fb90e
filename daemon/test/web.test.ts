// The web side under attack and abuse: authentication on every route, Origin checks before
// the upgrade, oversized and garbage WebSocket traffic, and desktop resizes beyond the limit.
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routePath } from '@jupyterlab-desktops/protocol';
import { desktopSize, RfbTestClient } from './rfb-client';
import {
  request,
  requireProgram,
  startDaemon,
  startSession,
  tmp,
  type ITestDaemon,
  writeProfile,
  xvncOf
} from './helpers';

const TOKEN = 'web-test-token-4d9b0c1e';
const auth = { authorization: `token ${TOKEN}` };

/** Opens the RFB route; resolves with the HTTP status of a refused upgrade, or the socket. */
function upgrade(
  d: ITestDaemon,
  id: string,
  headers: Record<string, string>
): Promise<number | WebSocket> {
  const ws = new WebSocket(`ws+unix://${d.socket}:/api/sessions/${id}/rfb`, {
    headers,
    perMessageDeflate: false
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise(resolve =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  );
}

function xvncRssKiB(id: string): number {
  const { pid } = xvncOf(id);
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]);
}

describe('the web side', () => {
  let d: ITestDaemon;
  let id: string;

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    const dir = tmp();
    writeProfile(dir, 'test-min', 'exec sleep 600');
    d = await startDaemon([dir], { token: TOKEN });
    const s = await startSession(
      d.socket,
      { profile: 'test-min', width: 800, height: 600 },
      { headers: auth }
    );
    expect(s.state).toBe('running');
    id = s.id;
  });
  afterAll(() => d?.close());

  it('every route of the protocol refuses a request without the token, or with a wrong one, with 401, changing nothing', async () => {
    const checked: string[] = [];
    for (const route of Object.values(ROUTES)) {
      const path = `/${routePath(route, { id: route.startsWith(ROUTES.profiles) ? 'xfce' : id })}`;
      for (const method of ['GET', 'POST', 'PUT', 'DELETE'] as const) {
        if (!d.app.hasRoute({ method, url: route })) {
          continue;
        }
        const body =
          method === 'POST'
            ? { profile: 'test-min' }
            : method === 'PUT'
              ? { width: 800, height: 600 }
              : undefined;
        for (const headers of [{}, { authorization: 'token nope' }]) {
          const r = await request(d.socket, method, path, body, headers);
          expect(r.status, `${method} ${path}`).toBe(401);
          expect(r.json.error.code).toBe('unauthorized');
        }
        checked.push(`${method} ${route}`);
      }
    }
    // Every route the daemon serves, the RFB stream and the event stream included (refused
    // before the upgrade).
    expect(checked).toHaveLength(13);
    expect(checked).toContain(`GET ${ROUTES.events}`);
    expect(checked).toContain(`PUT ${ROUTES.spare}`);
    expect(d.sessions.live().map(s => s.id)).toEqual([id]);
    // No X server was started ahead either: the session's directory is the only one.
    expect(readdirSync(d.runtimeDir)).toEqual([id]);
  });

  it('the WebSocket route refuses a missing token (401) and a foreign Origin (403) before the upgrade', async () => {
    expect(await upgrade(d, id, {})).toBe(401);
    expect(
      await upgrade(d, id, { ...auth, host: 'lab.example.org', origin: 'https://evil.example.com' })
    ).toBe(403);
    const ok = await upgrade(d, id, {
      ...auth,
      host: 'lab.example.org',
      origin: 'https://lab.example.org'
    });
    expect(ok).toBeInstanceOf(WebSocket);
    (ok as WebSocket).close();
  });

  it('a refused request is answered once its body is in: a proxy sending the body after the head gets the answer, not a broken pipe', async () => {
    // What jupyter-server-proxy does behind nginx: "Connection: close" passed on, the body
    // written after the head. Answering first and closing made the proxy's write fail (500).
    const body = '{"profile":"test-min"}';
    const cases: [string, Record<string, string>, number][] = [
      ['no token', { 'content-type': 'application/json' }, 401],
      [
        'a Host without its port',
        { ...auth, 'content-type': 'application/json', origin: 'https://hub.example.org:8443' },
        403
      ],
      ['a form body', { ...auth, 'content-type': 'text/plain' }, 415]
    ];
    for (const [why, headers, status] of cases) {
      const head = Object.entries({
        host: 'hub.example.org',
        connection: 'close',
        'content-length': String(body.length),
        ...headers
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      const sock = createConnection({ path: d.socket, allowHalfOpen: true });
      const reply: Buffer[] = [];
      sock.on('data', c => reply.push(c));
      const ended = new Promise(r => sock.once('end', r));
      let writeError: Error | undefined;
      sock.on('error', err => (writeError = err));
      sock.write(`POST /api/sessions HTTP/1.1\r\n${head}\r\n`);
      // A whole request on another connection, sent after this head, is answered first: the
      // daemon has read the head by then.
      expect((await request(d.socket, 'GET', '/healthz', undefined, auth)).status).toBe(200);
      // Nothing back yet: an answer (and its close) before the body is what broke the proxy.
      expect(Buffer.concat(reply).toString('latin1'), `${why}: answered before the body`).toBe('');
      sock.write(body);
      await ended;
      sock.destroy();
      expect(writeError, why).toBeUndefined();
      expect(Buffer.concat(reply).toString('latin1'), why).toMatch(
        new RegExp(`^HTTP/1.1 ${status} `)
      );
    }
    expect(d.sessions.live().map(s => s.id)).toEqual([id]);
  });

  it('a stream request stripped of its WebSocket headers by a proxy: the session says why until a tab connects', async () => {
    const plain = await request(d.socket, 'GET', `/api/sessions/${id}/rfb`, undefined, auth);
    expect(plain.status).toBe(400);
    const said = (await request(d.socket, 'GET', `/api/sessions/${id}`, undefined, auth)).json;
    expect(said.connectProblem).toMatch(
      /^This desktop's stream was asked for without its WebSocket headers: .*proxy_set_header Upgrade \$http_upgrade;/
    );
    const ws = (await upgrade(d, id, auth)) as WebSocket;
    const after = (await request(d.socket, 'GET', `/api/sessions/${id}`, undefined, auth)).json;
    expect(after.connectProblem).toBeUndefined();
    ws.close();
  });

  it('a message over the size limit closes that connection with 1009; the desktop stays', async () => {
    const ws = (await upgrade(d, id, auth)) as WebSocket;
    const done = closed(ws);
    ws.send(Buffer.alloc(2 << 20));
    expect((await done).code).toBe(1009);
    const again = await RfbTestClient.open(d.socket, id, auth);
    expect((await again.handshake()).width).toBe(800);
    again.close();
  });

  it('garbage and truncated RFB close that connection only', async () => {
    const ws = (await upgrade(d, id, auth)) as WebSocket;
    const done = closed(ws);
    ws.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect((await done).code).toBe(1002);
    const c = await RfbTestClient.open(d.socket, id, auth);
    await c.handshake();
    const bad = closed(c.ws);
    c.send([99, 1, 2, 3]);
    expect((await bad).code).toBe(1002);
    const t = await RfbTestClient.open(d.socket, id, auth);
    await t.handshake();
    t.send([4, 1, 0]); // a KeyEvent cut short, then the client goes away
    t.close();
    const after = await RfbTestClient.open(d.socket, id, auth);
    expect((await after.handshake()).name).toBe('Test test-min');
    after.close();
    expect(d.sessions.get(id)?.state).toBe('running');
  });

  it('clamps a client SetDesktopSize to the site maximum, and Xtigervnc stays small', async () => {
    const c = await RfbTestClient.open(d.socket, id, auth);
    await c.handshake();
    c.send([2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xcc]); // SetEncodings: Raw, ExtendedDesktopSize
    const req = Buffer.alloc(10);
    req.writeUInt8(3, 0);
    req.writeUInt16BE(800, 6);
    req.writeUInt16BE(600, 8);
    c.send(req);
    await c.readUpdate();
    c.send(desktopSize(16384, 16384));
    let result: { x: number; y: number; w: number; h: number } | undefined;
    for (let i = 0; i < 10 && !result; i++) {
      c.send(Buffer.concat([Buffer.from([3, 1]), req.subarray(2)]));
      result = (await c.readUpdate()).find(r => r.encoding === -308 && r.x === 1);
    }
    // Reason 1: the change this client asked for; status 0: done, at the clamped size.
    expect(result).toMatchObject({ x: 1, y: 0, w: 1920, h: 1080 });
    // 1920x1080x4 bytes is 8 MiB; 16384x16384 would have been 1 GiB.
    expect(xvncRssKiB(id)).toBeLessThan(256 * 1024);
    c.close();
  });
});
