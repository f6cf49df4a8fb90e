// A desktop ready before the click: the launcher has the daemon start an X server of the size
// the tab will have, and the click's session runs on it (the same Xtigervnc process).
import { expect, test } from './fixtures';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import {
  desktopTab,
  newLauncher,
  openLab,
  runningSession,
  stopAllDesktops,
  tile,
  waitForDesktop,
  xvncPid,
  spareDir
} from './helpers';

interface ISpareServer {
  id: string;
  pid: number;
  geometry: string;
}

/** The pre-started X server on this host: an Xtigervnc whose directory is marked `spare`. */
function spareServer(): ISpareServer | null {
  for (const name of readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      const dir = spareDir(argv, existsSync);
      if (dir) {
        return {
          id: dir.split('/').pop()!,
          pid: Number(name),
          geometry: argv[argv.indexOf('-geometry') + 1]
        };
      }
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

test.describe.serial('an X server started ahead of the click', () => {
  test.beforeEach(async ({ request }) => {
    await stopAllDesktops(request);
  });

  test('the launcher has one of the next tab’s size ready, and the click’s desktop runs on it', async ({
    page,
    request
  }) => {
    await openLab(page);
    await expect
      .poll(spareServer, { message: 'an X server started as the launcher showed' })
      .not.toBeNull();
    const spare = spareServer();
    await tile(page, 'XFCE').click();
    const { panel } = await desktopTab(page, 'XFCE');
    await waitForDesktop(page, panel);
    const s = await runningSession(request);
    // The session is the pre-started server's: the size it had, same id, same process.
    expect(`${s.width}x${s.height}`).toBe(spare!.geometry);
    expect(s.id).toBe(spare!.id);
    expect(xvncPid(s.id)).toBe(spare!.pid);
    // ...which is the size the tab asked for: its desktop fills it, nothing to resize.
    const widget = panel.locator('.jp-Desktops-widget');
    const box = await widget.evaluate(n => `${n.clientWidth & ~1}x${n.clientHeight & ~1}`);
    expect(box).toBe(spare!.geometry);
    expect(spareServer()).toBeNull();

    // The next launcher asks again, at the size it learned from this tab.
    await newLauncher(page);
    await expect.poll(() => spareServer()?.geometry).toBe(spare!.geometry);
  });
});
