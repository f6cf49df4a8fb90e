// DesktopWidget's states and messages, against the real daemon (its Fastify app on loopback,
// token mode, real Xtigervnc sessions) and a happy-dom document. What needs a real browser
// (noVNC drawing, clipboard, keys) is tested in ui-tests/ with Chromium.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
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
import { DesktopsAPI } from './api';
import type { SessionStream } from './events';
import { serve, stream, TOKEN, type IServed } from './test-serve';
import { DesktopWidget } from './widget';

let d: ITestDaemon;
let served: IServed;
let api: DesktopsAPI;
let events: SessionStream;
let profileDir: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'desktops-widget-'));
  writeProfile(dir, 'test-quick-exit', 'echo "this app gives up" >&2\nexit 4', {
    title: 'Quits <i>fast</i>'
  });
  writeProfile(dir, 'test-min', MINIMAL_SESSION);
  profileDir = dir;
  d = await startDaemon([dir], { token: TOKEN });
  served = await serve(d);
  ({ api, events } = served);
});
afterAll(async () => {
  await served?.dispose();
  await d?.close();
  await win.happyDOM.close();
});

const TEST_MIN = { id: 'test-min', title: 'Test test-min', description: '' };

/** A widget as a tab shows it: sized, attached, started (or attached to a session), ready. */
async function shown(options: Partial<DesktopWidget.IOptions>): Promise<DesktopWidget> {
  const w = new DesktopWidget({ api, events, profile: TEST_MIN, ...options });
  Object.defineProperty(w.node, 'clientWidth', { value: 800 });
  Object.defineProperty(w.node, 'clientHeight', { value: 600 });
  Widget.attach(w, document.body as unknown as HTMLElement);
  w.update();
  await w.ready;
  return w;
}

const message = (w: Widget): string | null | undefined =>
  w.node.querySelector('.jp-Desktops-message')?.textContent;
const buttons = (w: Widget): string[] =>
  [...w.node.querySelectorAll('.jp-Desktops-actions button')].map(b => b.textContent ?? '');

