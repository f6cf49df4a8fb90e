// The desktop tab in both of Lab's themes: its toolbar icons look enabled when they are (the
// full-screen one looked disabled on the light theme), its messages are readable, and Lab's
// own surfaces (Running panel, status bar) show desktops in either.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { daemon, openDesktop, runningSession, stack } from './helpers';

const THEMES = ['JupyterLab Light', 'JupyterLab Dark'];
const themesUrl = (): string =>
  `${stack().base}lab/api/settings/@jupyterlab/apputils-extension:themes`;
const headers = (): Record<string, string> => ({ Authorization: `token ${stack().token}` });

test.beforeEach(async ({ request }) => {
  for (const s of (await daemon(request, 'GET', 'api/sessions')).sessions) {
    if (s.state === 'running') {
      await daemon(request, 'DELETE', `api/sessions/${s.id}`);
    }
  }
});
test.afterAll(async ({ request }) => {
  await request.put(themesUrl(), { headers: headers(), data: { raw: '{}' } });
});

/**
 * How well an icon stands out from the toolbar: the best WCAG contrast of its drawn shapes
 * against the toolbar's background (an icon drawn only in faint shapes looks disabled).
 */
async function iconContrast(button: Locator, toolbar: Locator): Promise<number> {
  const bg = await toolbar.evaluate(e => getComputedStyle(e).backgroundColor);
  return button
    .locator('svg')
    .first()
    .evaluate((svg, background) => {
      const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
      const lum = (c: number[]): number => {
        const [r, g, b] = c.slice(0, 3).map(v => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const l2 = lum(rgb(background));
      let best = 1;
      for (const shape of svg.querySelectorAll('path, rect, circle, polygon')) {
        const fill = getComputedStyle(shape).fill;
        if (!fill.startsWith('rgb')) {
          continue;
        }
        const l1 = lum(rgb(fill));
        best = Math.max(best, (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05));
      }
      return best;
    }, bg);
}

/** WCAG contrast of an element's text against what is behind it. */
async function contrast(el: Locator): Promise<number> {
  return el.evaluate(e => {
    const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = (c: number[]): number => {
      const [r, g, b] = c.slice(0, 3).map(v => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    let bg: number[] = [];
    for (let n: Element | null = e; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) {
        bg = c;
        break;
      }
    }
    const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(bg.length ? bg : [255, 255, 255])];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}

async function useTheme(page: Page, theme: string): Promise<void> {
  const r = await page.request.put(themesUrl(), {
    headers: headers(),
    data: { raw: JSON.stringify({ theme }) }
  });
  expect(r.ok()).toBe(true);
}

for (const theme of THEMES) {
  test(`${theme}: toolbar icons look as enabled as they are, messages are readable, Lab's panels list the desktop`, async ({
    page,
    request
  }) => {
    await useTheme(page, theme);
    const xfce = await openDesktop(page, 'XFCE');
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
    const toolbar = xfce.panel.locator('.jp-Toolbar');
    const seen: Record<string, number> = {};
    for (const command of [
      'send-keys',
      'clipboard',
      'quality',
      'screenshot',
      'fullscreen',
      'reconnect'
    ]) {
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
