// A desktop that feels part of JupyterLab: it follows the tab's size, carries the clipboard
// both ways, keeps the keys while focused, survives a lost connection and a page reload, and
// is reachable from the toolbar, the palette, the status bar and the file browser.
import { type Locator, type Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { readFileSync } from 'node:fs';
import {
  daemon,
  desktopTab,
  fileBrowser,
  inSession,
  newLauncher,
  newNotebook,
  openDesktop,
  openLab,
  relay,
  remoteGeometry,
  resizeDecision,
  runningSession,
  sessionPids,
  stack,
  stopAllDesktops,
  tile,
  TOOLBAR_COMMANDS,
  waitForDesktop,
  xvncPid
} from './helpers';

test.beforeEach(async ({ request }) => {
  await stopAllDesktops(request);
});

/** The desktop's drawing area, as the browser lays it out. */
async function screenBox(panel: Locator): Promise<{ width: number; height: number }> {
  const b = (await panel.locator('.jp-Desktops-screen').boundingBox())!;
  return { width: Math.floor(b.width), height: Math.floor(b.height) };
}

/** Waits until the X screen of `id` has the size of the tab's drawing area. */
async function expectFollows(
  panel: Locator,
  id: string
): Promise<{ width: number; height: number }> {
  let want = await screenBox(panel);
  await expect
    .poll(
      async () => {
        want = await screenBox(panel);
        return remoteGeometry(id);
      },
      { timeout: 20_000 }
    )
    .toEqual(want);
  return want;
}

/** The sessions route, with the cache-busting query string Lab adds. */
const SESSIONS_URL = /\/desktops\/api\/sessions(\?[^/]*)?$/;

/** A setting of ours as the server has stored it. */
async function savedSetting(page: Page, key: string): Promise<unknown> {
  const r = await page.request.get(`${stack().base}lab/api/settings/jupyterlab-desktops:plugin`, {
    headers: { Authorization: `token ${stack().token}` }
  });
  return (await r.json()).settings[key];
}

/** Waits until the tab's toolbar says the desktop is connected. */
async function connected(panel: Locator): Promise<void> {
  await expect(panel.locator('..').locator('.jp-Desktops-state')).toHaveText('Connected', {
    timeout: 60_000
  });
}

async function runCommand(page: Page, label: string): Promise<void> {
  // Keys typed in a desktop go to the desktop, so open the palette from the View menu.
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^View$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Activate Command Palette$/ }).click();
  await page.locator('.lm-CommandPalette-input').fill(label);
  await page
    .locator('.lm-CommandPalette-item:not(.lm-mod-disabled)', {
      has: page.locator('.lm-CommandPalette-itemLabel', { hasText: label })
    })
    .first()
    .click();
}

test('the remote desktop follows the tab: window, side panel, split, single-document mode, hidden tab', async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  const start = await expectFollows(xfce.panel, s.id);

  // A smaller browser window.
  await page.setViewportSize({ width: 1100, height: 760 });
  const smaller = await expectFollows(xfce.panel, s.id);
  expect(smaller.width).toBeLessThan(start.width);

  // The side panel (file browser) closed, then opened again beside it.
  const sidePanel = page.locator('.jp-SideBar [data-id="filebrowser"]');
  await sidePanel.click();
  const wider = await expectFollows(xfce.panel, s.id);
  expect(wider.width).toBeGreaterThan(smaller.width);
  await sidePanel.click();
  const narrower = await expectFollows(xfce.panel, s.id);
  expect(narrower.width).toBeLessThan(wider.width);

  // Split: Lab's contextual help opens beside it, in the right half of the main area.
  await newLauncher(page);
  await page
    .locator('.jp-Launcher:visible .jp-LauncherCard', { hasText: 'Show Contextual Help' })
    .click();
  await expect(page.locator('#jp-main-dock-panel .lm-TabBar')).toHaveCount(2);
  await xfce.tab.click();
  const split = await expectFollows(xfce.panel, s.id);
  expect(split.width).toBeLessThan(narrower.width * 0.7);

  // Single-document mode: the desktop has the whole main area again.
  await runCommand(page, 'Simple Interface');
  await expect(page.locator('.jp-LabShell')).toHaveAttribute('data-shell-mode', 'single-document');
  const single = await expectFollows(xfce.panel, s.id);
  expect(single.width).toBeGreaterThan(split.width);

  // A hidden tab asks for nothing: the desktop keeps its size while another tab is shown.
  // Back in the split first (where it shares its tab bar with a launcher), followed again.
  await runCommand(page, 'Simple Interface');
  await expect(page.locator('.jp-LabShell')).toHaveAttribute(
    'data-shell-mode',
    'multiple-document'
  );
  const before = await expectFollows(xfce.panel, s.id);
  const asked = await resizeDecision(xfce.panel, () =>
    page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'Launcher' }).last().click()
  );
  expect(asked).toBe('');
  expect(remoteGeometry(s.id)).toEqual(before);
  // Same desktop all along.
  expect((await runningSession(request)).id).toBe(s.id);
});

