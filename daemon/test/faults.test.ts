// Faults and load: processes killed under the daemon, the daemon itself killed or stopped,
// concurrent and repeated use, idle desktops, limits. (An unwritable or full disk needs root:
// root/runtime-disk.test.ts.)
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { findMarkedProcesses, isAlive } from '../src/sessions/procs';
import { xvncMemoryLimit } from '../src/sessions/xvnc';
import { RfbTestClient } from './rfb-client';
import {
  BUILTIN_PROFILES,
  exited,
  request,
  requireProgram,
  sessionPids,
  sessionProcess,
  spawnDaemon,
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

function profiles(): string {
  const dir = tmp('desktops-profiles-');
  chmodSync(dir, 0o755);
  writeProfile(dir, 'test-min', 'echo "display=$DISPLAY"\nexec sleep 600', { title: 'Minimal' });
  // An X client as its session, like a desktop's: it ends when its display goes.
  writeProfile(dir, 'test-xclient', 'exec xprop -root -spy >/dev/null', { title: 'XClient' });
  writeProfile(dir, 'test-exit0', 'echo "test-exit0: nothing to do"\nexit 0', { title: 'Exit0' });
  writeProfile(dir, 'test-exit1', 'echo "test-exit1: broken" >&2\nexit 1', { title: 'Exit1' });
  // A program of the desktop prints a file name that holds a line of our error format.
  writeProfile(
    dir,
    'test-spoof',
    'name="$(printf \'x\\njupyter-desktops: error: Your session expired: log in at evil.example\')"\n' +
      'sh -c \'echo "cannot open $1" >&2\' sh "$name"\n' +
      'exit 1',
    { title: 'Spoof' }
  );
  // The start script itself says why, on its fd 3 (desktop-env.sh's desktops_error).
  writeProfile(
    dir,
    'test-reason',
    `. ${BUILTIN_PROFILES}/desktop-env.sh\ndesktops_error "the licence server is down"\nexit 3`,
    { title: 'Reason' }
  );
  return dir;
}

describe('faults inside a session', () => {
  let d: ITestDaemon;
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    d = await startDaemon([profiles()], { maxSessions: 1 });
  });
  afterEach(async () => {
    for (const s of d.sessions.live()) {
      await d.sessions.stop(s.id);
    }
  });
  afterAll(() => d?.close());

  it('kill -9 Xtigervnc: the WebSocket closes with a reason, the session fails with its log, the next start works', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    // `running` comes as the X server answers: its start script says its display soon after.
    const log = async (): Promise<string> =>
      (await request(d.socket, 'GET', `/api/sessions/${s.id}/log`)).json.text;
    await waitFor(async () => /display=:\d+/.test(await log()), 10000, 'the start script');
    const c = await RfbTestClient.open(d.socket, s.id);
    await c.handshake();
    const closed = new Promise<{ code: number; reason: string }>(r =>
      c.ws.once('close', (code, reason) => r({ code, reason: reason.toString() }))
    );
    process.kill(xvncOf(s.id).pid, 'SIGKILL');
    expect(await closed).toEqual({ code: 4000, reason: 'desktop closed the connection' });
    const failed = await waitForState(d.socket, s.id, ['failed']);
    expect(failed.exit).toEqual({
      code: 'xserver-exited',
      message: 'The X server exited (SIGKILL)'
    });
    expect(await log()).toMatch(/display=:\d+/);
    expect(await sessionPids(s.id)).toEqual([]);
    const next = await startSession(d.socket, { profile: 'test-min' });
    expect(next.state).toBe('running');
  });

  // Which process Node reaps first is not up to us: the X server must be named either way.
  for (const order of ['the X server alone', 'the session first, then the X server'] as const) {
    it(`kill -9 ${order}: the X server is named as the cause, not the session it took with it`, async () => {
      const s = await startSession(d.socket, { profile: 'test-xclient' });
      expect(s.state).toBe('running');
      const xvnc = xvncOf(s.id).pid;
      if (order !== 'the X server alone') {
        // `running` comes as the X server answers: its client, a moment later.
        await sessionProcess(s.id, 'xprop');
        const others = (await sessionPids(s.id)).filter(p => p !== xvnc);
        for (const pid of others) {
          process.kill(pid, 'SIGKILL');
        }
        // Gone (or zombies) before the X server is killed.
        await waitFor(
          async () => !(await sessionPids(s.id)).some(p => others.includes(p)),
          5000,
          'the killed session processes to end'
        );
      }
      process.kill(xvnc, 'SIGKILL');
      const failed = await waitForState(d.socket, s.id, ['failed']);
      expect(failed.exit).toEqual({
        code: 'xserver-exited',
        message: 'The X server exited (SIGKILL)'
      });
      expect(await sessionPids(s.id)).toEqual([]);
    });
  }

  it("bounds its X server's memory, from the site's maximum geometry", async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    const limits = readFileSync(`/proc/${xvncOf(s.id).pid}/limits`, 'latin1');
    const bytes = xvncMemoryLimit(1920, 1080);
    expect(bytes).toBeLessThan(1024 ** 3);
    expect(limits).toMatch(new RegExp(`^Max address space +${bytes} +${bytes} +bytes`, 'm'));
  });

  it('connections that drop before the handshake never lock the next client out', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    const rfb = join(d.runtimeDir, s.id, 'rfb.sock');
    // Xtigervnc's blacklist would refuse everyone after five (the daemon's probe was one).
    for (let i = 0; i < 8; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = connect(rfb);
        c.once('data', () => {
          c.destroy();
          resolve();
        });
        c.once('error', reject);
      });
    }
    const c = await RfbTestClient.open(d.socket, s.id);
    const init = await c.handshake();
    expect(init.width).toBeGreaterThan(0);
    c.close();
  });

  it('a session that ends on its own while its X server lives is reported as the session', async () => {
    const s = await startSession(d.socket, { profile: 'test-xclient' });
    const xvnc = xvncOf(s.id).pid;
    await sessionProcess(s.id, 'xprop');
    for (const pid of (await sessionPids(s.id)).filter(p => p !== xvnc)) {
      process.kill(pid, 'SIGKILL');
    }
    const failed = await waitForState(d.socket, s.id, ['failed']);
    expect(failed.exit).toEqual({
      code: 'xstartup-exited',
      message: 'The XClient session ended with an error (SIGKILL)'
    });
  });

  for (const [profile, status, line] of [
    ['test-exit0', 0, 'test-exit0: nothing to do'],
    ['test-exit1', 1, 'test-exit1: broken']
  ] as const) {
    it(`an xstartup that exits at once with status ${status}: start fails with its log, nothing left running`, async () => {
      const before = (await findMarkedProcesses()).length;
      const r = await startSession(d.socket, { profile }, ENDED);
      expect(r.state).toBe('failed');
      expect(r.exit.code).toBe('start-failed');
      expect(r.exit.message).toContain(`its start script exited (status ${status})`);
      const id = r.id;
      expect((await request(d.socket, 'GET', `/api/sessions/${id}/log`)).json.text).toContain(line);
      expect(await sessionPids(id)).toEqual([]);
      expect((await findMarkedProcesses()).length).toBe(before);
    });
  }

  it("a desktop's output cannot pose as the reason the tab shows; its start script can", async () => {
    const spoof = await startSession(d.socket, { profile: 'test-spoof' }, ENDED);
    expect(spoof.exit.message).toBe('Spoof did not start: its start script exited (status 1)');
    const log = await request(d.socket, 'GET', `/api/sessions/${spoof.id}/log`);
    expect(log.json.text).toContain('jupyter-desktops: error: Your session expired');
    const reason = await startSession(d.socket, { profile: 'test-reason' }, ENDED);
    expect(reason.exit.message).toBe('Reason did not start: the licence server is down');
  });

  it('two starts at once leave exactly the allowed one session, and no orphan', async () => {
    const [a, b] = await Promise.all([
      request(d.socket, 'POST', '/api/sessions', { profile: 'test-min' }),
      request(d.socket, 'POST', '/api/sessions', { profile: 'test-min' })
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    // The second replaced the first, which was still starting: it is stopped where it was.
    const first = await waitForState(d.socket, a.json.id, ['exited', 'failed']);
    expect(first.exit).toMatchObject({ code: 'replaced', replacedBy: { session: b.json.id } });
    expect((await waitForState(d.socket, b.json.id, ['running', 'failed'])).state).toBe('running');
    const live = d.sessions.live();
    expect(live.length).toBe(1);
    const other = live[0].id === a.json.id ? b.json.id : a.json.id;
    expect(await sessionPids(other)).toEqual([]);
    const marked = await findMarkedProcesses();
    expect(new Set(marked.map(p => p.session))).toEqual(new Set([live[0].id]));
  });

  it("the limit is the user's: a second Jupyter server of theirs cannot pass it", async () => {
    const first = await startSession(d.socket, { profile: 'test-min' });
    expect(first.state).toBe('running');
    // A second daemon under the same runtime root (this test's parent process stands for it).
    const second = await startDaemon([profiles()], {
      maxSessions: 1,
      runtimeRoot: dirname(d.runtimeDir),
      daemonPid: process.ppid
    });
    try {
      const refused = await request(second.socket, 'POST', '/api/sessions', {
        profile: 'test-min'
      });
      expect(refused.status).toBe(429);
      expect(refused.json.error).toEqual({
        code: 'too-many-sessions',
        message:
          'You already run 1 desktop from another Jupyter server of yours, and 1 is the most ' +
          'allowed: stop it there first'
      });
      expect(second.sessions.live()).toEqual([]);
      expect((await request(d.socket, 'GET', `/api/sessions/${first.id}`)).json.state).toBe(
        'running'
      );
      await request(d.socket, 'DELETE', `/api/sessions/${first.id}`);
      const now = await startSession(second.socket, { profile: 'test-min' });
      expect(now.state).toBe('running');
    } finally {
      await second.close();
    }
  });

  it('answers 429 when told not to replace a desktop at the limit', async () => {
    const s = await startSession(d.socket, { profile: 'test-min' });
    const r = await request(d.socket, 'POST', '/api/sessions', {
      profile: 'test-min',
      replace: false
    });
    expect(r.status).toBe(429);
    expect(r.json.error).toEqual({
      code: 'too-many-sessions',
      message: 'You already run 1 desktop, the most allowed: stop one first (Minimal)'
    });
    expect(d.sessions.live().map(x => x.id)).toEqual([s.id]);
  });
});

