// Integration: real Xtigervnc, real xstartup sessions, real sockets, real processes.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeGl } from '../src/doctor';
import { SessionManager } from '../src/sessions/manager';
import { RfbTestClient } from './rfb-client';
import {
  displayOf,
  listenersOf,
  MINIMAL_SESSION,
  processesOfSession,
  REAPER,
  request,
  requireProgram,
  sessionPids,
  startDaemon,
  startSession,
  tmp,
  type ITestDaemon,
  waitFor,
  waitForState,
  writeProfile,
  xvncOf,
  ENDED
} from './helpers';

describe('desktop sessions with real Xtigervnc', () => {
  let d: ITestDaemon;
  let profileDir: string;

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    const dir = tmp();
    profileDir = dir;
    writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
    writeProfile(dir, 'test-other', MINIMAL_SESSION, { title: 'Other' });
    writeProfile(
      dir,
      'test-listens',
      `exec python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); time.sleep(600)'`
    );
    // The dump goes to a file of its own: Xtigervnc writes into the log at the same time.
    writeProfile(
      dir,
      'test-env',
      'env | sort > "$(dirname "$XAUTHORITY")/env.tmp"\nmv "$(dirname "$XAUTHORITY")/env.tmp" "$(dirname "$XAUTHORITY")/env.txt"\nexec sleep 600',
      { title: 'Env' }
    );
    writeProfile(dir, 'test-fails', 'echo "test-fails: cannot start" >&2\nexit 3', {
      title: 'Fails'
    });
    d = await startDaemon([dir]);
  });
  afterEach(async () => {
    for (const s of d.sessions.live()) {
      await d.sessions.stop(s.id);
    }
  });
  afterAll(() => d?.close());

  it('starts a desktop and serves a FramebufferUpdate over the WebSocket route', async () => {
    const r = await request(d.socket, 'POST', '/api/sessions', {
      profile: 'test-min',
      width: 800,
      height: 600
    });
    // Answered once admitted, before any of it runs: the tab knows its session at once.
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({
      profile: 'test-min',
      state: 'starting',
      width: 800,
      height: 600
    });
    const running = await waitForState(d.socket, r.json.id, ['running', 'failed']);
    expect(running.state).toBe('running');
    const client = await RfbTestClient.open(d.socket, r.json.id);
    const init = await client.handshake();
    expect(init).toEqual({ width: 800, height: 600, name: 'Minimal' });
    const update = await client.requestFrame(800, 600);
    expect(update.rects).toBeGreaterThan(0);
    expect(update.first.encoding).toBe(0);
    expect(update.first.w * update.first.h).toBeGreaterThan(0);
    client.close();
  });

  it('keeps the runtime dir private and the RFB socket 0600', async () => {
    const r = await startSession(d.socket, { profile: 'test-min' });
    const dir = join(d.runtimeDir, r.id);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'rfb.sock')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'Xauthority')).mode & 0o777).toBe(0o600);
  });

  it('replaces the previous desktop: none of its processes survive', async () => {
    const first = await startSession(d.socket, { profile: 'test-min' });
    expect((await sessionPids(first.id)).length).toBeGreaterThan(0);
    const second = await startSession(d.socket, { profile: 'test-other' });
    expect(second.state).toBe('running');
    expect(await sessionPids(first.id)).toEqual([]);
    const old = (await request(d.socket, 'GET', `/api/sessions/${first.id}`)).json;
    expect(old.state).toBe('exited');
    expect(old.exit).toEqual({
      code: 'replaced',
      message: 'Minimal was replaced by Other',
      replacedBy: { session: second.id, profile: 'test-other', title: 'Other' }
    });
    expect(d.sessions.live().map(s => s.id)).toEqual([second.id]);
  });

  it('stopping removes its processes, sockets, cookie and X lock files', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    const display = await displayOf(d.socket, s.id);
    const dir = join(d.runtimeDir, s.id);
    // The X server listens on its abstract socket only: nothing in the shared directory.
    expect(existsSync(`/tmp/.X11-unix/X${display}`)).toBe(false);
    expect(readFileSync('/proc/net/unix', 'latin1')).toContain(` @/tmp/.X11-unix/X${display}\n`);
    expect(existsSync(join(dir, 'rfb.sock'))).toBe(true);
    const stopped = await request(d.socket, 'DELETE', `/api/sessions/${s.id}`);
    expect(stopped.status).toBe(200);
    expect(stopped.json).toMatchObject({ state: 'exited', exit: { code: 'stopped' } });
    expect(await sessionPids(s.id)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/tmp/.X${display}-lock`)).toBe(false);
    expect(existsSync(`/tmp/.X11-unix/X${display}`)).toBe(false);
    // The log tail outlives the runtime dir, for the error pane.
    const log = await request(d.socket, 'GET', `/api/sessions/${s.id}/log`);
    expect(log.json.text).toMatch(/display=:\d+/);
  });

  it('cleans up after Xtigervnc is killed with SIGKILL, and the next start works', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    const display = await displayOf(d.socket, s.id);
    process.kill(xvncOf(s.id).pid, 'SIGKILL');
    const after = await waitForState(d.socket, s.id, ['failed']);
    expect(after.exit.code).toBe('xserver-exited');
    expect(await sessionPids(s.id)).toEqual([]);
    expect(existsSync(`/tmp/.X11-unix/X${display}`)).toBe(false);
    const next = await startSession(d.socket, { profile: 'test-min' });
    expect(next.state).toBe('running');
  });

  it('reports a start script that exits at once, with its output, and leaves nothing behind', async () => {
    const r = await startSession(d.socket, { profile: 'test-fails' }, ENDED);
    expect(r.exit.code).toBe('start-failed');
    expect(r.exit.message).toMatch(/^Fails did not start: its start script exited \(status 3\)/);
    const id = r.id;
    expect((await request(d.socket, 'GET', `/api/sessions/${id}`)).json.state).toBe('failed');
    const log = await request(d.socket, 'GET', `/api/sessions/${id}/log`);
    expect(log.json.text).toMatch(/test-fails: cannot start/);
    expect(await sessionPids(id)).toEqual([]);
    expect(d.sessions.live()).toEqual([]);
  });

  it('the listener check finds a TCP listener in a session that opens one', async () => {
    const s = await startSession(d.socket, { profile: 'test-listens' });
    const found = await waitFor(
      async () => {
        const l = listenersOf(await sessionPids(s.id));
        return l.length ? l : undefined;
      },
      10000,
      'the test listener'
    );
    expect(found[0]).toMatch(/^\d+ tcp 0100007F:[0-9A-F]{4}$/);
  });

  it("gives the desktop a clean environment: none of Jupyter's tokens", async () => {
    const secrets = {
      JUPYTERHUB_API_TOKEN: 'hub-secret-1',
      JPY_API_TOKEN: 'jpy-secret-2',
      JUPYTER_TOKEN: 'jupyter-secret-3',
      JUPYTER_DESKTOPS_TOKEN: 'daemon-secret-4'
    };
    Object.assign(process.env, secrets);
    try {
      const s = await startSession(d.socket, { profile: 'test-env' });
      const dump = join(d.runtimeDir, s.id, 'env.txt');
      const log = await waitFor(
        () => (existsSync(dump) ? readFileSync(dump, 'utf8') : undefined),
        10000,
        'the environment dump'
      );
      expect(log).toContain(`JUPYTER_DESKTOPS_SESSION=${s.id}`);
      expect(log).toMatch(/^DISPLAY=:\d+$/m);
      expect(log).toMatch(/^XAUTHORITY=.+\/Xauthority$/m);
      for (const [k, v] of Object.entries(secrets)) {
        expect(log).not.toContain(k);
        expect(log).not.toContain(v);
      }
    } finally {
      for (const k of Object.keys(secrets)) {
        delete process.env[k];
      }
    }
  });

  it("a new daemon ends the sessions a dead daemon left behind, never a live one's", async () => {
    const root = dirname(d.runtimeDir);
    // A daemon whose pid no longer exists stands for one that crashed.
    const deadPid = 4_000_000;
    const crashed = new SessionManager({
      profiles: d.profiles,
      runtimeDir: join(root, `d${deadPid}`),
      xvnc: 'Xtigervnc',
      reaper: REAPER
    });
    await mkdir(join(root, `d${deadPid}`), { mode: 0o700 });
    const orphan = await crashed.start('test-min');
    const live = await startSession(d.socket, { profile: 'test-other' });
    // Another live daemon of the same user (this test process stands for it) starts up.
    const successor = new SessionManager({
      profiles: d.profiles,
      runtimeDir: join(root, `d${process.ppid}`),
      xvnc: 'Xtigervnc',
      reaper: REAPER
    });
    expect(await successor.cleanOrphans()).toBeGreaterThan(0);
    expect(await sessionPids(orphan.id)).toEqual([]);
    expect(existsSync(join(root, `d${deadPid}`))).toBe(false);
    // The live daemon's desktop is untouched.
    expect((await sessionPids(live.id)).length).toBeGreaterThan(0);
    expect((await request(d.socket, 'GET', `/api/sessions/${live.id}`)).json.state).toBe('running');
  });

  it('a stop while the desktop starts ends it where it is: never running, nothing left', async () => {
    // Its X server, held before it runs Xtigervnc until the gate opens (it never does here):
    // the stop comes while the start waits for its display, whatever the machine's speed.
    const gated = tmp();
    execFileSync('mkfifo', [join(gated, 'gate')]);
    writeFileSync(
      join(gated, 'Xgated'),
      `#!/bin/sh\nread -r _ < ${join(gated, 'gate')}\nexec Xtigervnc "$@"\n`,
      { mode: 0o755 }
    );
    const slow = await startDaemon([profileDir], { xvnc: join(gated, 'Xgated') });
    try {
      await stopWhileStarting(slow);
    } finally {
      await slow.close();
    }
    expect((await startSession(d.socket, { profile: 'test-min' })).state).toBe('running');
  });

  async function stopWhileStarting(d: ITestDaemon): Promise<void> {
    for (const when of ['at once', 'while its X server starts'] as const) {
      const states: string[] = [];
      const seen = (x: { id: string; state: string }): void => {
        if (x.id === id) {
          states.push(x.state);
        }
      };
      let id = '';
      d.sessions.on('change', seen);
      try {
        const { session, done } = await d.sessions.begin('test-min');
        id = session.id;
        expect(session.state).toBe('starting');
        if (when !== 'at once') {
          await waitFor(
            () => processesOfSession(id).some(p => p.argv.includes('-rfbunixpath')),
            10000,
            'its X server'
          );
        }
        const r = await request(d.socket, 'DELETE', `/api/sessions/${id}`);
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ state: 'exited', exit: { code: 'stopped' } });
        await expect(done).rejects.toThrow(/was stopped/);
        expect(states, when).toEqual(['stopping', 'exited']);
        expect(await sessionPids(id)).toEqual([]);
        expect(existsSync(join(d.runtimeDir, id))).toBe(false);
      } finally {
        d.sessions.off('change', seen);
      }
    }
  }

  it('refuses the WebSocket for a session that is not running', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    await request(d.socket, 'DELETE', `/api/sessions/${s.id}`);
    await expect(RfbTestClient.open(d.socket, s.id)).rejects.toThrow(/409/);
    await expect(RfbTestClient.open(d.socket, 'AAAAAAAAAAAAAAAA')).rejects.toThrow(/404/);
  });
});

describe("the doctor's throw-away desktop", () => {
  it('reads the OpenGL of a real desktop, and leaves no X server, socket or lock file', async () => {
    requireProgram('glxinfo', 'mesa-utils');
    const xFiles = (): string[] =>
      existsSync('/tmp/.X11-unix') ? readdirSync('/tmp/.X11-unix').sort() : [];
    const before = xFiles();
    const gl = await probeGl('Xtigervnc', 'glxinfo');
    expect(gl.core.length).toBeGreaterThan(0);
    expect(gl.renderer).not.toBe('');
    const doctors = readdirSync('/proc')
      .filter(n => /^\d+$/.test(n))
      .filter(n => {
        try {
          return readFileSync(`/proc/${n}/cmdline`, 'latin1').includes('\0-desktop\0doctor\0');
        } catch {
          return false;
        }
      });
    expect(doctors).toEqual([]);
    expect(xFiles().filter(f => !before.includes(f))).toEqual([]);
    expect(readdirSync('/tmp').filter(n => /^jupyter-desktops-doctor-/.test(n))).toEqual([]);
  });
});