test('"scale instead" applies live from the settings editor, and back', async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  await expectFollows(xfce.panel, s.id);
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Settings Editor$/ }).click();
  await page.locator('.jp-PluginList-entry', { hasText: 'Desktops' }).click();
  const select = page.locator('select[id$="resize"]');
  await select.selectOption('scale');
  await expect.poll(() => savedSetting(page, 'resize')).toBe('scale');
  await xfce.tab.click();
  const fixed = remoteGeometry(s.id);
  expect(
    await resizeDecision(xfce.panel, () => page.setViewportSize({ width: 1000, height: 700 }))
  ).toBe('');
  // The picture is scaled; the desktop keeps its size.
  expect(remoteGeometry(s.id)).toEqual(fixed);
  const canvas = xfce.panel.locator('.jp-Desktops-screen canvas');
  const shown = (await canvas.boundingBox())!;
  expect(shown.width).toBeLessThan(fixed.width);
  // Back to following the tab.
  await page.locator('.lm-TabBar-tab', { hasText: 'Settings' }).click();
  await select.selectOption('remote');
  await expect.poll(() => savedSetting(page, 'resize')).toBe('remote');
  await xfce.tab.click();
  await expectFollows(xfce.panel, s.id);
  expect((await daemon(request, 'GET', `api/sessions/${s.id}`)).state).toBe('running');
});

test('the clipboard goes both ways: desktop to a notebook, Lab to the desktop (xclip inside)', async ({
  page,
  context,
  request
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(stack().base).origin
  });
  const xfce = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);

  // Copied inside the desktop (xclip owns the CLIPBOARD selection there)...
  const fromDesktop = `from the desktop ${Date.now()}`;
  inSession(s.id, 'xclip', ['-selection', 'clipboard'], { input: fromDesktop, background: true });
  await xfce.panel.locator('.jp-Desktops-screen canvas').click({ position: { x: 400, y: 300 } });
  await expect
    .poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 15_000 })
    .toBe(fromDesktop);

  // ...pasted into a notebook cell.
  const cell = await newNotebook(page);
  await page.keyboard.press('Control+V');
  await expect(cell).toHaveText(fromDesktop);

  // Copied in Lab, then the desktop tab is used: the desktop's clipboard has it.
  const fromLab = `from Lab ${Date.now()}`;
  await page.keyboard.press('Control+A');
  await page.keyboard.type(fromLab);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+C');
  await xfce.tab.click();
  await xfce.panel.locator('.jp-Desktops-screen canvas').click({ position: { x: 400, y: 300 } });
  await expect
    .poll(() => inSession(s.id, 'xclip', ['-o', '-selection', 'clipboard']), { timeout: 15_000 })
    .toBe(fromLab);

  // Without clipboard permission, the clipboard panel shows the desktop's and sends text.
  const panelText = `typed in the panel ${Date.now()}`;
  await xfce.panel.locator('..').locator('[data-command="desktops:clipboard"]').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-Desktops-clipboardFrom')).toHaveValue(fromDesktop);
  await dialog.locator('.jp-Desktops-clipboardTo').fill(panelText);
  await dialog.locator('button', { hasText: 'Send' }).click();
  await expect
    .poll(() => inSession(s.id, 'xclip', ['-o', '-selection', 'clipboard']), { timeout: 15_000 })
    .toBe(panelText);
});

