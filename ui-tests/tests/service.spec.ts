// A server where the desktops service cannot start (here: a settings typo): restored desktop
// tabs and the launcher say why within seconds, and Lab's start-up is not held waiting.
import { expect, test } from './fixtures';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve, type IServed } from '../serve';
import { desktopTab, tile, waitForDesktop } from './helpers';

const VENV = process.env.DESKTOPS_VENV ?? resolve(__dirname, '..', '..', '.venv');

test('a service that cannot start: a restored tab names the file and the key at once, and Lab loads', async ({
  page
}) => {
  const state = mkdtempSync(join(tmpdir(), 'desktops-broken-'));
  const settings = join(state, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(join(settings, 'notification.jupyterlab-settings'), '{"fetchNews": "false"}');
  const env = { JUPYTERLAB_SETTINGS_DIR: join(state, 'settings') };
  const lab = (s: IServed): string => `${s.stack.base}lab/workspaces/broken?token=${s.stack.token}`;

  // A working server first: open XFCE, so that the saved workspace holds its tab.
  let served = await serve(VENV, state, env);
  try {
    await page.goto(lab(served));
    await tile(page, 'XFCE').click();
    await waitForDesktop(page, (await desktopTab(page, 'XFCE')).panel);
    const saved = `${served.stack.base}lab/api/workspaces/broken?token=${served.stack.token}`;
    await expect
      .poll(async () => JSON.stringify(await (await page.request.get(saved)).json()))
      .toMatch(/"desktops:[^"]+":\{"data":\{[^}]*"session":"[\w-]{16}"/);
  } finally {
    await served.stop();
  }

  // The admin's typo, then the server again.
  const config = join(state, 'config', 'jupyter_server_config.py');
  writeFileSync(config, 'c.Desktops.max_sesions = 2\n');
  served = await serve(VENV, state, env);
  try {
    const asked = Date.now();
    await page.goto(lab(served));
    const { panel } = await desktopTab(page, 'XFCE');
    const said = `${config} sets Desktops.max_sesions, which is not a setting (did you mean max_sessions?).`;
    await expect(panel.locator('.jp-Desktops-message')).toContainText(said, { timeout: 15_000 });
    console.log(`restored tab said why ${Date.now() - asked} ms after the page was asked for`);
    await expect(panel.getByRole('button', { name: 'Retry' })).toBeVisible();
    // Lab came up: no "Loading… Keep Waiting" dialog, the launcher's notification says why.
    await expect(page.getByText('Keep Waiting')).toHaveCount(0);
    // (Lab shortens a toast's text; the notification centre keeps it whole.)
    await expect(
      page.locator('.Toastify').getByText('Desktops are not available: The desktops service cannot')
    ).toBeVisible();
  } finally {
    await served.stop();
  }
});
