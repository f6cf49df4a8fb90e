// The X server started ahead of a click (PUT api/spare): real Xtigervnc, real xstartups, real
// processes. A start of its size takes it (the session keeps its id and its X server's pid);
// another size, an expiry, the site turning it off and bad input leave nothing behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/server';
import { isAlive } from '../src/sessions/procs';
import {
  MINIMAL_SESSION,
  processesOfSession,
  request,
  requireProgram,
  startDaemon,
  startSession,
  tmp,
  waitFor,
  writeProfile,
  xvncOf,
  ENDED,
  type ITestDaemon
} from './helpers';

/** The directories under a daemon's runtime dir that hold a pre-started X server. */
function spares(d: ITestDaemon): string[] {
  return readdirSync(d.runtimeDir).filter(id => existsSync(join(d.runtimeDir, id, 'spare')));
}

/** The pre-started X server's session marker and Xtigervnc, once it is spawned. */
async function spareServer(d: ITestDaemon): Promise<{ id: string; pid: number; argv: string[] }> {
  return waitFor(
    () => {
      const [id] = spares(d);
      const x = id ? processesOfSession(id).find(p => p.argv[0] === 'Xtigervnc') : undefined;
      return id && x ? { id, pid: x.pid, argv: x.argv } : undefined;
    },
    10_000,
    'the pre-started X server'
  );
}

function put(d: ITestDaemon, body: unknown): Promise<{ status: number; json: any }> {
  return request(d.socket, 'PUT', '/api/spare', body);
}

describe('an X server started ahead of the click', () => {
  let dir: string;
  let d: ITestDaemon;

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    dir = tmp();
    writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
    writeProfile(dir, 'test-fails', 'echo "test-fails: cannot start" >&2\nexit 3', {
      title: 'Fails'
    });
    d = await startDaemon([dir], { spareTimeoutMs: 60_000 });
  });
  afterEach(async () => {
    for (const s of d.sessions.live()) {
      await d.sessions.stop(s.id);
    }
    await d.sessions.discardSpare();
  });
  afterAll(() => d?.close());

  it('is started at the size asked, and a start of that size takes it', async () => {
    const r = await put(d, { width: 1000, height: 700 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ width: 1000, height: 700 });
    expect(['starting', 'ready']).toContain(r.json.state);
    const spare = await spareServer(d);
    expect(spare.argv.join(' ')).toContain('-geometry 1000x700');

    // Asked again (the launcher shown again): the same server, kept longer, ready by now.
    const again = await waitFor(async () => {
      const a = await put(d, { width: 1000, height: 700 });
      return a.json.state === 'ready' && a;
    });
    expect(Date.parse(again.json.expiresAt)).toBeGreaterThanOrEqual(Date.parse(r.json.expiresAt));
    expect(spares(d)).toEqual([spare.id]);

    const s = await startSession(d.socket, { profile: 'test-min', width: 1000, height: 700 });
    expect(s.state).toBe('running');
    expect(s.id).toBe(spare.id);
    expect(xvncOf(s.id).pid).toBe(spare.pid);
    // A desktop now, to every daemon of the user; its start script runs on that display.
    expect(spares(d)).toEqual([]);
    const display = await waitFor(
      () => /display=(:\d+)/.exec(readFileSync(join(d.runtimeDir, s.id, 'log'), 'utf8'))?.[1],
      10_000,
      'the start script'
    );
    expect(xvncOf(s.id).argv).toContain('-displayfd');
    expect(processesOfSession(s.id).some(p => p.argv.join(' ') === 'sleep 600')).toBe(true);
    expect(display).toMatch(/^:\d+$/);
  });

  it('is left alone by a start of another size, and ended by DELETE', async () => {
    await put(d, { width: 1000, height: 700 });
    const spare = await spareServer(d);
    const s = await startSession(d.socket, { profile: 'test-min', width: 1200, height: 800 });
    expect(s.id).not.toBe(spare.id);
    expect(xvncOf(s.id).pid).not.toBe(spare.pid);
    expect(isAlive(spare.pid)).toBe(true);

    const del = await request(d.socket, 'DELETE', '/api/spare');
    expect(del.status).toBe(204);
    expect(isAlive(spare.pid)).toBe(false);
    expect(existsSync(join(d.runtimeDir, spare.id))).toBe(false);
    expect(processesOfSession(spare.id)).toEqual([]);
  });

  it('is replaced when another size is asked for', async () => {
    await put(d, { width: 1000, height: 700 });
    const first = await spareServer(d);
    const r = await put(d, { width: 800, height: 600 });
    expect(r.json).toMatchObject({ width: 800, height: 600 });
    expect(isAlive(first.pid)).toBe(false);
    const second = await spareServer(d);
    expect(second.id).not.toBe(first.id);
    expect(second.argv.join(' ')).toContain('-geometry 800x600');
  });

  it('is held to the site limits, as a start is', async () => {
    const r = await put(d, { width: 7680, height: 4320 });
    expect(r.json).toMatchObject({ width: 1920, height: 1080 });
    expect((await spareServer(d)).argv.join(' ')).toContain('-geometry 1920x1080');
  });

  it('ends with the session that took it when its start script fails at once', async () => {
    await put(d, { width: 1000, height: 700 });
    const spare = await spareServer(d);
    const s = await startSession(
      d.socket,
      { profile: 'test-fails', width: 1000, height: 700 },
      ENDED
    );
    expect(s.id).toBe(spare.id);
    expect(s.state).toBe('failed');
    expect(s.exit).toMatchObject({ code: 'start-failed' });
    expect(s.exit.message).toBe('Fails did not start: its start script exited (status 3)');
    expect(isAlive(spare.pid)).toBe(false);
    expect(existsSync(join(d.runtimeDir, spare.id))).toBe(false);
  });

  it('refuses bad input and starts nothing', async () => {
    for (const body of [
      { width: 10, height: 10 },
      { width: 1000 },
      { width: 1000, height: 700, profile: 'test-min' },
      { width: '1000', height: 700 }
    ]) {
      const r = await put(d, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('bad-request');
    }
    expect(spares(d)).toEqual([]);
  });

  it("is not counted as a desktop by the user's other Jupyter server, which starts none of its own", async () => {
    await put(d, { width: 1000, height: 700 });
    await spareServer(d);
    // A second daemon under the same runtime root (this test's parent process stands for it).
    const second = await startDaemon([dir], {
      maxSessions: 1,
      runtimeRoot: dirname(d.runtimeDir),
      daemonPid: process.ppid,
      spareTimeoutMs: 60_000
    });
    try {
      const r = await put(second, { width: 1000, height: 700 });
      expect(r.json).toEqual({ state: 'off' });
      expect(spares(second)).toEqual([]);
      const s = await startSession(second.socket, { profile: 'test-min' });
      expect(s.state).toBe('running');
    } finally {
      await second.close();
    }
  });
});