test('keys reach the desktop, not Lab; Ctrl+Alt+Del and browser-kept keys from the toolbar', async ({
  page,
  request
}) => {
  await openLab(page);
  await tile(page, 'Keys').click();
  const keys = await desktopTab(page, 'Keys');
  await connected(keys.panel);
  const s = await runningSession(request);
  const log = async (): Promise<string> =>
    (await daemon(request, 'GET', `api/sessions/${s.id}/log`)).text;
  await keys.panel.locator('.jp-Desktops-screen canvas').click({ position: { x: 300, y: 300 } });
  // On an X server started ahead of the click the tab can show the desktop before its program
  // has a window: keys reach xev once openbox has shown and focused it, which xev reports.
  await expect.poll(log, { timeout: 15_000 }).toMatch(/KeymapNotify event/);
  // Ctrl+B would toggle Lab's left side bar: in the desktop, it is the desktop's.
  const sidebar = page.locator('#jp-left-stack');
  const visibleBefore = await sidebar.isVisible();
  await page.keyboard.press('Control+b');
  await expect.poll(log, { timeout: 10_000 }).toMatch(/keysym 0x62, b\)/);
  expect(await sidebar.isVisible()).toBe(visibleBefore);

  // Ctrl+Alt+Del: the toolbar's keyboard menu and the palette command.
  const toolbar = keys.panel.locator('..').locator('.jp-Toolbar');
  await toolbar.locator('[data-command="desktops:send-keys"]').click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Send Ctrl\+W$/ }).click();
  await expect.poll(log, { timeout: 10_000 }).toMatch(/keysym 0x77, w\)/);
  // The menu left with Esc: the Esc is the menu's, and the next keys are the desktop's.
  await toolbar.locator('[data-command="desktops:send-keys"]').click();
  await expect(page.locator('.lm-Menu')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.locator('.lm-Menu')).toHaveCount(0);
  await page.keyboard.type('qz');
  await expect.poll(log, { timeout: 10_000 }).toMatch(/keysym 0x7a, z\)/);
  expect(await log()).toMatch(/keysym 0x71, q\)/);
  expect(await log()).not.toMatch(/keysym 0xff1b, Escape\)/);
  await runCommand(page, 'Send Ctrl+Alt+Del to Desktop');
  await expect.poll(log, { timeout: 10_000 }).toMatch(/keysym 0xffff, Delete\)/);
  const text = await log();
  expect(text).toMatch(/keysym 0xffe3, Control_L\)/);
  expect(text).toMatch(/keysym 0xffe9, Alt_L\)/);
});

test('toolbar: state, screenshot as PNG, full screen, quality quick setting', async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  const toolbar = xfce.panel.locator('..').locator('.jp-Toolbar');
  await expect(toolbar.locator('.jp-Desktops-state')).toHaveText('Connected');
  for (const command of TOOLBAR_COMMANDS) {
    const b = toolbar.locator(`[data-command="desktops:${command}"]`);
    // A <jp-button>: toBeEnabled() would hold for a disabled one too.
    await expect(b, command).not.toHaveAttribute('aria-disabled', 'true');
    await expect(b, command).toHaveCount(1);
    expect((await b.getAttribute('title'))?.length, command).toBeGreaterThan(3);
  }

  const download = page.waitForEvent('download');
  await toolbar.locator('[data-command="desktops:screenshot"]').click();
  const file = await (await download).path();
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  const g = remoteGeometry(s.id);
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([g.width, g.height]);

  await toolbar.locator('[data-command="desktops:fullscreen"]').click();
  await expect
    .poll(() => page.evaluate(() => document.fullscreenElement?.className ?? ''))
    .toContain('jp-Desktops-widget');
  await page.evaluate(() => document.exitFullscreen());

  await toolbar.locator('[data-command="desktops:quality"]').click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Low Quality/ }).click();
  await expect
    .poll(async () => {
      const r = await page.request.get(
        `${stack().base}lab/api/settings/jupyterlab-desktops:plugin`,
        {
          headers: { Authorization: `token ${stack().token}` }
        }
      );
      return (await r.json()).settings.quality;
    })
    .toBe(2);
  await toolbar.locator('[data-command="desktops:quality"]').click();
  // Lab's menu, with the check mark on the current choice.
  await expect(page.locator('.lm-Menu-item.lm-mod-toggled')).toHaveText(/Low Quality/);
  await expect(page.locator('.lm-Menu-item.lm-mod-toggled .lm-Menu-itemIcon svg')).toBeVisible();
  await expect(
    page.locator('.lm-Menu-item:not(.lm-mod-toggled) .lm-Menu-itemIcon svg')
  ).toHaveCount(0);
  await page.keyboard.press('Escape');
  await expect(page.locator('.lm-Menu')).toHaveCount(0);
});

