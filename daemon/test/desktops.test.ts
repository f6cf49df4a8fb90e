// The built-in full desktops come up whole: the desktop itself (the window that draws the
// background and icons), the panel and the window manager run, each started once and staying
// up, the session manager did not give up waiting on any of them, and no screen locker or power
// manager runs. As root (the quick start,
// containers) and as an ordinary user (JupyterHub), which MATE treats differently.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureUser,
  processesOfSession,
  readableBundle,
  request,
  requireProgram,
  startDaemon,
  userDaemon,
  waitFor,
  type ITestDaemon
} from './helpers';

interface IDesktop {
  profile: 'xfce' | 'mate';
  /** The programs that make the desktop, by argv[0]'s basename. */
  parts: string[];
  /** The desktop window, as `xwininfo -root -tree` lists it. */
  desktopWindow: RegExp;
}

const DESKTOPS: IDesktop[] = [
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

/** argv[0] basename → pids, among the session's processes. */
function partsOf(id: string, parts: string[]): Map<string, number[]> {
  const found = new Map<string, number[]>(parts.map(p => [p, []]));
  for (const p of processesOfSession(id)) {
    const name = basename(p.argv[0] ?? '');
    found.get(name)?.push(p.pid);
  }
  return found;
}

/** The session's root window tree, read with its own DISPLAY and cookie. */
function windowTree(id: string): string {
  const x = processesOfSession(id).find(p => p.env.has('DISPLAY') && p.env.has('XAUTHORITY'));
  if (!x) return '';
  return execFileSync('xwininfo', ['-root', '-tree'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      DISPLAY: x.env.get('DISPLAY'),
      XAUTHORITY: x.env.get('XAUTHORITY')
    }
  });
}

async function expectWhole(socket: string, id: string, d: IDesktop): Promise<void> {
  await waitFor(
    () => d.desktopWindow.test(windowTree(id)),
    20000,
    `the ${d.profile} desktop window`
  );
  const first = partsOf(id, d.parts);
  for (const [name, pids] of first) expect(pids, `${name} runs, once`).toHaveLength(1);
  // Still the same processes a moment later: nothing is being restarted over and over.
  await new Promise(r => setTimeout(r, 3000));
  expect(partsOf(id, d.parts)).toEqual(first);
  expect((await request(socket, 'GET', `/api/sessions/${id}`)).json.state).toBe('running');
  const names = processesOfSession(id).map(p => basename(p.argv[0] ?? ''));
  for (const [locker] of LOCKERS) expect(names, `${locker} is not started`).not.toContain(locker);
  const log = (await request(socket, 'GET', `/api/sessions/${id}/log`)).json.text;
  expect(log).not.toMatch(/failed to register before timeout/);
}

beforeAll(() => {
  requireProgram('Xtigervnc', 'tigervnc-standalone-server');
  requireProgram('xfce4-session', 'xfce4');
  requireProgram('mate-session', 'mate-desktop-environment-core');
  requireProgram('xwininfo', 'x11-utils');
  for (const [program, pkg] of LOCKERS) requireProgram(program, pkg);
});

describe('as root', () => {
  let d: ITestDaemon;
  beforeAll(async () => {
    d = await startDaemon([]);
  });
  afterAll(() => d?.close());

  for (const desktop of DESKTOPS) {
    it(`${desktop.profile}: the desktop, panel and window manager run, once each, and stay; no locker`, async () => {
      const s = (await request(d.socket, 'POST', '/api/sessions', { profile: desktop.profile }))
        .json;
      expect(s.state).toBe('running');
      await expectWhole(d.socket, s.id, desktop);
      await request(d.socket, 'DELETE', `/api/sessions/${s.id}`);
    });
  }
});

describe('as an ordinary user', () => {
  const user = 'desktops-desk';
  let daemon: { proc: ChildProcess; socket: string };
  beforeAll(async () => {
    ensureUser(user);
    daemon = await userDaemon(user, readableBundle());
  }, 60_000);
  afterAll(async () => {
    daemon?.proc.kill('SIGTERM');
    await new Promise(r =>
      daemon?.proc.exitCode !== null ? r(null) : daemon.proc.once('exit', r)
    );
  });

  for (const desktop of DESKTOPS) {
    it(`${desktop.profile}: the desktop, panel and window manager run, once each, and stay; no locker`, async () => {
      const s = (
        await request(daemon.socket, 'POST', '/api/sessions', { profile: desktop.profile })
      ).json;
      expect(s.state).toBe('running');
      const { uid } = ensureUser(user);
      expect(new Set(processesOfSession(s.id).map(p => p.uid))).toEqual(new Set([uid]));
      await expectWhole(daemon.socket, s.id, desktop);
      await request(daemon.socket, 'DELETE', `/api/sessions/${s.id}`);
    });
  }
});
