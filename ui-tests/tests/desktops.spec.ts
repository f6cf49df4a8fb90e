// The whole path, as a user takes it: launcher tiles, a live XFCE desktop in a tab, MATE
// replacing it, and stopping from the command palette.
import { expect, test } from './fixtures';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  daemon,
  desktopTab,
  newLauncher,
  openDesktop,
  openLab,
  regionHash,
  runningSession,
  sessionPids,
  stableHash,
  stack,
  stopAllDesktops,
  tile,
  waitForDesktop,
  xvncPid
} from './helpers';

test.describe.serial('desktops in JupyterLab', () => {
  test.beforeAll(async ({ request }) => {
    // Start from no desktop at all.
    await stopAllDesktops(request);
  });

  test("the launcher shows the five tiles and an admin's, each available only where its software is", async ({
    page
  }) => {
    await openLab(page);
    const section = page.locator('.jp-Launcher-section', {
      has: page.locator('.jp-Launcher-sectionTitle', { hasText: /^Desktops$/ })
    });
    await expect(section.locator('.jp-LauncherCard-label')).toHaveText([
      'XFCE',
      'MATE',
      'NCAR VAPOR',
      'NASA Panoply',
      'MATLAB',
      'Ncview'
    ]);
    for (const t of ['XFCE', 'MATE']) {
      await expect(tile(page, t).locator('.jp-Desktops-unavailable')).toHaveCount(0);
      await expect(tile(page, t).locator('svg.jp-Desktops-icon image')).toHaveCount(1);
    }
    await expect(tile(page, 'NCAR VAPOR')).toHaveAttribute(
      'title',
      'Unavailable: VAPOR is not installed: vapor not found at /opt/vapor/bin/vapor, /opt/vapor/vapor.AppImage, /usr/local/vapor/bin/vapor, /usr/local/bin/vapor or on PATH'
    );
    await expect(tile(page, 'NASA Panoply')).toHaveAttribute(
      'title',
      /^Unavailable: Panoply is not installed: panoply not found at \/opt\/panoply\/panoply.sh/
    );
    await expect(tile(page, 'MATLAB')).toHaveAttribute(
      'title',
      /^Unavailable: MATLAB is not installed: matlab not found at /
    );
    for (const t of ['NCAR VAPOR', 'NASA Panoply', 'MATLAB']) {
      await expect(tile(page, t).locator('.jp-Desktops-unavailable')).toHaveCount(1);
      expect(await tile(page, t).evaluate(e => getComputedStyle(e).opacity)).toBe('0.5');
    }
    // Each icon is our SVG, served by the daemon through the same route.
    const icon = await page.request.get(`${stack().base}desktops/api/profiles/vapor/icon`, {
      headers: { Authorization: `token ${stack().token}` }
    });
    expect(icon.headers()['content-type']).toBe('image/svg+xml');
  });

  test('a disabled tile says why and starts nothing', async ({ page, request }) => {
    await openLab(page);
    await tile(page, 'NCAR VAPOR').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('NCAR VAPOR is not available');
    await expect(dialog).toContainText('vapor not found at /opt/vapor/bin/vapor');
    await dialog.locator('button', { hasText: 'Ok' }).click();
    const sessions = (await daemon(request, 'GET', 'api/sessions')).sessions;
    expect(sessions.filter((s: any) => s.profile === 'vapor')).toEqual([]);
  });

  test('XFCE opens in a tab, sized to it, and takes mouse and keyboard; MATE replaces it; Stop ends it', async ({
    page,
    request
  }) => {
    const xfce = await openDesktop(page, 'XFCE');
    const stats = xfce.stats;
    expect(stats.colours).toBeGreaterThanOrEqual(16);

    const running = (await daemon(request, 'GET', 'api/sessions')).sessions.filter(
      (s: any) => s.state === 'running'
    );
    expect(running.map((s: any) => s.profile)).toEqual(['xfce']);
    const xfceSession = running[0];
    // Sized to the tab: the remote screen is the widget's size (to the even pixel).
    const box = (await xfce.panel.locator('.jp-Desktops-widget').boundingBox())!;
    expect(Math.abs(xfceSession.width - box.width)).toBeLessThanOrEqual(2);
    expect(Math.abs(xfceSession.height - box.height)).toBeLessThanOrEqual(2);
    expect(stats.width).toBe(xfceSession.width);

    // Mouse: a click on the Applications button (top left of the panel) opens its menu below.
    const canvas = xfce.panel.locator('.jp-Desktops-screen canvas');
    const cbox = (await canvas.boundingBox())!;
    const menuArea = (): Promise<number> => regionHash(xfce.panel, 0, 40, 300, 260);
    const before = await stableHash(page, menuArea);
    await page.mouse.click(cbox.x + 40, cbox.y + 12);
    await expect.poll(menuArea, { timeout: 15_000 }).not.toBe(before);
    const open = await stableHash(page, menuArea);
    // Keyboard: Escape closes the menu again.
    await page.keyboard.press('Escape');
    await expect.poll(menuArea, { timeout: 15_000 }).not.toBe(open);
    expect(sessionPids(xfceSession.id).length).toBeGreaterThan(3);

    // XFCE had clicks and keys: MATE replaces it only when the user says so, naming both.
    await newLauncher(page);
    await tile(page, 'MATE').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText('XFCE is running');
    await expect(dialog.locator('.jp-Dialog-body')).toHaveText(
      'Replace it with MATE? Unsaved work in XFCE is lost.'
    );
    await dialog.locator('button', { hasText: 'Keep' }).click();
    await expect(dialog).toHaveCount(0);
    expect((await daemon(request, 'GET', `api/sessions/${xfceSession.id}`)).state).toBe('running');
    await expect(
      page.locator('#jp-main-dock-panel .lm-TabBar-tabLabel', { hasText: /^MATE$/ })
    ).toHaveCount(0);

    // MATE replaces XFCE: the old tab says so, and nothing of the XFCE session is left.
    await tile(page, 'MATE').click();
    await dialog.locator('button', { hasText: 'Replace' }).click();
    const mate = await desktopTab(page, 'MATE');
    await waitForDesktop(page, mate.panel);
    const old = await daemon(request, 'GET', `api/sessions/${xfceSession.id}`);
    expect(old.state).toBe('exited');
    expect(old.exit.code).toBe('replaced');
    expect(sessionPids(xfceSession.id)).toEqual([]);
    await xfce.tab.click();
    await expect(xfce.panel.locator('.jp-Desktops-message')).toHaveText(
      'This desktop was replaced by MATE.'
    );
    await expect(xfce.panel.locator('.jp-Desktops-actions button')).toHaveText([
      'Go to MATE',
      'Restart'
    ]);

    // Stop from the command palette ends MATE and closes its tab.
    await mate.tab.click();
    const mateSession = (await daemon(request, 'GET', 'api/sessions')).sessions.find(
      (s: any) => s.state === 'running'
    );
    expect(mateSession.profile).toBe('mate');
    // Keys typed in the desktop go to the desktop, so open the palette from Lab's View menu.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^View$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Activate Command Palette$/ }).click();
    await page.locator('.lm-CommandPalette-input').fill('Stop Desktop');
    await page.locator('.lm-CommandPalette-item', { hasText: 'Stop Desktop' }).first().click();
    await expect(mate.tab).toHaveCount(0);
    const ended = await daemon(request, 'GET', `api/sessions/${mateSession.id}`);
    expect(ended).toMatchObject({ state: 'exited', exit: { code: 'stopped' } });
    expect(sessionPids(mateSession.id)).toEqual([]);
  });

  test('Stop asks before ending a desktop that had clicks or keys; Keep keeps it; the setting turns the question off', async ({
    page,
    request
  }) => {
    const xfce = await openDesktop(page, 'XFCE');
    const s = await runningSession(request);
    expect(s.lastInputAt).toBeUndefined();
    const canvas = xfce.panel.locator('.jp-Desktops-screen canvas');
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect
      .poll(async () => (await daemon(request, 'GET', `api/sessions/${s.id}`)).lastInputAt)
      .toBeTruthy();

    const stop = xfce.panel.locator('.jp-Toolbar-item', { hasText: 'Stop' });
    await stop.click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText('Stop XFCE?');
    await expect(dialog.locator('.jp-Dialog-body')).toHaveText('Unsaved work in XFCE is lost.');
    await dialog.locator('button', { hasText: 'Keep' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(xfce.tab).toHaveCount(1);
    expect((await daemon(request, 'GET', `api/sessions/${s.id}`)).state).toBe('running');

    const settingsUrl = `${stack().base}lab/api/settings/jupyterlab-desktops:plugin`;
    const headers = { Authorization: `token ${stack().token}` };
    await page.request.put(settingsUrl, { headers, data: { raw: '{"confirmEnd": false}' } });
    try {
      await page.reload();
      const again = await desktopTab(page, 'XFCE');
      await waitForDesktop(page, again.panel);
      await again.panel.locator('.jp-Toolbar-item', { hasText: 'Stop' }).click();
      await expect(again.tab).toHaveCount(0);
      await expect(dialog).toHaveCount(0);
      expect((await daemon(request, 'GET', `api/sessions/${s.id}`)).state).toBe('exited');
    } finally {
      await page.request.put(settingsUrl, { headers, data: { raw: '{}' } });
    }
  });

  test("a desktop whose X server is killed says so, Restart brings a new one, and the tab's Stop button ends it", async ({
    page,
    request
  }) => {
    const xfce = await openDesktop(page, 'XFCE');
    const s = (await daemon(request, 'GET', 'api/sessions')).sessions.find(
      (x: any) => x.state === 'running'
    );
    process.kill(xvncPid(s.id), 'SIGKILL');
    await expect(xfce.panel.locator('.jp-Desktops-message')).toHaveText(
      'The X server exited (SIGKILL)'
    );
    await expect(xfce.panel.locator('.jp-Desktops-log')).toBeVisible();
    await xfce.panel.locator('.jp-Desktops-actions button', { hasText: 'Restart' }).click();
    await waitForDesktop(page, xfce.panel);
    const after = (await daemon(request, 'GET', 'api/sessions')).sessions.filter(
      (x: any) => x.state === 'running'
    );
    expect(after.map((x: any) => x.profile)).toEqual(['xfce']);
    expect(after[0].id).not.toBe(s.id);
    expect(sessionPids(s.id)).toEqual([]);

    // The toolbar's Stop (the palette's is in the test above) ends it and closes the tab.
    await xfce.panel.locator('.jp-Toolbar-item', { hasText: 'Stop' }).click();
    await expect(xfce.tab).toHaveCount(0);
    expect((await daemon(request, 'GET', `api/sessions/${after[0].id}`)).state).toBe('exited');
    expect(sessionPids(after[0].id)).toEqual([]);
  });
});

test('a tile becomes available when its program is installed, without a reload', async ({
  page
}) => {
  await openLab(page);
  const late = () =>
    page.locator('.jp-Launcher:visible .jp-LauncherCard', {
      has: page.locator('.jp-LauncherCard-label', { hasText: /^Late$/ })
    });
  await expect(late().locator('.jp-Desktops-unavailable')).toHaveCount(1);
  await expect(late()).toHaveAttribute('title', /The late FAKE app is not installed/);
  const program = join(stack().state, 'FAKE-late-app');
  writeFileSync(program, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  try {
    await newLauncher(page);
    await expect(late().locator('.jp-Desktops-icon')).toHaveCount(1);
    await expect(late().locator('.jp-Desktops-unavailable')).toHaveCount(0);
    await expect(late()).toHaveAttribute('title', 'Late');
  } finally {
    unlinkSync(program);
  }
});

test('a start that fails says why in the tab and shows the session log, as text', async ({
  page
}) => {
  // global-setup puts a test-only admin profile in the isolated Jupyter config dir.
  await openLab(page);
  const t = page.locator('.jp-LauncherCard', {
    has: page.locator('.jp-LauncherCard-label', { hasText: 'Fails <b>' })
  });
  await expect(t).toHaveCount(1);
  // The tooltip is the literal title too.
  await expect(t).toHaveAttribute('title', 'Fails <b>bold</b>');
  await t.click();
  const { panel } = await desktopTab(page, 'Fails <b>bold</b>');
  await expect(panel.locator('.jp-Desktops-message')).toHaveText(
    /^Fails <b>bold<\/b> did not start: its start script exited \(status 1\)/
  );
  await expect(panel.locator('.jp-Desktops-log')).toContainText(
    '<img src=x onerror=window.__xss=1>'
  );
  await expect(panel.locator('.jp-Desktops-log img, .jp-Desktops-message b')).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  // The log box shows its end, where the cause is, not the warnings above it.
  const log = panel.locator('.jp-Desktops-log');
  expect(await log.evaluate(e => e.scrollHeight > e.clientHeight)).toBe(true);
  await expect
    .poll(() => log.evaluate(e => e.scrollHeight - e.scrollTop - e.clientHeight))
    .toBeLessThanOrEqual(1);
  await expect(panel.locator('.jp-Desktops-actions button')).toHaveText(['Retry']);
});
