// The event stream (WS api/events): a snapshot, then every change of every session as it
// happens, to every client; refused like any route without auth or from a foreign Origin.
import { chmodSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '@jupyterlab-desktops/protocol';
import { RfbTestClient } from './rfb-client';
import {
  request,
  requireProgram,
  startDaemon,
  startSession,
  tmp,
  type ITestDaemon,
  waitFor,
  writeProfile
} from './helpers';

/** An event stream client that keeps every message it got. */
class Events {
  readonly got: SessionEvent[] = [];
  closed?: number;
  constructor(readonly ws: WebSocket) {
    ws.on('message', d => this.got.push(JSON.parse(d.toString())));
    ws.on('close', code => (this.closed = code));
  }

  static open(socket: string, headers: Record<string, string> = {}): Promise<Events> {
    const ws = new WebSocket(`ws+unix://${socket}:/api/events`, { headers });
    const events = new Events(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(events));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`))
      );
      ws.once('error', reject);
    });
  }

  /** The states session `id` went through, in order. */
  states(id: string): string[] {
    return this.got.flatMap(e =>
      e.type === 'session' && e.session.id === id ? [e.session.state] : []
    );
  }
}

describe('the event stream', () => {
  let d: ITestDaemon;
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    const dir = tmp('desktops-profiles-');
    chmodSync(dir, 0o755);
    writeProfile(dir, 'test-min', 'exec sleep 600', { title: 'Minimal' });
    writeProfile(dir, 'test-other', 'exec sleep 600', { title: 'Other' });
    writeProfile(dir, 'test-exit1', 'echo broken >&2\nexit 1', { title: 'Exit1' });
    // Gives up a moment after its desktop answers (a licence check, a missing file).
    writeProfile(
      dir,
      'test-late',
      'until xprop -root >/dev/null 2>&1; do sleep 0.05; done\nsleep 0.6\nexit 4',
      { title: 'Late' }
    );
    d = await startDaemon([dir], { maxSessions: 1 });
  });
  afterAll(() => d?.close());

  it('starts with a snapshot of every session, then tells two clients each change, in order', async () => {
    const first = await startSession(d.socket, { profile: 'test-min' });
    const a = await Events.open(d.socket);
    const b = await Events.open(d.socket);
    await waitFor(() => a.got.length && b.got.length, 5000, 'the snapshots');
    expect(a.got[0]).toEqual({
      type: 'snapshot',
      sessions: [expect.objectContaining({ id: first.id, state: 'running' })]
    });
    // Replacing it: the old one is stopped (why, and by what) and the new one starts.
    const second = await startSession(d.socket, { profile: 'test-other' });
    for (const c of [a, b]) {
      await waitFor(
        () => c.states(first.id).includes('exited') && c.states(second.id).includes('running'),
        10000,
        'the events'
      );
      expect(c.states(first.id)).toEqual(['stopping', 'exited']);
      expect(c.states(second.id)).toEqual(['starting', 'running']);
    }
    const ended = a.got.find(
      e => e.type === 'session' && e.session.id === first.id && e.session.state === 'exited'
    );
    expect(ended).toMatchObject({
      session: { exit: { code: 'replaced', replacedBy: { session: second.id } } }
    });
    await request(d.socket, 'DELETE', `/api/sessions/${second.id}`);
    await waitFor(() => a.states(second.id).includes('exited'), 10000, 'the stop');
    a.ws.close();
    b.ws.close();
  });

  it('tells a start that fails, with its reason', async () => {
    const c = await Events.open(d.socket);
    const r = await request(d.socket, 'POST', '/api/sessions', { profile: 'test-exit1' });
    expect(r.status).toBe(202);
    const id = r.json.id;
    await waitFor(() => c.states(id).includes('failed'), 10000, 'the failure');
    // `running` comes between when the RFB socket answered before the script failed.
    expect(c.states(id).filter(x => x !== 'running')).toEqual(['starting', 'stopping', 'failed']);
    const failed = c.got.at(-1);
    expect(failed).toMatchObject({
      session: {
        exit: {
          code: 'start-failed',
          message: 'Exit1 did not start: its start script exited (status 1)'
        }
      }
    });
    c.ws.close();
  });

  it('says `running` as the desktop answers, and a script that fails moments later is a start that failed', async () => {
    const c = await Events.open(d.socket);
    const r = await request(d.socket, 'POST', '/api/sessions', { profile: 'test-late' });
    const id = r.json.id;
    await waitFor(() => c.states(id).includes('failed'), 15000, 'the failure');
    // Nothing waited to see whether it held: it ran first, with its X server up.
    expect(c.states(id)).toEqual(['starting', 'running', 'stopping', 'failed']);
    expect(c.got.at(-1)).toMatchObject({
      session: {
        exit: {
          code: 'start-failed',
          message: 'Late did not start: its start script exited (status 4)'
        }
      }
    });
    c.ws.close();
  });

  it('is refused without the token (401) and from a foreign Origin (403)', async () => {
    const guarded = await startDaemon([], { token: 'events-token-0123456789' });
    try {
      await expect(Events.open(guarded.socket)).rejects.toThrow(/401/);
      await expect(
        Events.open(guarded.socket, {
          authorization: 'token events-token-0123456789',
          host: 'lab.example.org',
          origin: 'https://evil.example.com'
        })
      ).rejects.toThrow(/403/);
      const ok = await Events.open(guarded.socket, {
        authorization: 'token events-token-0123456789'
      });
      await waitFor(() => ok.got.length, 5000, 'the snapshot');
      expect(ok.got[0]).toEqual({ type: 'snapshot', sessions: [] });
      ok.ws.close();
    } finally {
      await guarded.close();
    }
  });

  it('marks a desktop used on keys, not on a pointer that only moves; the list gives the limit', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    const c = await RfbTestClient.open(d.socket, s.id);
    await c.handshake();
    const get = async (): Promise<any> =>
      (await request(d.socket, 'GET', `/api/sessions/${s.id}`)).json;
    // A move, then a request whose answer shows the move was read before it.
    c.send([5, 0, 0, 10, 0, 10]);
    await c.requestFrame(16, 16);
    expect((await get()).lastInputAt).toBeUndefined();
    c.send([4, 1, 0, 0, 0, 0, 0, 0x61]);
    const used = await waitFor(async () => (await get()).lastInputAt, 5000, 'lastInputAt');
    expect(Date.parse(used)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    expect((await request(d.socket, 'GET', '/api/sessions')).json.maxSessions).toBe(1);
    c.close();
    await request(d.socket, 'DELETE', `/api/sessions/${s.id}`);
  });

  it('a plain GET is told it is a WebSocket', async () => {
    const r = await request(d.socket, 'GET', '/api/events');
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('The event stream is a WebSocket');
  });
});
