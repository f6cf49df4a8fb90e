// The teaching case: a room of users on one server log in and start a desktop within the same
// minute. Every desktop must come up; the test reports each user's click-to-desktop time and
// what the server's memory holds (the users' processes, PSS), with none and with eight desktops.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { desktopTab, tile, waitForDesktop } from '../tests/helpers';
import { login, ownSessions, stopOwnSessions, type IUser } from './helpers';
import { hubStack } from './stack';
import { USERS } from './users';

/** PSS in MiB of every process of these uids (their servers, services and desktops). */
function pssMiB(uids: Set<number>): number {
  let kib = 0;
  for (const pid of readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]);
      if (!uids.has(uid)) {
        continue;
      }
      kib += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))![1]);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

/** How many X servers these uids run (a desktop's, or one waiting for the click). */
function xServers(uids: Set<number>): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'latin1');
      if (
        /^Name:\s+Xtigervnc$/m.test(status) &&
        uids.has(Number(/^Uid:\s+(\d+)/m.exec(status)![1]))
      ) {
        n++;
      }
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** PSS once it settles: two readings a second apart within 1 % of each other. */
async function settledPssMiB(uids: Set<number>): Promise<number> {
  let last = pssMiB(uids);
  const deadline = Date.now() + 60_000;
  for (;;) {
    await new Promise(r => setTimeout(r, 1000));
    const now = pssMiB(uids);
    if (Math.abs(now - last) <= last * 0.01 || Date.now() > deadline) {
      return now;
    }
    last = now;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('a workshop: eight users log in and start XFCE within the same minute, and every desktop comes up', async ({
  browser
}) => {
  console.log(`route for {base_url}desktops/: ${hubStack().route}`);
  const uids = new Set(
    USERS.workshop.map(u => Number(execFileSync('id', ['-u', u], { encoding: 'utf8' })))
  );
  const loggedIn = Date.now();
  const users: IUser[] = await Promise.all(USERS.workshop.map(u => login(browser, u)));
  const loginSeconds = (Date.now() - loggedIn) / 1000;
  try {
    // Their JupyterLabs are up, no desktop yet (the other theme's run left its own up).
    await Promise.all(users.map(stopOwnSessions));
    const labsOnly = await settledPssMiB(uids);
    // Each launcher had an X server of its tab's size started for the click (prestart_minutes).
    const waiting = xServers(uids);

    const clicked = Date.now();
    const times = await Promise.all(
      users.map(async u => {
        const t0 = Date.now();
        await tile(u.page, 'XFCE').click();
        const { panel } = await desktopTab(u.page, 'XFCE');
        await waitForDesktop(u.page, panel, 240_000);
        return (Date.now() - t0) / 1000;
      })
    );
    const allUp = (Date.now() - clicked) / 1000;
    // Every one running, its own, once.
    let geometry = '';
    for (const u of users) {
      const running = (await ownSessions(u)).filter(s => s.state === 'running');
      expect(
        running.map(s => s.profile),
        u.name
      ).toEqual(['xfce']);
      geometry = `${running[0].width}x${running[0].height}`;
    }
    // Once the desktops settle (panels, daemons).
    const withDesktops = await settledPssMiB(uids);
    const meminfo = readFileSync('/proc/meminfo', 'latin1');
    const total = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)![1]) / 1024;

    const report = {
      route: hubStack().route,
      users: users.length,
      login_all_s: Math.round(loginSeconds),
      click_to_desktop_s: Object.fromEntries(
        users.map((u, i) => [u.name, Number(times[i].toFixed(1))])
      ),
      click_to_desktop_median_s: Number(median(times).toFixed(1)),
      click_to_desktop_max_s: Number(Math.max(...times).toFixed(1)),
      all_desktops_up_s: Number(allUp.toFixed(1)),
      users_pss_mib_labs_only: Math.round(labsOnly),
      x_servers_before_the_click: waiting,
      users_pss_mib_with_desktops: Math.round(withDesktops),
      per_user_mib: Math.round(withDesktops / users.length),
      per_desktop_mib: Math.round((withDesktops - labsOnly) / users.length),
      desktop_geometry: geometry,
      server_mem_total_mib: Math.round(total),
      cpus: Number(execFileSync('nproc', { encoding: 'utf8' }))
    };
    console.log(`workshop: ${JSON.stringify(report, null, 2)}`);
    const out = resolve(__dirname, '..', 'test-results', 'hub');
    mkdirSync(out, { recursive: true });
    writeFileSync(resolve(out, 'workshop.json'), JSON.stringify(report, null, 2) + '\n');
  } finally {
    await Promise.all(users.map(u => u.context.close()));
  }
});
