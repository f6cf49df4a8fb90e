// Finding and ending a session's processes. Process groups catch the common case; the sweep
// by marker variable catches everything that left its group (dbus-launch, setsid'd helpers).
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/** Environment variables every process of a session inherits. */
export const MARKER_VAR = 'JUPYTER_DESKTOPS_SESSION';
export const RUNTIME_VAR = 'JUPYTER_DESKTOPS_RUNTIME';

export interface IMarkedProcess {
  pid: number;
  session: string;
  runtime: string;
}

/** Our own processes (same real uid) that carry the session marker, read from /proc. */
export async function findMarkedProcesses(): Promise<IMarkedProcess[]> {
  const uid = process.getuid ? process.getuid() : -1;
  const out: IMarkedProcess[] = [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return out;
  }
  await Promise.all(
    entries.map(async name => {
      if (!/^\d+$/.test(name)) {
        return;
      }
      const pid = Number(name);
      if (pid === process.pid) {
        return;
      }
      try {
        const status = await readFile(`/proc/${pid}/status`, 'latin1');
        const m = /^Uid:\s+(\d+)/m.exec(status);
        if (!m || Number(m[1]) !== uid) {
          return;
        }
        const env = (await readFile(`/proc/${pid}/environ`, 'latin1')).split('\0');
        let session = '';
        let runtime = '';
        for (const kv of env) {
          if (kv.startsWith(MARKER_VAR + '=')) {
            session = kv.slice(MARKER_VAR.length + 1);
          } else if (kv.startsWith(RUNTIME_VAR + '=')) {
            runtime = kv.slice(RUNTIME_VAR.length + 1);
          }
        }
        if (session) {
          out.push({ pid, session, runtime });
        }
      } catch {
        // The process ended while we looked, or is not ours to read.
      }
    })
  );
  return out;
}

export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (!pgid || pgid <= 1) {
    return;
  }
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/** Whether a process exists (signal 0 probes without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Ends every marked process that `match(runtime, session)` selects: SIGTERM, up to `graceMs`
 * for them to go (a session's reaper then ends what descends from it, the non-dumpable
 * processes no marker finds), then SIGKILL, repeated until none is left (a dying parent may
 * fork once more). Returns how many were found.
 */
export async function sweepMarked(
  match: (runtime: string, session: string) => boolean,
  graceMs = STOP_GRACE_MS,
  rounds = 20
): Promise<number> {
  const find = async (): Promise<IMarkedProcess[]> =>
    (await findMarkedProcesses()).filter(p => match(p.runtime, p.session));
  let found = await find();
  const total = found.length;
  for (const p of found) {
    signalPid(p.pid, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (found.length && Date.now() < deadline) {
    await sleep(50);
    found = await find();
  }
  for (let i = 0; i < rounds && found.length; i++) {
    for (const p of found) {
      signalPid(p.pid, 'SIGKILL');
    }
    await sleep(50);
    found = await find();
  }
  return total;
}

/** Whether a child has exited (or never started). */
export function hasExited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null || !p.pid;
}

/** Resolves once every one of `procs` has exited, or after `timeoutMs`, whichever is first. */
export function waitExit(procs: ChildProcess[], timeoutMs: number): Promise<void> {
  const pending = procs.filter(p => !hasExited(p));
  if (pending.length === 0) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const timer = setTimeout(resolve, timeoutMs);
    let left = pending.length;
    for (const p of pending) {
      p.once('exit', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

/** How long a process group has between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 3000;

/**
 * Ends the process groups led by `procs` (each was spawned detached): SIGTERM, up to
 * `graceMs` for them to go, then SIGKILL to what is left.
 */
export async function endGroups(procs: ChildProcess[], graceMs = STOP_GRACE_MS): Promise<void> {
  for (const p of procs) {
    signalGroup(p.pid, 'SIGTERM');
  }
  await waitExit(procs, graceMs);
  for (const p of procs) {
    signalGroup(p.pid, 'SIGKILL');
  }
  await waitExit(procs, 2000);
}