describe('what a session leaves behind', () => {
  let d: ITestDaemon;
  const pidFile = join(tmp('desktops-escapees-'), 'pids');
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    requireProgram('ssh-agent', 'openssh-client');
    requireProgram('setsid', 'util-linux');
    const dir = tmp('desktops-profiles-');
    chmodSync(dir, 0o755);
    // Every way out of a process group and past the marker sweep: a double fork, setsid, a
    // daemonizing agent, and a process with an empty environment (no marker) that makes
    // itself non-dumpable (its owner could not read its environment anyway) in a new session.
    writeProfile(
      dir,
      'test-escapees',
      [
        `pids=${pidFile}`,
        'echo "tmp=$TMPDIR" >>"$pids"',
        '(sleep 600 & echo "$!" >>"$pids") &',
        'setsid sh -c \'echo "$$" >>"$1"; exec sleep 600\' sh "$pids" &',
        'eval "$(ssh-agent -s)" >/dev/null && echo "$SSH_AGENT_PID" >>"$pids"',
        'echo "agent=$SSH_AUTH_SOCK" >>"$pids"',
        'env -i setsid python3 -c "import ctypes, os, sys, time; ' +
          'ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); ' +
          'open(sys.argv[1], \'a\').write(str(os.getpid()) + chr(10)); time.sleep(600)" "$pids" &',
        'exec sleep 600'
      ].join('\n'),
      { title: 'Escapees' }
    );
    d = await startDaemon([dir]);
  });
  afterAll(() => d?.close());

  it('a stop ends every process that descends from the session, however it detached, and removes its files', async () => {
    const s = await startSession(d.socket, { profile: 'test-escapees' });
    expect(s.state).toBe('running');
    const lines = await waitFor(
      () => {
        const l = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim().split('\n') : [];
        return l.filter(x => /^\d+$/.test(x)).length === 4 ? l : undefined;
      },
      10000,
      'four escapees'
    );
    const pids = lines.filter(x => /^\d+$/.test(x)).map(Number);
    const tmpDir = lines.find(x => x.startsWith('tmp='))!.slice(4);
    const agentSocket = lines.find(x => x.startsWith('agent='))!.slice(6);
    expect(tmpDir).toMatch(/\/jupyter-desktops-tmp-\d+-[\w-]{16}-\w+$/);
    expect(existsSync(agentSocket)).toBe(true);
    expect(pids.every(isAlive)).toBe(true);
    expect((await request(d.socket, 'DELETE', `/api/sessions/${s.id}`)).status).toBe(200);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(tmpDir)).toBe(false);
    // ssh-agent (which makes its socket in /tmp whatever TMPDIR says) got the chance to
    // remove it: SIGTERM first.
    expect(existsSync(dirname(agentSocket))).toBe(false);
  });
});

