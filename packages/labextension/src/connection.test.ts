// DesktopConnection without any widget (as Lab's terminal connection lives apart from its
// view): it starts a desktop, says each step as a status, resolves `ready` once, and its
// status is all a view needs. Real daemon, real Xtigervnc; noVNC in happy-dom opens nothing,
// so the last step seen is `connecting`.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import { nullTranslator } from '@jupyterlab/translation';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  MINIMAL_SESSION,
  startDaemon,
  writeProfile,
  type ITestDaemon
} from '../../../daemon/test/helpers';
import { RfbTestClient } from '../../../daemon/test/rfb-client';
import { DesktopConnection } from './connection';
import { DEFAULT_SETTINGS } from './settings';
import { serve, TOKEN, TokenWebSocket, type IServed } from './test-serve';

let d: ITestDaemon;
let served: IServed;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'desktops-connection-'));
  writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
  d = await startDaemon([dir], { token: TOKEN });
  served = await serve(d);
});
afterAll(async () => {
  await served?.dispose();
  await d?.close();
  await win.happyDOM.close();
});

function connection(session?: string, via: IServed = served): DesktopConnection {
  const c = new DesktopConnection({
    api: via.api,
    events: via.events,
    profile: { id: 'test-min', title: 'Minimal' },
    trans: nullTranslator.load('jupyterlab_desktops'),
    screen: document.createElement('div') as unknown as HTMLElement,
    size: () => ({ width: 640, height: 480 }),
    session
  });
  c.setSettings(DEFAULT_SETTINGS);
  return c;
}

describe('DesktopConnection, without a view', () => {
  it('starts: starting (not ready), then connecting (ready), with its session known throughout', async () => {
    const c = connection();
    const seen: string[] = [];
    c.statusChanged.connect((_, s) => seen.push(`${s.state}${s.actions.length ? '+' : ''}`));
    let ready = false;
    void c.ready.then(() => (ready = true));
    c.open();
    c.open(); // once only
    await expect.poll(() => c.session?.id).toBeTruthy();
    const id = c.session!.id;
    expect(ready).toBe(false);
    await c.ready;
    expect(d.sessions.get(id)?.state).toBe('running');
    expect(c.status.state).toBe('connecting');
    expect(seen[0]).toBe('starting');
    expect(seen.at(-1)).toBe('connecting');
    expect(d.sessions.live().map(s => s.id)).toEqual([id]);
    await c.stop();
    expect(c.status).toMatchObject({ state: 'ended', message: 'Minimal was stopped' });
    expect(c.status.actions.map(a => a.label)).toEqual(['Restart']);
    c.dispose();
  });

  it('dispose with "stop on close" ends the desktop; the status signal is quiet after it', async () => {
    const running = await d.sessions.start('test-min');
    const c = connection(running.id);
    c.setSettings({ ...DEFAULT_SETTINGS, stopOnClose: true });
    c.open();
    await c.ready;
    let after = 0;
    c.dispose();
    c.statusChanged.connect(() => after++);
    await expect.poll(() => d.sessions.get(running.id)?.state, { timeout: 10_000 }).toBe('exited');
    expect(after).toBe(0);
    expect(c.isDisposed).toBe(true);
  });
});

/**
 * A 2D context that draws nothing, for noVNC's canvas: happy-dom has none (getContext gives
 * null), and noVNC sizes its canvas as the desktop's ServerInit arrives.
 */
function canvasStandIn(): () => void {
  const proto = win.HTMLCanvasElement.prototype as unknown as { getContext: unknown };
  const own = proto.getContext;
  const image = (w: number, h: number) => ({
    data: new Uint8ClampedArray(4 * w * h),
    width: w,
    height: h
  });
  proto.getContext = () =>
    new Proxy({} as Record<string | symbol, unknown>, {
      get: (t, k) =>
        k in t
          ? t[k]
          : k === 'getImageData'
            ? (...a: number[]) => image(a[2], a[3])
            : k === 'createImageData'
              ? (w: number, h: number) => image(w, h)
              : () => undefined,
      set: (t, k, v) => ((t[k] = v), true)
    });
  return () => (proto.getContext = own);
}

describe('the route of the stream (real noVNC, a real WebSocket, a stand-in canvas)', () => {
  let raw: ITestDaemon;
  let rawServed: IServed;
  const pageWebSocket = globalThis.WebSocket;
  let restoreCanvas: () => void;
  beforeAll(async () => {
    restoreCanvas = canvasStandIn();
    const dir = mkdtempSync(join(tmpdir(), 'desktops-connection-raw-'));
    writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
    raw = await startDaemon([dir], { token: TOKEN, rfbSocket: true });
    rawServed = await serve(raw);
    globalThis.WebSocket = TokenWebSocket;
  });
  afterAll(async () => {
    restoreCanvas();
    globalThis.WebSocket = pageWebSocket;
    await rawServed?.dispose();
    await raw?.close();
  });

  it('where the daemon has a raw RFB socket: there, with a ticket for this desktop', async () => {
    const running = await raw.sessions.start('test-min');
    const c = connection(running.id, rawServed);
    c.open();
    await expect.poll(() => c.status.state, { timeout: 10_000 }).toBe('connected');
    const rfb = c.rfb as unknown as { _url: string; _rfbCredentials: Record<string, string> };
    expect(rfb._url).toBe(rawServed.api.rawRfbUrl());
    expect(rfb._url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/desktops-rfb\/$/);
    expect(rfb._rfbCredentials.username).toBe(running.id);
    // Used: the same ticket does not open the desktop again.
    const again = await RfbTestClient.openRaw(raw.rfbSocket!);
    expect(await again.vencryptPlain(running.id, rfb._rfbCredentials.password)).toMatch(
      /no valid ticket/
    );
    c.dispose();
  });

  it('where the raw route does not get through (a proxy without it): the WebSocket route after', async () => {
    const noRaw = await serve(raw, 0, false);
    const running = await raw.sessions.start('test-min');
    const c = connection(running.id, noRaw);
    const tried = vi.spyOn(noRaw.api, 'rawRfbUrl');
    c.open();
    await expect.poll(() => c.status.state, { timeout: 15_000 }).toBe('connected');
    expect(tried).toHaveBeenCalledTimes(1);
    expect((c.rfb as unknown as { _url: string })._url).toBe(noRaw.api.rfbUrl(running.id));
    expect(await noRaw.api.rawRfb()).toBe(false);
    await c.stop();
    c.dispose();
    await noRaw.dispose();
  });

  it('where it has none: the WebSocket route, without credentials', async () => {
    const running = await d.sessions.start('test-min');
    const c = connection(running.id);
    c.open();
    await expect.poll(() => c.status.state, { timeout: 10_000 }).toBe('connected');
    const rfb = c.rfb as unknown as { _url: string; _rfbCredentials: Record<string, string> };
    expect([rfb._url, rfb._rfbCredentials]).toEqual([served.api.rfbUrl(running.id), {}]);
    await c.stop();
    c.dispose();
  });
});
