// The desktop tab in both of Lab's themes, whichever the project runs in: its toolbar icons look
// enabled when they are (the full-screen one looked disabled on the light theme), its messages
// are readable, and Lab's own surfaces (Running panel, status bar) show desktops in either.
import type { Locator } from '@playwright/test';
import { expect, test } from './fixtures';
import {
  openDesktop,
  runningSession,
  setTheme,
  stopAllDesktops,
  TOOLBAR_COMMANDS
} from './helpers';

const THEMES = ['JupyterLab Light', 'JupyterLab Dark'];

test.beforeEach(async ({ request }) => {
  await stopAllDesktops(request);
});

/** WCAG contrast ratio of two CSS colours (`rgb(…)`/`rgba(…)`). */
function ratio(a: string, b: string): number {
  const lum = (c: string): number => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).map(Number).map(v => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/**
 * How well an icon stands out from the toolbar: the best contrast of its drawn shapes against
 * the toolbar's background (an icon drawn only in faint shapes looks disabled).
 */
async function iconContrast(button: Locator, toolbar: Locator): Promise<number> {
  const bg = await toolbar.evaluate(e => getComputedStyle(e).backgroundColor);
  const fills = await button
    .locator('svg path, svg rect, svg circle, svg polygon')
    .evaluateAll(shapes => shapes.map(e => getComputedStyle(e).fill));
  return Math.max(1, ...fills.filter(f => f.startsWith('rgb')).map(f => ratio(f, bg)));
}

/** Contrast of an element's text against the first opaque background behind it. */
async function contrast(el: Locator): Promise<number> {
  const [fg, bg] = await el.evaluate(e => {
    for (let n: Element | null = e; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      const alpha = c.startsWith('rgba') ? Number(c.split(',')[3].replace(')', '')) : 1;
      if (alpha > 0.9) {
        return [getComputedStyle(e).color, c];
      }
    }
    return [getComputedStyle(e).color, 'rgb(255, 255, 255)'];
  });
  return ratio(fg, bg);
}

for (const theme of THEMES) {
  test(`${theme}: toolbar icons look as enabled as they are, messages are readable, Lab's panels list the desktop`, async ({
    page,
    request
  }) => {
    await setTheme(request, theme);
    const xfce = await openDesktop(page, 'XFCE');
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
    const toolbar = xfce.panel.locator('.jp-Toolbar');
    const seen: Record<string, number> = {};
    for (const command of TOOLBAR_COMMANDS) {
      const b = toolbar.locator(`[data-command="desktops:${command}"]`);
      await expect(b, command).not.toHaveAttribute('aria-disabled', 'true');
      seen[command] = Math.round((await iconContrast(b, toolbar)) * 10) / 10;
    }
    // Every enabled icon stands out as a control should (WCAG's 3:1 for graphics): none looks
    // disabled. Lab's expandIcon, once the full-screen icon, was 1.9 on the light theme.
    for (const [command, ratio] of Object.entries(seen)) {
      expect(ratio, `${command}: ${JSON.stringify(seen)}`).toBeGreaterThanOrEqual(3);
    }

    // The status bar and the Running panel show it.
    const s = await runningSession(request);
    await page.locator('.jp-Desktops-statusItem').click();
    const item = page.locator(`.jp-RunningSessions-item[data-context="${s.id}"]`);
    await expect(item.locator('.jp-RunningSessions-itemLabel')).toHaveText('XFCE');
    expect(await contrast(item.locator('.jp-RunningSessions-itemLabel'))).toBeGreaterThan(4.5);

    // Ended: the message and its button are readable.
    await item.hover(); // its Stop button shows on hover
    await item.locator('.jp-RunningSessions-itemShutdown').click();
    const message = xfce.panel.locator('.jp-Desktops-message');
    await expect(message).toHaveText('XFCE was stopped');
    expect(await contrast(message)).toBeGreaterThan(4.5);
    await expect(xfce.panel.locator('.jp-Desktops-actions button')).toHaveText(['Restart']);
  });
}