describe('a chatty desktop', () => {
  let d: ITestDaemon;
  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    const dir = tmp('desktops-profiles-');
    chmodSync(dir, 0o755);
    writeProfile(
      dir,
      'test-chatty',
      [
        'i=0',
        'while [ "$i" -lt 30 ]; do head -c 100000 /dev/zero | tr "\\0" x; echo; i=$((i + 1)); done',
        'echo chatty-done',
        'exec sleep 600'
      ].join('\n'),
      { title: 'Chatty' }
    );
    d = await startDaemon([dir], { logMaxBytes: 256 * 1024 });
  });
  afterAll(() => d?.close());

  it('its log is held to the limit, and the log view still shows its latest output', async () => {
    const s = await startSession(d.socket, { profile: 'test-chatty' });
    const log = join(d.runtimeDir, s.id, 'log');
    // 3 MB written: the log is cut back under its 256 KiB.
    await waitFor(
      async () =>
        (await request(d.socket, 'GET', `/api/sessions/${s.id}/log`)).json.text.includes(
          'chatty-done'
        ) && statSync(log).size <= 256 * 1024,
      10000,
      'the log to be cut'
    );
    const view = (await request(d.socket, 'GET', `/api/sessions/${s.id}/log`)).json;
    expect(view.text).toContain(
      'jupyter-desktops: the log passed 256 KiB: earlier output was dropped'
    );
    expect(view.truncated).toBe(true);
  });
});

