// Starts scripts/serve.py (JupyterLab + the installed wheel, isolated config) on a free port
// and stops it after the run. Tests read the URL and token from the state dir.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from './serve';

const ROOT = resolve(__dirname, '..');
export const STATE_FILE = join(__dirname, 'test-results', 'stack.json');

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync('/usr/bin/chromium') && !process.env.CHROMIUM_PATH) {
    throw new Error('Chromium is missing: apt-get install chromium (scripts/setup.sh does)');
  }
  // DESKTOPS_VENV: another venv to test, e.g. one with jupyter-server-proxy on its path.
  const venv = process.env.DESKTOPS_VENV ?? join(ROOT, '.venv');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error('No .venv: run scripts/setup.sh first');
  }
  const state = mkdtempSync(join(tmpdir(), 'desktops-e2e-'));
  // No news pop-up over the launcher: Lab's settings dir for this run only.
  const settings = join(state, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(join(settings, 'notification.jupyterlab-settings'), '{"fetchNews": "false"}');
  // A test-only admin profile that fails at once, with HTML in its title and output.
  const profiles = join(state, 'config', 'desktops');
  mkdirSync(profiles, { recursive: true });
  writeFileSync(
    join(profiles, 'test-fails.json'),
    JSON.stringify({
      id: 'test-fails',
      title: 'Fails <b>bold</b>',
      category: 'Tests',
      xstartup: 'test-fails.sh'
    })
  );
  writeFileSync(
    join(profiles, 'test-fails.sh'),
    // Lines first that fill the log box, as an X server's start-up warnings do.
    '#!/bin/sh\nfor i in $(seq 30); do echo "an early warning $i"; done\n' +
      'echo "<img src=x onerror=window.__xss=1>" >&2\nexit 1\n',
    { mode: 0o755 }
  );
  // A test-only profile whose (FAKE) program appears only during a test.
  writeFileSync(
    join(profiles, 'test-late.json'),
    JSON.stringify({
      id: 'test-late',
      title: 'Late',
      category: 'Tests',
      xstartup: 'test-fails.sh',
      requires: [{ command: join(state, 'FAKE-late-app'), name: 'The late FAKE app' }]
    })
  );
  // The example Ncview profile from the docs, for "Open in Ncview".
  for (const f of ['ncview.json', 'ncview.sh']) {
    copyFileSync(join(ROOT, 'docs', 'examples', f), join(profiles, f));
  }
  execFileSync('chmod', ['755', join(profiles, 'ncview.sh')]);
  // A test-only app that shows the keys it gets (xev) in the session log.
  writeFileSync(
    join(profiles, 'test-keys.json'),
    JSON.stringify({
      id: 'test-keys',
      title: 'Keys',
      category: 'Tests',
      kind: 'app',
      xstartup: 'test-keys.sh',
      requires: [{ command: 'xev', env: 'DESKTOPS_APP', name: 'xev (x11-utils)' }]
    })
  );
  writeFileSync(
    join(profiles, 'test-keys.sh'),
    '#!/bin/sh\nexec "$DESKTOPS_APP_SESSION" /usr/bin/stdbuf -oL "$DESKTOPS_APP" -event keyboard\n',
    { mode: 0o755 }
  );
  // The user's files: serve.py makes <state>/root the Jupyter root.
  mkdirSync(join(state, 'root', 'data'), { recursive: true });
  execFileSync('ncgen', [
    '-o',
    join(state, 'root', 'data', 'temperature.nc'),
    join(ROOT, 'daemon', 'test', 'fixtures', 'temperature.cdl')
  ]);
  writeFileSync(join(state, 'root', 'data', 'notes.txt'), 'not netCDF\n');
  // window.jupyterapp, as Galata has it: tests look for the token we provide to extensions.
  mkdirSync(join(state, 'config'), { recursive: true });
  writeFileSync(
    join(state, 'config', 'jupyter_lab_config.json'),
    JSON.stringify({ LabApp: { expose_app_in_browser: true } })
  );
  const served = await serve(venv, state, { JUPYTERLAB_SETTINGS_DIR: join(state, 'settings') });
  const stack = { ...served.stack, state };
  mkdirSync(join(__dirname, 'test-results'), { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(stack));
  console.log(`e2e: JupyterLab via the ${stack.mode} route at ${stack.base}`);
  return served.stop;
}
