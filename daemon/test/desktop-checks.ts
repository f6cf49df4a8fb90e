// What a real full desktop (XFCE, MATE) must be, checked the same way whoever runs it (the
// test's own user in desktops.test.ts, another Linux user in root/desktops-as-user.test.ts):
// whole (the desktop window, panel and window manager, each once and staying up), no screen
// locker or power manager, no TCP or UDP listener, no secret in any argv or environment, and
// nothing left once stopped.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import {
  listenersOf,
  processesOfSession,
  request,
  requireProgram,
  startSession,
  waitFor,
  windowTree
} from './helpers';

export interface IDesktop {
  profile: 'xfce' | 'mate';
  /** The programs that make the desktop, by argv[0]'s basename. */
  parts: string[];
  /** The desktop window, as `xwininfo -root -tree` lists it. */
  desktopWindow: RegExp;
}

export const DESKTOPS: IDesktop[] = [
  {
    profile: 'xfce',
    parts: ['xfwm4', 'xfce4-panel', 'xfdesktop'],
    desktopWindow: /"Desktop": \("xfdesktop" "Xfdesktop"\)/
  },
  {
    profile: 'mate',
    parts: ['marco', 'mate-panel', 'caja'],
    desktopWindow: /"Desktop": \("desktop_window" "Caja"\)/
  }
];

/**
 * Installed (setup.sh installs them, as a full desktop install would) and autostarted from
 * /etc/xdg/autostart, unless our sessions hide them: a lock screen in a tab would ask for a
 * password a JupyterHub user may not have, and a power manager has no screen to blank.
 */
const LOCKERS: [string, string][] = [
  ['mate-screensaver', 'mate-screensaver'],
  ['light-locker', 'light-locker'],
  ['mate-power-manager', 'mate-power-manager'],
  ['xfce4-power-manager', 'xfce4-power-manager']
];

/** What Jupyter's and JupyterHub's environment holds, and no desktop may see. */
export const SECRETS: Record<string, string> = {
  JUPYTERHUB_API_TOKEN: 'hub-secret-5f3a',
  JPY_API_TOKEN: 'jpy-secret-9c1e',
  JUPYTER_TOKEN: 'jupyter-secret-77d0'
};

/** How long each part must live, unrestarted, to count as staying up. */
const STAYS_UP_S = 3;

export function requireDesktopPrograms(): void {
  requireProgram('Xtigervnc', 'tigervnc-standalone-server');
  requireProgram('xfce4-session', 'xfce4');
  requireProgram('mate-session', 'mate-desktop-environment-core');
  requireProgram('xwininfo', 'x11-utils');
  for (const [program, pkg] of LOCKERS) {
    requireProgram(program, pkg);
  }
}

/** argv[0] basename → pids, among the session's processes. */
function partsOf(id: string, parts: string[]): Map<string, number[]> {
  const found = new Map<string, number[]>(parts.map(p => [p, []]));
  for (const p of processesOfSession(id)) {
    found.get(basename(p.argv[0] ?? ''))?.push(p.pid);
  }
  return found;
}

/** The session's root window tree, read with its own DISPLAY and cookie. */
function sessionWindows(id: string): string {
  const x = processesOfSession(id).find(p => p.env.has('DISPLAY') && p.env.has('XAUTHORITY'));
  return x ? windowTree(x.env.get('DISPLAY')!, x.env.get('XAUTHORITY')!) : '';
}

/** Seconds since a process started (/proc/<pid>/stat field 22, in clock ticks). */
function ageOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  const uptime = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
  return uptime - startTicks / 100;
}

/**
 * Starts `d` through the daemon on `socket`, checks it as the file's comment says, and stops
 * it. `daemonPid`: the daemon's own process, when it is not this one, whose argv is checked too.
 */
export async function checkDesktop(
  socket: string,
  d: IDesktop,
  o: { headers?: Record<string, string>; daemonPid?: number; uid?: number } = {}
): Promise<void> {
  const tmpBefore = tmpLeftovers();
  const s = await startSession(socket, { profile: d.profile }, { headers: o.headers });
  expect(s.state, JSON.stringify(s)).toBe('running');
  await waitFor(
    () => d.desktopWindow.test(sessionWindows(s.id)),
    20000,
    `the ${d.profile} desktop window`
  );
  const first = partsOf(s.id, d.parts);
  for (const [name, pids] of first) {
    expect(pids, `${name} runs, once`).toHaveLength(1);
  }
  // Each part lives on, the same process: nothing is being restarted over and over.
  await waitFor(
    () => {
      expect(partsOf(s.id, d.parts)).toEqual(first);
      return [...first.values()].every(([pid]) => ageOf(pid) >= STAYS_UP_S);
    },
    20000,
    `the ${d.profile} parts to stay up ${STAYS_UP_S} s`
  );

  const procs = processesOfSession(s.id);
  const home = procs.find(p => p.env.has('HOME'))!.env.get('HOME')!;
  const iceAuthority = (): string => {
    const f = join(home, '.ICEauthority');
    return existsSync(f) ? `${statSync(f).size} ${statSync(f).mtimeMs}` : 'none';
  };
  const iceBefore = iceAuthority();
  if (o.uid !== undefined) {
    expect(new Set(procs.map(p => p.uid))).toEqual(new Set([o.uid]));
  }
  const names = procs.map(p => basename(p.argv[0] ?? ''));
  for (const [locker] of LOCKERS) {
    expect(names, `${locker} is not started`).not.toContain(locker);
  }
  expect(listenersOf(procs.map(p => p.pid))).toEqual([]);
  const token = /^token (.+)$/.exec(o.headers?.authorization ?? '')?.[1];
  const needles = [...Object.values(SECRETS), ...(token ? [token] : [])];
  for (const p of procs) {
    for (const n of needles) {
      expect(p.argv.join(' '), `argv of ${p.pid}`).not.toContain(n);
    }
    for (const [k, v] of p.env) {
      expect(Object.keys(SECRETS), `environment of ${p.pid}`).not.toContain(k);
      for (const n of needles) {
        expect(v, `${k} of ${p.pid}`).not.toContain(n);
      }
    }
  }
  if (o.daemonPid !== undefined) {
    const argv = readFileSync(`/proc/${o.daemonPid}/cmdline`, 'latin1');
    for (const n of needles) {
      expect(argv, "the daemon's argv").not.toContain(n);
    }
  }
  const log = (await request(socket, 'GET', `/api/sessions/${s.id}/log`, undefined, o.headers)).json
    .text;
  expect(log).not.toMatch(/failed to register before timeout/);

  await request(socket, 'DELETE', `/api/sessions/${s.id}`, undefined, o.headers);
  expect(processesOfSession(s.id).map(p => `${p.pid} ${p.argv.join(' ')}`)).toEqual([]);
  // Nothing of the session is left in /tmp, and the user's ~/.ICEauthority does not grow.
  expect(tmpLeftovers().filter(f => !tmpBefore.includes(f))).toEqual([]);
  expect(iceAuthority()).toBe(iceBefore);
}

/** What desktops used to leave in /tmp: agents' and ICE sockets, session bus sockets. */
function tmpLeftovers(): string[] {
  const list = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir).map(n => join(dir, n)) : [];
  return [
    ...list('/tmp').filter(f =>
      /^(ssh-|\.xfsm-ICE-|dbus-|jupyter-desktops-tmp-)/.test(basename(f))
    ),
    ...list('/tmp/.ICE-unix'),
    ...list('/tmp/.X11-unix')
  ];
}