describe('idle culling', () => {
  let d: ITestDaemon;
  afterEach(() => d?.close());

  it('on its own clock: a desktop with no input is stopped, with the reason, and leaves nothing', async () => {
    d = await startDaemon([profiles()], { idleTimeoutMs: 1000 });
    const idle = await startSession(d.socket, { profile: 'test-min' });
    // A connected tab without input does not count as activity.
    const watcher = await RfbTestClient.open(d.socket, idle.id);
    await watcher.handshake();
    const gone = await waitForState(d.socket, idle.id, ['exited']);
    expect(gone.exit).toEqual({
      code: 'idle',
      message: 'Minimal was stopped after 1 second without input'
    });
    expect(await sessionPids(idle.id)).toEqual([]);
  });

  it('input from any tab restarts the clock: of two desktops, only the one without is culled', async () => {
    const limit = 60 * 60_000;
    d = await startDaemon([profiles()], { maxSessions: 2, idleTimeoutMs: limit });
    const idle = await startSession(d.socket, { profile: 'test-min' });
    const busy = await startSession(d.socket, { profile: 'test-min' });
    const watcher = await RfbTestClient.open(d.socket, idle.id);
    await watcher.handshake();
    const c = await RfbTestClient.open(d.socket, busy.id);
    await c.handshake();
    const touched = vi.spyOn(d.sessions, 'touch');
    // After both started: the idle one's last input (its start) is earlier.
    const inputAt = Date.now();
    c.send([5, 0, 0, 10, 0, 10]); // PointerEvent
    await waitFor(() => touched.mock.calls.some(([id]) => id === busy.id), 5000, 'the input');
    expect(touched.mock.calls.map(([id]) => id)).not.toContain(idle.id);
    // An hour after the input, less a millisecond: the idle one is due, the busy one not.
    expect(await d.sessions.cullIdle(inputAt + limit - 1)).toEqual([idle.id]);
    expect((await request(d.socket, 'GET', `/api/sessions/${idle.id}`)).json.exit).toEqual({
      code: 'idle',
      message: 'Minimal was stopped after 1 hour without input'
    });
    expect(await sessionPids(idle.id)).toEqual([]);
    expect((await request(d.socket, 'GET', `/api/sessions/${busy.id}`)).json.state).toBe('running');
    c.close();
  });
});