test('two tabs of one profile are told apart; an ended tab offers only what can work', async ({
  page
}) => {
  const first = await openDesktop(page, 'XFCE');
  await newLauncher(page);
  await tile(page, 'XFCE').click();
  const second = page.locator('.lm-TabBar-tab', { hasText: /^XFCE \(2\)$/ });
  await expect(second).toHaveCount(1);
  await expect(first.panel.locator('.jp-Desktops-message')).toHaveText(
    'This desktop was replaced by XFCE.'
  );
  await first.tab.click();
  const toolbar = first.panel.locator('.jp-Toolbar');
  await expect(toolbar.locator('.jp-Desktops-state')).toHaveText('Ended');
  for (const command of ['stop', 'quality', 'send-keys', 'clipboard', 'screenshot', 'fullscreen']) {
    // Lab's toolbar buttons are <jp-button>s: disabled is said with aria-disabled.
    await expect(toolbar.locator(`[data-command="desktops:${command}"]`), command).toHaveAttribute(
      'aria-disabled',
      'true'
    );
  }
});

test('a lost connection reconnects with backoff to the same desktop', async ({ page, request }) => {
  // Lab through a relay whose network the test takes down: every connection reset, new ones
  // refused, then back.
  const net = await relay();
  try {
    const xfce = await openDesktop(page, 'XFCE', net.base);
    const s = await runningSession(request);
    const xvnc = xvncPid(s.id);
    const state = xfce.panel.locator('..').locator('.jp-Desktops-state');

    // Every state the tab passes through, with its message, recorded in the page.
    await xfce.panel.locator('.jp-Desktops-widget').evaluate(w => {
      const seen: string[] = [];
      (window as any).__desktopStates = seen;
      new MutationObserver(() =>
        seen.push(
          `${(w as HTMLElement).dataset.state}: ${w.querySelector('.jp-Desktops-message')?.textContent ?? ''}`
        )
      ).observe(w, {
        attributes: true,
        attributeFilter: ['data-state'],
        childList: true,
        subtree: true
      });
    });
    const seen = (): Promise<string[]> => page.evaluate(() => (window as any).__desktopStates);

    // The RFB WebSocket is among the connections cut.
    expect(net.down()).toBeGreaterThan(0);
    await expect
      .poll(seen, { timeout: 20_000 })
      .toContainEqual(
        expect.stringMatching(
          /^reconnecting: The connection to XFCE was lost\. Reconnecting in \d+ s \(attempt 1 of 8\)…$/
        )
      );
    // Still down: the next attempts fail too, and say so with their number.
    await expect
      .poll(seen, { timeout: 20_000 })
      .toContainEqual(expect.stringMatching(/^reconnecting: .*\(attempt 2 of 8\)…$/));
    // It comes back: the same desktop, not a new one.
    net.up();
    await expect(state).toHaveText('Connected', { timeout: 60_000 });
    await waitForDesktop(page, xfce.panel);
    expect((await runningSession(request)).id).toBe(s.id);
    expect(xvncPid(s.id)).toBe(xvnc);
  } finally {
    await net.close();
  }
});

test('after a reload, the tab comes back attached to the same desktop', async ({
  page,
  request
}) => {
  await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  const xvnc = xvncPid(s.id);
  await page.reload();
  const again = await desktopTab(page, 'XFCE');
  await waitForDesktop(page, again.panel);
  const after = await runningSession(request);
  expect(after.id).toBe(s.id);
  expect(xvncPid(s.id)).toBe(xvnc);
  expect(
    (await daemon(request, 'GET', 'api/sessions')).sessions.filter(
      (x: any) => x.state === 'running'
    )
  ).toHaveLength(1);
});