describe('pre-starting, timed and turned off', () => {
  it('is set with --prestart MIN: 3 by default, 0 off, nonsense refused', () => {
    const cfg = (...args: string[]) => parseConfig(['--socket', '/s', ...args], {});
    expect(cfg().prestartMs).toBe(180_000);
    expect(cfg('--prestart', '0').prestartMs).toBe(0);
    expect(cfg('--prestart', '0.5').prestartMs).toBe(30_000);
    for (const bad of ['-1', 'soon', '1441']) {
      expect(() => cfg(`--prestart=${bad}`)).toThrow(
        '--prestart must be a number of minutes from 0 (off) to 1440'
      );
    }
  });

  it('ends an unused X server after its time', async () => {
    const d = await startDaemon([], { spareTimeoutMs: 1500 });
    try {
      await put(d, { width: 1000, height: 700 });
      const spare = await spareServer(d);
      await waitFor(() => !isAlive(spare.pid), 10_000, 'the unused X server to end');
      await waitFor(() => !existsSync(join(d.runtimeDir, spare.id)), 5000, 'its directory');
      expect(processesOfSession(spare.id)).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('starts nothing when the site turned it off', async () => {
    const d = await startDaemon([], { spareTimeoutMs: 0 });
    try {
      const r = await put(d, { width: 1000, height: 700 });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ state: 'off' });
      expect(readdirSync(d.runtimeDir)).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('ends it with the daemon', async () => {
    const d = await startDaemon([], { spareTimeoutMs: 60_000 });
    await put(d, { width: 1000, height: 700 });
    const spare = await spareServer(d);
    await d.close();
    expect(isAlive(spare.pid)).toBe(false);
    expect(existsSync(join(d.runtimeDir, spare.id))).toBe(false);
  });
});