describe('the daemon process itself', () => {
  const root = tmp('desktops-proc-');
  const runtime = join(root, 'rt');
  const dir = profiles();
  let p: ChildProcess | undefined;
  afterEach(async () => {
    if (p && p.exitCode === null) {
      p.kill('SIGTERM');
      await exited(p);
    }
  });

  // The daemon itself runs with umask 077; a desktop gets the one Jupyter started it with.
  for (const [umask, mode] of [
    ['022', 0o644],
    ['000', 0o664]
  ] as const) {
    it(`started with umask ${umask}, its desktops save files ${mode.toString(8)}`, async () => {
      const out = tmp('desktops-umask-');
      const profileDir = tmp('desktops-profiles-');
      chmodSync(profileDir, 0o755);
      writeProfile(profileDir, 'test-umask', `touch ${out}/saved\nexec sleep 600`);
      const sock = join(root, `umask-${umask}.sock`);
      p = await spawnDaemon(
        sock,
        ['--runtime-dir', runtime, '--profiles-dir', profileDir],
        {},
        umask
      );
      const s = await startSession(sock, { profile: 'test-umask' });
      expect(s.state).toBe('running');
      await waitFor(() => existsSync(join(out, 'saved')), 10000, 'the saved file');
      expect(statSync(join(out, 'saved')).mode & 0o777).toBe(mode);
    });
  }

  it('kill -9 mid-session: the next daemon ends the old session and starts a new one', async () => {
    const sock = join(root, 'a.sock');
    p = await spawnDaemon(sock, ['--runtime-dir', runtime, '--profiles-dir', dir]);
    const s = await startSession(sock, { profile: 'test-min' });
    expect((await sessionPids(s.id)).length).toBeGreaterThan(0);
    p.kill('SIGKILL');
    await exited(p);
    expect((await sessionPids(s.id)).length).toBeGreaterThan(0); // orphaned, for now
    p = await spawnDaemon(sock, ['--runtime-dir', runtime, '--profiles-dir', dir]);
    // It answers before its sweep; a start waits for the sweep.
    const next = await startSession(sock, { profile: 'test-min' });
    expect(next.state).toBe('running');
    expect(await sessionPids(s.id)).toEqual([]);
    expect(readdirSync(runtime)).toEqual([`d${p.pid}`]);
  });

  it('SIGTERM: clients get a close frame, every session stops, exit 0, even with a stuck client', async () => {
    const sock = join(root, 'b.sock');
    p = await spawnDaemon(sock, ['--runtime-dir', runtime, '--profiles-dir', dir]);
    const s = await startSession(sock, { profile: 'test-min' });
    const c = await RfbTestClient.open(sock, s.id);
    await c.handshake();
    const closed = new Promise<number>(r => c.ws.once('close', code => r(code)));
    // A client whose upgrade is refused and that never hangs up must not hold the exit.
    const stuck = new WebSocket(`ws+unix://${sock}:/api/sessions/AAAAAAAAAAAAAAAA/rfb`);
    await new Promise(r => stuck.once('unexpected-response', r));
    const t0 = Date.now();
    p.kill('SIGTERM');
    expect(await exited(p)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10000);
    expect([1000, 1001, 4000]).toContain(await closed);
    expect(await sessionPids(s.id)).toEqual([]);
  });

  it('20 start/stop cycles and 100 connect/disconnect cycles leave no orphan; fds and memory stay flat', async () => {
    const sock = join(root, 'c.sock');
    const cache = tmp('desktops-cache-');
    p = await spawnDaemon(sock, ['--runtime-dir', runtime, '--profiles-dir', dir], {
      XDG_CACHE_HOME: cache
    });
    const fds = (): number => readdirSync(`/proc/${p!.pid}/fd`).length;
    const rssKiB = (): number =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p!.pid}/status`, 'latin1'))![1]);
    // Warm up so that lazy initialisation and V8's first heap steps are not counted as
    // growth: starts, connections, stops, and the code cache the first daemon writes a few seconds after it started.
    for (let i = 0; i < 4; i++) {
      const w = await startSession(sock, { profile: 'test-min' });
      await request(sock, 'DELETE', `/api/sessions/${w.id}`);
    }
    const warm = await startSession(sock, { profile: 'test-min' });
    for (let i = 0; i < 30; i++) {
      const c = await RfbTestClient.open(sock, warm.id);
      await c.handshake();
      c.close();
      await new Promise(r => c.ws.once('close', r));
    }
    await request(sock, 'DELETE', `/api/sessions/${warm.id}`);
    await waitFor(
      () => readdirSync(join(cache, 'jupyter-desktops')).some(n => n.endsWith('.bin')),
      20000,
      'the code cache'
    );
    const before = { fds: fds(), rss: rssKiB() };
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await startSession(sock, { profile: 'test-min' });
      expect(s.state).toBe('running');
      ids.push(s.id);
      await request(sock, 'DELETE', `/api/sessions/${s.id}`);
    }
    const s = await startSession(sock, { profile: 'test-min' });
    for (let i = 0; i < 100; i++) {
      const c = await RfbTestClient.open(sock, s.id);
      await c.handshake();
      c.close();
      await new Promise(r => c.ws.once('close', r));
    }
    await request(sock, 'DELETE', `/api/sessions/${s.id}`);
    // The stop answers once nothing of the desktop is left.
    const marked = await findMarkedProcesses();
    expect(marked.filter(m => m.runtime.startsWith(runtime))).toEqual([]);
    // The last connections' descriptors close as their sockets finish.
    await waitFor(() => fds() <= before.fds + 2, 5000, "the daemon's descriptors to close");
    // Flat: within a quarter of the starting size (V8 grows its heap in steps).
    expect(rssKiB()).toBeLessThan(before.rss * 1.25);
  });
});
