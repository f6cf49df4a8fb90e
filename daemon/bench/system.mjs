// What the benchmarks read of processes and start for their baselines: CPU time, PSS and
// wake-ups from /proc; the daemon, Xtigervnc alone, and Debian's tigervncserver + websockify.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';

export const DAEMON = new URL('../dist/bin/jupyter-desktops-daemon.cjs', import.meta.url).pathname;
export const MOTION = new URL('./motion.py', import.meta.url).pathname;
const TICK_MS = 1000 / 100; // USER_HZ

export const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Every process the benchmarks started, for `endAll` when a run fails half-way. */
const started = new Set();
const track = child => {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
};

/** Ends whatever is still running (daemons end their desktops on SIGTERM). */
export async function endAll() {
  await Promise.all([...started].map(c => endGroup(c).catch(() => undefined)));
}

/** Waits for `fn()` to be truthy, checking every `everyMs`; returns its value. */
export async function until(fn, what, timeoutMs = 30000, everyMs = 5) {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) {
      return v;
    }
    if (performance.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}

/** CPU time (user + system) of a process, in ms; 0 once it is gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/**
 * Proportional set size of a process, in MiB: `Pss` (all), or `Pss_Anon` (its own memory,
 * without the shares of the files it maps: the node executable is shared with every other
 * Node.js process on the machine).
 */
export function pssMiB(pid, field = 'Pss') {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1')
  );
  return Number(m[1]) / 1024;
}

/** Context switches of all of a process's threads so far: each is a wake-up. */
export function wakeups(pid) {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'latin1');
    for (const m of s.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) {
      n += Number(m[1]);
    }
  }
  return n;
}

/** Pids whose environment names a desktop session of a daemon under `runtimeRoot`. */
export function sessionPids(runtimeRoot) {
  const pids = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) {
      continue;
    }
    try {
      const env = readFileSync(`/proc/${p}/environ`, 'latin1');
      if (env.includes(`JUPYTER_DESKTOPS_RUNTIME=${runtimeRoot}`)) {
        pids.push(Number(p));
      }
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/** An HTTP request to a unix socket; resolves with { status, json }. */
export function http(socketPath, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: data ? { 'content-type': 'application/json' } : {}
      },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', d => (text += d));
        res.on('end', () => {
          const json = /^application\/json/.test(res.headers['content-type'] ?? '')
            ? JSON.parse(text)
            : {};
          resolve({ status: res.statusCode, json });
        });
      }
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Resolves once something accepts connections on the unix socket `path`. */
export function accepts(path) {
  return new Promise(resolve => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Writes a profile (its JSON and xstartup) into `dir`. */
export function writeProfile(dir, id, script, extra = {}) {
  writeFileSync(
    join(dir, `${id}.json`),
    JSON.stringify({ id, title: `Bench ${id}`, xstartup: `${id}.sh`, ...extra })
  );
  writeFileSync(join(dir, `${id}.sh`), `#!/bin/sh\n${script}\n`);
  chmodSync(join(dir, `${id}.sh`), 0o755);
}

/** The daemon, as jupyter-server-proxy starts it; resolves once it answers. */
export async function startDaemon({ socket, rfbSocket, runtimeDir, profilesDir, env }) {
  const child = spawn(
    process.execPath,
    [
      DAEMON,
      '--socket',
      socket,
      '--rfb-socket',
      rfbSocket,
      '--runtime-dir',
      runtimeDir,
      '--profiles-dir',
      profilesDir,
      '--max-sessions',
      '8',
      '--max-geometry',
      '1920x1080',
      '--quiet'
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env }
  );
  track(child);
  await until(async () => (await accepts(socket)) && child.pid, 'the daemon to answer', 20000);
  return {
    child,
    socket,
    rfbSocket,
    pid: child.pid,
    /** Its own directory: sessions live in `<this>/<id>`. */
    dir: join(runtimeDir, `d${child.pid}`),
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) {
        await once(child, 'exit');
      }
    }
  };
}

/** The daemon's event stream: resolves with `{ waitFor(id, state), close() }` once open. */
export async function events(socket) {
  const ws = new WebSocket(`ws+unix://${socket}:/api/events`);
  const seen = new Map();
  const waiters = new Set();
  ws.on('message', data => {
    const m = JSON.parse(data.toString());
    const list = m.type === 'snapshot' ? m.sessions : m.type === 'session' ? [m.session] : [];
    for (const s of list) {
      seen.set(s.id, s);
    }
    for (const w of waiters) {
      w();
    }
  });
  await once(ws, 'open');
  return {
    waitFor(id, states, timeoutMs = 30000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const s = seen.get(id);
          if (s && states.includes(s.state)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(s);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`session ${id} did not become ${states.join(' or ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => ws.close()
  };
}

/** Spawns a program and resolves with it once it is running (rejects if it cannot start). */
export async function run(cmd, args, opts = {}) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], ...opts }));
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child;
}

/** Ends a process group and waits for its leader. */
export async function endGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Not a group leader (the daemon): the process alone.
    child.kill('SIGTERM');
  }
  await once(child, 'exit');
}
