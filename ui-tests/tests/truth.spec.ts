// The tab never lies: restored tabs after replacements and reloads end up true (no spinner
// that runs forever), and a tab never offers to go to a desktop that has ended.
import { type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  daemon,
  desktopTab,
  fileBrowser,
  newLauncher,
  openDesktop,
  openLab,
  runningSession,
  stack,
  stopAllDesktops,
  tile,
  waitForDesktop
} from './helpers';

test.beforeEach(async ({ request }) => {
  await stopAllDesktops(request);
});

/** Every desktop tab's state and message, in tab order. */
async function tabs(page: Page): Promise<string[]> {
  return page
    .locator('#jp-main-dock-panel .jp-Desktops-widget')
    .evaluateAll(ws =>
      ws.map(
        w =>
          `${(w as HTMLElement).dataset.state}: ${w.querySelector('.jp-Desktops-message')?.textContent ?? ''}`
      )
    );
}

test('XFCE, then MATE, then two reloads: each tab ends up true, none spins', async ({
  page,
  request
}) => {
  await openDesktop(page, 'XFCE');
  await newLauncher(page);
  await tile(page, 'MATE').click();
  const mate = await desktopTab(page, 'MATE');
  await waitForDesktop(page, mate.panel);
  const s = await runningSession(request);
  for (const round of [1, 2]) {
    await page.reload();
    await waitForDesktop(page, (await desktopTab(page, 'MATE')).panel);
    await expect
      .poll(() => tabs(page), { message: `reload ${round}` })
      .toEqual(['ended: This desktop was replaced by MATE.', 'connected: ']);
    expect((await runningSession(request)).id).toBe(s.id);
  }
});

test('a tab replaced by an app that has since ended does not offer to go to it', async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  await newLauncher(page);
  await tile(page, 'Keys').click();
  const keys = await desktopTab(page, 'Keys');
  // An app's window, not a desktop's picture: connected is what counts.
  await expect(keys.panel.locator('.jp-Desktops-widget')).toHaveAttribute(
    'data-state',
    'connected',
    { timeout: 60_000 }
  );
  const s = await runningSession(request);
  await xfce.tab.click();
  const actions = xfce.panel.locator('.jp-Desktops-actions button');
  await expect(actions).toHaveText(['Go to Keys', 'Restart']);
  // The app ends (its window closed, say): the offer goes with it.
  await daemon(request, 'DELETE', `api/sessions/${s.id}`);
  await expect(actions).toHaveText(['Restart']);
  await expect(xfce.panel.locator('.jp-Desktops-message')).toHaveText(
    'This desktop was replaced by Keys, which has ended since.'
  );
});

/** Clicks the middle of the desktop: it has had input now (it asks before it is ended). */
async function use(page: Page, panel: Locator, request: APIRequestContext, id: string) {
  const box = (await panel.locator('.jp-Desktops-screen canvas').boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await expect
    .poll(async () => (await daemon(request, 'GET', `api/sessions/${id}`)).lastInputAt)
    .toBeTruthy();
}

test('a desktop that ends while its question is open: the question goes, nothing else ends', async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  await use(page, xfce.panel, request, s.id);
  const dialog = page.locator('.jp-Dialog');

  // Stop asks; the desktop ends meanwhile (another window stopped it): nothing left to ask,
  // and the tab stays, saying why.
  await xfce.panel.locator('.jp-Toolbar-item', { hasText: 'Stop' }).click();
  await expect(dialog.locator('.jp-Dialog-header')).toHaveText('Stop XFCE?');
  await daemon(request, 'DELETE', `api/sessions/${s.id}`);
  await expect(dialog).toHaveCount(0);
  await expect(xfce.tab).toHaveCount(1);
  await expect(xfce.panel.locator('.jp-Desktops-message')).toHaveText('XFCE was stopped');

  // A start that would replace a used desktop asks; that desktop ends meanwhile: the start
  // goes on, as the user asked, and ends nothing.
  await xfce.panel.locator('.jp-Desktops-actions button', { hasText: 'Restart' }).click();
  await waitForDesktop(page, xfce.panel);
  const again = await runningSession(request);
  await use(page, xfce.panel, request, again.id);
  await newLauncher(page);
  await tile(page, 'MATE').click();
  await expect(dialog.locator('.jp-Dialog-header')).toHaveText('XFCE is running');
  await daemon(request, 'DELETE', `api/sessions/${again.id}`);
  await expect(dialog).toHaveCount(0);
  const mate = await desktopTab(page, 'MATE');
  await waitForDesktop(page, mate.panel);
  const now = await runningSession(request);
  expect(now.profile).toBe('mate');
  expect((await daemon(request, 'GET', `api/sessions/${again.id}`)).exit.code).toBe('stopped');
});

test('two browser windows on one desktop: both show it; stopped in one, the other says so', async ({
  page,
  context,
  request
}) => {
  const first = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  const other = await context.newPage();
  try {
    await openLab(other);
    await other.locator('.jp-Desktops-statusItem').click();
    const item = other.locator(`.jp-RunningSessions-item[data-context="${s.id}"]`);
    await item.locator('.jp-RunningSessions-itemLabel').click();
    const second = await desktopTab(other, 'XFCE');
    await waitForDesktop(other, second.panel);
    // The first window keeps its connection (the desktop is shared, not taken over).
    await expect(first.panel.locator('.jp-Desktops-widget')).toHaveAttribute(
      'data-state',
      'connected'
    );
    await second.panel.locator('.jp-Toolbar-item', { hasText: 'Stop' }).click();
    await expect(second.tab).toHaveCount(0);
    await expect(first.panel.locator('.jp-Desktops-message')).toHaveText('XFCE was stopped');
    await expect(first.panel.locator('.jp-Desktops-actions button')).toHaveText(['Restart']);
  } finally {
    await other.close();
  }
});

test('"Open in" offers a profile an admin added while Lab was open, once the user moves in the file browser', async ({
  page
}) => {
  await openLab(page);
  const item = await fileBrowser(page);
  await item('data').dblclick();
  const openIn = page.locator(
    '.lm-Menu-item[data-command="desktops:open-file"]:not(.lm-mod-hidden) .lm-Menu-itemLabel'
  );
  await item('temperature.nc').click({ button: 'right' });
  await expect(openIn).toHaveText(['Open in Ncview']);
  await page.keyboard.press('Escape');
  // The admin adds a viewer for .nc files (no launcher opened since).
  const profile = join(stack().state, 'config', 'desktops', 'test-viewer.json');
  writeFileSync(
    profile,
    JSON.stringify({
      id: 'test-viewer',
      title: 'Viewer',
      category: 'Tests',
      xstartup: 'test-fails.sh',
      fileTypes: ['.nc']
    })
  );
  try {
    await page.locator('.jp-BreadCrumbs-home').click();
    await item('data').dblclick();
    await item('temperature.nc').click({ button: 'right' });
    await expect(openIn).toHaveText(['Open in Ncview', 'Open in Viewer']);
    await page.keyboard.press('Escape');
  } finally {
    unlinkSync(profile);
  }
});