test("a replaced desktop offers to go to the new tab; the status bar and Lab's Running panel show desktops", async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  await newLauncher(page);
  // Nobody used XFCE (no key, click or clipboard text): it is replaced without a question.
  await tile(page, 'MATE').click();
  const mate = await desktopTab(page, 'MATE');
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);
  await waitForDesktop(page, mate.panel);
  await xfce.tab.click();
  await expect(xfce.panel.locator('.jp-Desktops-message')).toHaveText(
    'This desktop was replaced by MATE.'
  );
  await xfce.panel.locator('.jp-Desktops-actions button', { hasText: 'Go to MATE' }).click();
  await expect(mate.tab).toHaveClass(/lm-mod-current/);

  // Close MATE's tab: the desktop keeps running, and the status bar brings it back.
  const s = await runningSession(request);
  const item = page.locator('.jp-Desktops-statusItem');
  await expect(item).toHaveText('1 desktop');
  await mate.tab.locator('.lm-TabBar-tabCloseIcon').click();
  await expect(mate.tab).toHaveCount(0);
  expect((await runningSession(request)).id).toBe(s.id);
  // The status bar opens Lab's Running panel, and nothing moves the page.
  const shell = async (): Promise<number[]> =>
    page.evaluate(() => {
      const box = document.querySelector('#main')!.getBoundingClientRect();
      return [box.top, box.left, document.scrollingElement!.scrollTop, window.scrollY];
    });
  const before = await shell();
  await item.click();
  const desktop = page.locator(`.jp-RunningSessions-item[data-context="${s.id}"]`);
  await expect(desktop.locator('.jp-RunningSessions-itemLabel')).toHaveText('MATE');
  expect(await shell()).toEqual(before);
  await desktop.locator('.jp-RunningSessions-itemLabel').click();
  const back = await desktopTab(page, 'MATE');
  await waitForDesktop(page, back.panel);
  expect((await runningSession(request)).id).toBe(s.id);
  // Stopped from the Running panel (nobody used it: no question): the tab says so.
  await desktop.locator('.jp-RunningSessions-itemShutdown').click();
  await expect(back.panel.locator('.jp-Desktops-message')).toHaveText('MATE was stopped');
  await expect(desktop).toHaveCount(0);
  await expect(item).toBeHidden();
});

test('File > Close and Shut Down ends a desktop tab and its desktop; other extensions find desktop tabs by a token', async ({
  page,
  request
}) => {
  const xfce = await openDesktop(page, 'XFCE');
  const s = await runningSession(request);
  // The tracker other extensions get with IDesktopTracker (window.jupyterapp: Galata's).
  const tracked = await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    const token = [...app.pluginRegistry._plugins.values()].find(
      (p: any) => p.id === 'jupyterlab-desktops:plugin'
    ).provides;
    const tracker = await app.resolveRequiredService(token);
    return {
      name: token.name,
      sessions: tracker.filter(() => true).map((t: any) => t.content.session?.id)
    };
  });
  expect(tracked).toEqual({ name: 'jupyterlab-desktops:IDesktopTracker', sessions: [s.id] });
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Close and Shut Down Desktop$/ }).click();
  await expect(xfce.tab).toHaveCount(0);
  await expect
    .poll(async () => (await daemon(request, 'GET', `api/sessions/${s.id}`)).state)
    .toBe('exited');
});

test('"Open in Ncview" in the file browser passes the file to the app', async ({
  page,
  request
}) => {
  await openLab(page);
  const item = await fileBrowser(page);
  await item('data').dblclick();
  await item('notes.txt').click({ button: 'right' });
  const openIn = page.locator(
    '.lm-Menu-item[data-command="desktops:open-file"]:not(.lm-mod-hidden) .lm-Menu-itemLabel'
  );
  await expect(page.locator('.lm-Menu-itemLabel', { hasText: /^Rename$/ })).toBeVisible();
  await expect(openIn).toHaveCount(0);
  await page.keyboard.press('Escape');
  await item('temperature.nc').click({ button: 'right' });
  // Only the applications that can start are offered (not VAPOR or Panoply here).
  await expect(openIn).toHaveText(['Open in Ncview']);
  await openIn.click();
  const tab = await desktopTab(page, 'Ncview: temperature.nc');
  await waitForDesktop(page, tab.panel);
  const s = await runningSession(request);
  expect(s).toMatchObject({ profile: 'ncview', open: 'data/temperature.nc' });
  const ncview = sessionPids(s.id).find(
    p => readFileSync(`/proc/${p}/comm`, 'latin1').trim() === 'ncview'
  );
  expect(readFileSync(`/proc/${ncview}/cmdline`, 'latin1').split('\0').slice(0, -1)).toEqual([
    '/usr/bin/ncview',
    `${stack().state}/root/data/temperature.nc`
  ]);
});