describe('DesktopWidget with the real daemon', () => {
  it('a start that fails says why, as text, with the log and Retry', async () => {
    const w = await shown({
      profile: { id: 'test-quick-exit', title: 'Quits <i>fast</i>', description: '' }
    });
    // It may run for a moment first (`running` comes as its X server answers): its end, and
    // then its log, follow.
    await expect
      .poll(() => w.node.querySelector('.jp-Desktops-log')?.textContent, { timeout: 10000 })
      .toContain('this app gives up');
    expect(w.state).toBe('failed');
    expect(message(w)).toMatch(/^Quits <i>fast<\/i> did not start: its start script exited/);
    expect(w.node.querySelector('.jp-Desktops-message i')).toBeNull();
    expect(buttons(w)).toEqual(['Retry']);
    w.dispose();
  });

  it('a restored tab whose desktop is gone offers a new one instead of starting it', async () => {
    const w = await shown({
      profile: { id: 'xfce', title: 'XFCE', description: '' },
      session: 'AAAAAAAAAAAAAAAA'
    });
    expect(w.state).toBe('ended');
    expect(message(w)).toBe('This XFCE desktop is no longer running.');
    expect(buttons(w)).toEqual(['Start a new one']);
    expect(d.sessions.live()).toEqual([]);
    w.dispose();
  });

  it('a replaced desktop names its successor and offers to go to it', async () => {
    const first = await d.sessions.start('test-min', { width: 640, height: 480 });
    const second = await d.sessions.start('test-min', { width: 640, height: 480 });
    const w = await shown({ session: first.id });
    const wanted: unknown[] = [];
    w.goTo.connect((_, target) => wanted.push(target));
    expect(message(w)).toBe('This desktop was replaced by Test test-min.');
    expect(buttons(w)).toEqual(['Go to Test test-min', 'Restart']);
    (w.node.querySelector('.jp-Desktops-actions button') as HTMLButtonElement).click();
    expect(wanted).toEqual([{ profile: 'test-min', session: second.id }]);
    w.dispose();
    await d.sessions.stop(second.id);
  });

  it('"stop on close": closing the tab stops its desktop; without it, the desktop stays', async () => {
    const stop = vi.spyOn(api, 'stop');
    for (const stopOnClose of [false, true]) {
      stop.mockClear();
      const s = await d.sessions.start('test-min', { width: 640, height: 480 });
      const w = await shown({ session: s.id, settings: { stopOnClose } });
      expect(w.session?.id).toBe(s.id);
      w.dispose();
      if (stopOnClose) {
        expect(stop).toHaveBeenCalledWith(s.id);
        await expect.poll(() => d.sessions.get(s.id)?.state, { timeout: 10_000 }).toBe('exited');
        expect(d.sessions.get(s.id)?.exit?.code).toBe('stopped');
      } else {
        // A closing tab asks at once, or not at all.
        expect(stop).not.toHaveBeenCalled();
        expect((await api.session(s.id)).state).toBe('running');
        await d.sessions.stop(s.id);
      }
    }
    stop.mockRestore();
  });

  it('attaching to a desktop that is still starting waits for it instead of calling it ended', async () => {
    const starting = d.sessions.start('test-min', { width: 640, height: 480 });
    const s = await expect
      .poll(() => d.sessions.list().find(x => x.state === 'starting'), { interval: 5 })
      .toBeDefined()
      .then(() => d.sessions.list().find(x => x.state === 'starting')!);
    const w = await shown({ session: s.id });
    expect(w.session).toMatchObject({ id: s.id, state: 'running' });
    expect(w.state).not.toBe('ended');
    w.dispose();
    await d.sessions.stop((await starting).id);
  });

  it('Restart ends the desktop of its own tab, never that of another, where several may run', async () => {
    const d2 = await startDaemon([profileDir], { token: TOKEN, maxSessions: 2 });
    const second = await serve(d2);
    try {
      const other = await d2.sessions.start('test-min', { width: 640, height: 480 });
      const mine = await d2.sessions.start('test-min', { width: 640, height: 480 });
      const w = await shown({ api: second.api, events: second.events, session: mine.id });
      expect(w.session?.id).toBe(mine.id);
      w.restart();
      await expect
        .poll(() => w.session?.id, { timeout: 20_000 })
        .toSatisfy(id => !!id && id !== mine.id);
      expect(d2.sessions.get(mine.id)?.exit?.code).toBe('stopped');
      expect(d2.sessions.get(other.id)?.state).toBe('running');
      expect(
        d2.sessions
          .live()
          .map(x => x.id)
          .sort()
      ).toEqual([other.id, w.session!.id].sort());
      w.dispose();
    } finally {
      await second.dispose();
      await d2.close();
    }
  });

  it('a running desktop whose stream never opens says why after two tries, not after minutes', async () => {
    const s = await d.sessions.start('test-min', { width: 640, height: 480 });
    // A proxy that drops the upgrade headers: the daemon saw a plain GET for the stream.
    const plain = await fetch(api.url(`api/sessions/${s.id}/rfb`), {
      headers: { Authorization: `token ${TOKEN}` }
    });
    expect(plain.status).toBe(400);
    // REST reaches the daemon; WebSockets go nowhere (a refused port).
    const broken = new DesktopsAPI(
      ServerConnection.makeSettings({
        baseUrl: api.settings.baseUrl,
        wsUrl: 'ws://127.0.0.1:1/',
        token: TOKEN,
        fetch: (...a: Parameters<typeof fetch>) => fetch(...a)
      })
    );
    // happy-dom's WebSocket opens nothing: a real one (ws), refused as a browser's would be.
    const dom = globalThis.WebSocket;
    globalThis.WebSocket = (await import('ws')).WebSocket as unknown as typeof WebSocket;
    const states: string[] = [];
    try {
      const brokenEvents = stream(broken);
      const w = await shown({ api: broken, events: brokenEvents, session: s.id });
      w.stateChanged.connect((_, state) => states.push(state));
      await expect.poll(() => w.state, { timeout: 20_000 }).toBe('disconnected');
      expect(states.filter(x => x === 'reconnecting')).toHaveLength(1);
      expect(message(w)).toMatch(
        /^This desktop's stream was asked for without its WebSocket headers/
      );
      expect(buttons(w)).toEqual(['Retry']);
      w.dispose();
      brokenEvents.dispose();
    } finally {
      globalThis.WebSocket = dom;
      await d.sessions.stop(s.id);
    }
  });

  it('settings apply to the tab at once', () => {
    const w = new DesktopWidget({
      api,
      events,
      profile: { id: 'xfce', title: 'XFCE', description: '' }
    });
    w.setSettings({ resize: 'scale', quality: 3 });
    expect(w.settings).toMatchObject({ resize: 'scale', quality: 3 });
    expect(w.node.dataset.resize).toBe('scale');
    w.dispose();
  });
});
