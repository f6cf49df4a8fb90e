// The page's event stream (SessionStream) and the tabs that follow it, against real daemons
// served on loopback: what a tab learns without asking, and what happens when the stream
// drops, the daemon behind it restarts, or the tab closes.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import type { Session } from '@jupyterlab-desktops/protocol';
import { Widget } from '@lumino/widgets';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  MINIMAL_SESSION,
  startDaemon,
  writeProfile,
  type ITestDaemon
} from '../../../daemon/test/helpers';
import type { SessionStream } from './events';
import { serve, TOKEN, type IServed } from './test-serve';
import { DesktopWidget } from './widget';

const TEST_MIN = { id: 'test-min', title: 'Minimal', description: '' };
let dir: string;
let d: ITestDaemon;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'desktops-events-'));
  writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
  d = await startDaemon([dir], { token: TOKEN });
});
afterEach(async () => {
  while (cleanup.length) {
    await cleanup.pop()!();
  }
});
afterAll(async () => {
  await d?.close();
  await win.happyDOM.close();
});

async function served(daemon = d, port = 0): Promise<IServed> {
  const s = await serve(daemon, port);
  cleanup.push(() => s.dispose());
  return s;
}

/** Every change the stream tells, as `id state` (`id gone` for a forgotten session). */
function record(events: SessionStream): string[] {
  const seen: string[] = [];
  events.changed.connect((_, c) => seen.push(`${c.id} ${c.session?.state ?? 'gone'}`));
  return seen;
}

function shown(events: SessionStream, s: IServed, session?: string): DesktopWidget {
  const w = new DesktopWidget({ api: s.api, events, profile: TEST_MIN, session });
  Object.defineProperty(w.node, 'clientWidth', { value: 800 });
  Object.defineProperty(w.node, 'clientHeight', { value: 600 });
  Widget.attach(w, document.body as unknown as HTMLElement);
  w.update();
  cleanup.push(async () => w.dispose());
  return w;
}

const message = (w: Widget): string | null | undefined =>
  w.node.querySelector('.jp-Desktops-message')?.textContent;

describe('SessionStream', () => {
  it('starts in step with a snapshot, then tells each change as it happens', async () => {
    const s = await served();
    await s.events.synced();
    expect(s.events.connected).toBe(true);
    const seen = record(s.events);
    const started = await d.sessions.start('test-min');
    // Told over the socket, a moment after the daemon knows.
    await s.events.until(started.id, x => x?.state === 'running');
    expect(seen).toEqual([`${started.id} starting`, `${started.id} running`]);
    expect(s.events.get(started.id)?.state).toBe('running');
    const ended = s.events.until(started.id, x => x?.state === 'exited');
    await d.sessions.stop(started.id);
    expect((await ended)?.exit?.code).toBe('stopped');
    expect(seen.slice(2)).toEqual([`${started.id} stopping`, `${started.id} exited`]);
  });

  it('reconnects by itself after a drop, and tells what changed while it was away', async () => {
    const first = await served();
    const events = first.events;
    await events.synced();
    const running = await d.sessions.start('test-min');
    await events.until(running.id, x => x?.state === 'running');
    const seen = record(events);
    const lost = new Promise<boolean>(r => events.connectionChanged.connect((_, c) => r(c)));
    await first.close();
    expect(await lost).toBe(false);
    expect(events.connected).toBe(false);
    // Stopped while the stream was away: nothing told it.
    await d.sessions.stop(running.id);
    expect(seen).toEqual([]);
    // The server is back where it was: the stream finds it (1 s backoff, ±50 %) and catches up.
    await served(d, first.port);
    await events.synced();
    expect(seen).toEqual([`${running.id} exited`]);
    expect(events.get(running.id)?.exit?.code).toBe('stopped');
  });

  it('a session the daemon no longer knows (it was restarted) is told as gone', async () => {
    const other = await startDaemon([dir], { token: TOKEN });
    cleanup.push(() => other.close());
    const first = await served(other);
    const events = first.events;
    await events.synced();
    const running = await other.sessions.start('test-min');
    await events.until(running.id, x => x?.state === 'running');
    const seen = record(events);
    await first.close();
    await other.close();
    // A new daemon (a restarted Jupyter server) on the same address.
    await served(d, first.port);
    await events.synced();
    expect(seen).toContain(`${running.id} gone`);
    expect(events.get(running.id)).toBeUndefined();
  });

  it('dispose closes the stream for good: no reconnect', async () => {
    const s = await served();
    await s.events.synced();
    const clients = (): number => s.tcp.websocketServer.clients.size;
    expect(clients()).toBe(1);
    s.events.dispose();
    await expect.poll(clients).toBe(0);
    expect(s.events.connected).toBe(false);
  });
});

describe('a tab that follows the stream', () => {
  it('a start answered at once: the tab has its own session while it starts, then it runs', async () => {
    const s = await served();
    const states: string[] = [];
    const w = shown(s.events, s);
    w.stateChanged.connect((_, st) => states.push(st));
    await w.ready;
    const mine = w.session as Session;
    expect(mine).toBeTruthy();
    expect(d.sessions.get(mine.id)?.state).toBe('running');
    expect(states[0]).toBe('starting');
    expect(states).toContain('connecting');
    await d.sessions.stop(mine.id);
  });

  it('the desktop stops while the stream is away: once back, the tab says it ended', async () => {
    const first = await served();
    const running = await d.sessions.start('test-min');
    const w = shown(first.events, first, running.id);
    await w.ready;
    expect(w.session?.state).toBe('running');
    await first.close();
    await d.sessions.stop(running.id);
    await served(d, first.port);
    await expect.poll(() => w.state, { timeout: 10_000 }).toBe('ended');
    expect(message(w)).toBe('Minimal was stopped');
  });

  it('the daemon restarted: a tab whose desktop it no longer knows offers a new one', async () => {
    const other = await startDaemon([dir], { token: TOKEN });
    cleanup.push(() => other.close());
    const first = await served(other);
    const running = await other.sessions.start('test-min');
    const w = shown(first.events, first, running.id);
    await w.ready;
    await first.close();
    await other.close();
    await served(d, first.port);
    await expect.poll(() => w.state, { timeout: 10_000 }).toBe('ended');
    expect(message(w)).toBe('This Minimal desktop is no longer running.');
  });
});

describe('SessionStream when its connection goes silent (a laptop that slept, a dead route)', () => {
  it('a connection with no message for two heartbeats is dropped and opened again', async () => {
    // A server that accepts the stream and then says nothing, as a half-open connection does.
    const { WebSocketServer } = await import('ws');
    const { SessionStream } = await import('./events');
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise(r => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    let opened = 0;
    server.on('connection', ws => {
      opened++;
      if (opened === 1) {
        // The first one gets its snapshot, then silence.
        ws.send(JSON.stringify({ type: 'snapshot', sessions: [] }));
      }
    });
    const { WebSocket: NodeWebSocket } = await import('ws');
    const events = new SessionStream(() => `ws://127.0.0.1:${port}/`, {
      WebSocket: NodeWebSocket as unknown as typeof WebSocket,
      silenceMs: 300
    });
    try {
      await events.synced();
      const lost = new Promise<boolean>(r => events.connectionChanged.connect((_, c) => r(c)));
      expect(await lost).toBe(false);
      // Reconnected on its own (after the backoff's first delay).
      await expect.poll(() => opened, { timeout: 5000 }).toBe(2);
    } finally {
      events.dispose();
      server.close();
    }
  });
});