test('start feedback: progress, a time-out with the log and Retry, and an unreachable service (proxy answers simulated)', async ({
  page,
  request
}) => {
  const settingsUrl = `${stack().base}lab/api/settings/jupyterlab-desktops:plugin`;
  const headers = { Authorization: `token ${stack().token}` };
  await page.request.put(settingsUrl, { headers, data: { raw: '{"startTimeout": 5}' } });
  try {
    // A slow start: the daemon's news (the event stream's messages) reaches the page only once
    // the tab has said it is late. The start's answer is not held: the tab knows its session.
    // (Playwright's routeWebSocket would replace every WebSocket, noVNC's too.)
    await page.addInitScript(() => {
      const held: (() => void)[] = [];
      const w = window as unknown as Record<string, unknown>;
      w.__releaseEvents = () => held.splice(0).forEach(f => f());
      // Real WebSockets, the stream's with an onmessage of its own (noVNC refuses subclasses).
      const Real = window.WebSocket;
      const Held = function (url: string | URL, protocols?: string | string[]) {
        const ws = new Real(url, protocols);
        if (/\/desktops\/api\/events/.test(ws.url)) {
          Object.defineProperty(ws, 'onmessage', {
            set(fn: ((e: MessageEvent) => void) | null) {
              ws.addEventListener('message', e => held.push(() => fn?.call(ws, e)));
            }
          });
        }
        return ws;
      } as unknown as typeof WebSocket;
      Object.assign(Held, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
      Held.prototype = Real.prototype;
      window.WebSocket = Held;
    });
    const release = (): Promise<unknown> =>
      page.evaluate(() => (window as unknown as { __releaseEvents(): void }).__releaseEvents());
    await openLab(page);
    await tile(page, 'XFCE').click();
    const { panel } = await desktopTab(page, 'XFCE');
    await expect(panel.locator('.jp-Desktops-message')).toHaveText(/^Starting XFCE… [1-4] s$/);
    await expect(panel.locator('.jp-Desktops-message')).toHaveText(
      'XFCE is taking longer than 5 s to start.'
    );
    // The session's log so far (its last 40 lines: the X server's, or XFCE's once it talks).
    await expect(panel.locator('.jp-Desktops-log')).toHaveText(/vncext|xfce4-session|xfwm4/);
    await expect(panel.locator('.jp-Desktops-actions button')).toHaveText(['Retry']);
    await release();
    // The start still completes: the desktop appears.
    await waitForDesktop(page, panel);

    // No desktops service at all (what Lab sees without jupyter-server-proxy).
    await page.route(SESSIONS_URL, route =>
      route.request().method() === 'POST'
        ? route.fulfill({ status: 404, contentType: 'text/html', body: '<h1>404</h1>' })
        : route.continue()
    );
    await newLauncher(page);
    await tile(page, 'MATE').click();
    const mate = await desktopTab(page, 'MATE');
    await expect(mate.panel.locator('.jp-Desktops-message')).toHaveText(
      /^The desktops service is not available on this server: jupyter-server-proxy is not installed/
    );
    await expect(mate.panel.locator('.jp-Desktops-actions button')).toHaveText(['Retry']);
  } finally {
    await page.request.put(settingsUrl, { headers, data: { raw: '{}' } });
  }
  void request;
});

test('without the desktops service, Lab says why instead of showing no tiles (proxy answer simulated)', async ({
  page
}) => {
  await page.route(/\/desktops\/api\/profiles(\?[^/]*)?$/, route =>
    route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad Gateway</h1>' })
  );
  const s = stack();
  await page.goto(`${s.base}lab/workspaces/no-service-${Date.now()}?token=${s.token}`);
  await expect(page.locator('.jp-Notification-Toast-warning, .Toastify__toast')).toContainText(
    'Desktops are not available: The desktops service did not answer (HTTP 502).'
  );
  await expect(page.locator('.jp-LauncherCard-label', { hasText: /^XFCE$/ })).toHaveCount(0);
});
