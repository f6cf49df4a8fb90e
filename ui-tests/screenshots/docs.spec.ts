// The README's screenshots, in Lab's light and dark themes, and docs/apps.md's: applications
// started for real as app-only tiles.
import { expect, test, type Page } from '@playwright/test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  desktopTab,
  fileBrowser,
  newLauncher,
  newNotebook,
  openLab,
  settledPicture,
  stack,
  tile,
  waitForDesktop
} from '../tests/helpers';

const DOCS = join(__dirname, '..', '..', 'docs');

async function setTheme(page: Page, theme: 'JupyterLab Light' | 'JupyterLab Dark'): Promise<void> {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${theme}$`) }).click();
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
}

test('dark: XFCE beside a notebook', async ({ page }) => {
  await openLab(page);
  await setTheme(page, 'JupyterLab Dark');
  await tile(page, 'XFCE').click();
  const xfce = await desktopTab(page, 'XFCE');
  await waitForDesktop(page, xfce.panel);
  // A notebook in the left half.
  await newNotebook(page);
  await page.keyboard.type('import xarray as xr\nds = xr.open_dataset("data/temperature.nc")');
  const nbTab = page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'Untitled' }).first();
  const dock = (await page.locator('#jp-main-dock-panel').boundingBox())!;
  const from = (await nbTab.boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) {
    await page.mouse.move(from.x + ((dock.x + 30 - from.x) * i) / 20, dock.y + dock.height / 2);
  }
  await page.mouse.up();
  await xfce.tab.click();
  await settledPicture(page, xfce.panel);
  await page.screenshot({ path: join(DOCS, 'screenshot-dark.png') });
  await setTheme(page, 'JupyterLab Light');
});

test('light: the toolbar and its keyboard menu', async ({ page }) => {
  await openLab(page);
  await tile(page, 'XFCE').click();
  const xfce = await desktopTab(page, 'XFCE');
  await waitForDesktop(page, xfce.panel);
  await settledPicture(page, xfce.panel);
  await xfce.panel.locator('..').locator('[data-command="desktops:send-keys"]').click();
  await page.locator('.lm-Menu').waitFor();
  await page.screenshot({ path: join(DOCS, 'screenshot-light.png') });
  await page.keyboard.press('Escape');
});

test('apps: ncview on a NetCDF file, from "Open in Ncview"', async ({ page }) => {
  await openLab(page);
  const item = await fileBrowser(page);
  await item('data').dblclick();
  await item('temperature.nc').click({ button: 'right' });
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Open in Ncview$/ }).click();
  const ncview = await desktopTab(page, 'Ncview: temperature.nc');
  await waitForDesktop(page, ncview.panel);
  await settledPicture(page, ncview.panel);
  await page.screenshot({ path: join(DOCS, 'screenshot-app-ncview.png') });
});

test('apps: glxgears on software OpenGL, as a tile an admin added', async ({ page }) => {
  // The admin's profile, in the profile directory this Lab reads; picked up by a new launcher.
  const dir = join(stack().state, 'config', 'desktops');
  writeFileSync(
    join(dir, 'gears.json'),
    JSON.stringify({
      id: 'gears',
      title: 'GL gears',
      category: 'Examples',
      kind: 'app',
      gl: '3.3',
      xstartup: 'gears.sh',
      requires: [{ command: 'glxgears', env: 'DESKTOPS_APP', name: 'glxgears (mesa-utils)' }]
    })
  );
  writeFileSync(
    join(dir, 'gears.sh'),
    '#!/bin/sh\nexec "$DESKTOPS_APP_SESSION" "$DESKTOPS_APP"\n',
    {
      mode: 0o755
    }
  );
  try {
    await openLab(page);
    await newLauncher(page);
    await tile(page, 'GL gears').click();
    const gears = await desktopTab(page, 'GL gears');
    // Animated: never still. The app starts under its window manager, so it is drawn
    // maximized from its first frame.
    await waitForDesktop(page, gears.panel);
    await page.screenshot({ path: join(DOCS, 'screenshot-app-glxgears.png') });
  } finally {
    rmSync(join(dir, 'gears.json'));
    rmSync(join(dir, 'gears.sh'));
  }
});
