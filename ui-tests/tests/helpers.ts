// Shared by the browser tests: the running stack, the daemon's API (same URLs as the
// browser, token auth), canvas pixel statistics and the session processes on this host.
import { expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';

export interface IStack {
  url: string;
  base: string;
  token: string;
  mode: 'jsp' | 'nginx';
  state: string;
}

export function stack(): IStack {
  return JSON.parse(readFileSync(join(__dirname, '..', 'test-results', 'stack.json'), 'utf8'));
}

export async function daemon(
  request: APIRequestContext,
  method: 'GET' | 'DELETE',
  path: string
): Promise<any> {
  const s = stack();
  const r = await request.fetch(`${s.base}desktops/${path}`, {
    method,
    headers: { Authorization: `token ${s.token}` }
  });
  if (!r.ok()) {
    throw new Error(`${method} ${path}: HTTP ${r.status()} ${await r.text()}`);
  }
  return r.json();
}

/** PIDs of processes on this host that carry the session marker of `id`. */
export function sessionPids(id: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (env.includes(`JUPYTER_DESKTOPS_SESSION=${id}`)) {
        out.push(Number(name));
      }
    } catch {
      // gone, or not readable
    }
  }
  return out;
}

/** The Xtigervnc of session `id`. */
export function xvncPid(id: string): number {
  const pid = sessionPids(id).find(p =>
    readFileSync(`/proc/${p}/cmdline`, 'latin1').startsWith('Xtigervnc\0')
  );
  if (!pid) {
    throw new Error(`no Xtigervnc in session ${id}`);
  }
  return pid;
}

export interface ICanvasStats {
  width: number;
  height: number;
  /** Distinct colours among sampled pixels. */
  colours: number;
  /** Share of sampled pixels that are (near) black. */
  black: number;
}

/** Samples the canvas noVNC draws into, inside the given desktop tab. */
export async function canvasStats(panel: Locator): Promise<ICanvasStats> {
  return panel.locator('.jp-Desktops-screen canvas').evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d')!;
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    const seen = new Set<number>();
    let black = 0;
    let n = 0;
    const step = Math.max(1, Math.floor((c.width * c.height) / 20000));
    for (let i = 0; i < c.width * c.height; i += step) {
      const r = data[i * 4];
      const g = data[i * 4 + 1];
      const b = data[i * 4 + 2];
      seen.add((r << 16) | (g << 8) | b);
      if (r + g + b < 30) {
        black++;
      }
      n++;
    }
    return { width: c.width, height: c.height, colours: seen.size, black: black / n };
  });
}

/** A cheap fingerprint of one rectangle of the canvas, to see whether it changed. */
export async function regionHash(
  panel: Locator,
  x: number,
  y: number,
  w: number,
  h: number
): Promise<number> {
  return panel.locator('.jp-Desktops-screen canvas').evaluate(
    (c: HTMLCanvasElement, r: number[]) => {
      const { data } = c.getContext('2d')!.getImageData(r[0], r[1], r[2], r[3]);
      let hash = 0;
      for (let i = 0; i < data.length; i += 4) {
        hash = (hash * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) | 0;
      }
      return hash;
    },
    [x, y, w, h]
  );
}

/** Waits until the canvas shows a real desktop: many colours, mostly not black. */
export async function waitForDesktop(
  page: Page,
  panel: Locator,
  timeoutMs = 60_000
): Promise<ICanvasStats> {
  const deadline = Date.now() + timeoutMs;
  let last: ICanvasStats | undefined;
  while (Date.now() < deadline) {
    try {
      last = await canvasStats(panel);
      if (last.colours >= 16 && last.black < 0.9) {
        return last;
      }
    } catch {
      // no canvas yet
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`the canvas never showed a desktop: ${JSON.stringify(last)}`);
}

/** The main-area tab whose label is `title`, and its panel. */
export async function desktopTab(
  page: Page,
  title: string
): Promise<{ tab: Locator; panel: Locator }> {
  const tab = page.locator('#jp-main-dock-panel .lm-TabBar-tab', {
    has: page.locator('.lm-TabBar-tabLabel', { hasText: new RegExp(`^${title}$`) })
  });
  await tab.first().waitFor();
  const id = await tab.first().getAttribute('data-id');
  return { tab: tab.first(), panel: page.locator(`[id="${id}"]`) };
}

/**
 * Runs `action` (something that changes a desktop tab's size or resize mode), waits until the
 * tab has looked at the change, and returns the size it asked the desktop for ("" for none).
 */
export async function resizeDecision(
  panel: Locator,
  action: () => Promise<unknown>
): Promise<string> {
  const widget = panel.locator('.jp-Desktops-widget');
  const checks = async (): Promise<number> =>
    Number((await widget.getAttribute('data-resize-checks')) ?? 0);
  const before = await checks();
  await action();
  await expect.poll(checks).toBeGreaterThan(before);
  return (await widget.getAttribute('data-resize-asked')) ?? '';
}

/** Waits until a desktop tab's whole picture stops changing: drawn whole, say for a picture. */
export async function settledPicture(page: Page, panel: Locator): Promise<void> {
  const canvas = panel.locator('.jp-Desktops-screen canvas');
  const { width, height } = await canvas.evaluate((c: HTMLCanvasElement) => ({
    width: c.width,
    height: c.height
  }));
  await stableHash(page, () => regionHash(panel, 0, 0, width, height), 30_000);
}

/** A region's hash once it stops changing (two equal readings 500 ms apart). */
export async function stableHash(
  page: Page,
  read: () => Promise<number>,
  timeoutMs = 15_000
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (Date.now() < deadline) {
    await page.waitForTimeout(500);
    const now = await read();
    if (now === last) {
      return now;
    }
    last = now;
  }
  throw new Error('the desktop never stopped changing');
}

let workspaces = 0;

/**
 * Opens Lab in a workspace of its own, so that no test inherits another's layout; a reload
 * stays in it (the layout restorer's test relies on that).
 */
export async function openLab(
  page: Page,
  base = stack().base,
  token = stack().token
): Promise<void> {
  const name = `t${process.pid}-${Date.now()}-${++workspaces}`;
  await page.goto(`${base}lab/workspaces/${name}?token=${token}`);
  await page
    .locator('.jp-Launcher-section', {
      has: page.locator('.jp-Launcher-sectionTitle', { hasText: /^Desktops$/ })
    })
    .first()
    .waitFor({ timeout: 90_000 });
}

export function tile(page: Page, title: string): Locator {
  return page.locator('.jp-Launcher:visible .jp-LauncherCard', {
    has: page.locator('.jp-LauncherCard-label', { hasText: new RegExp(`^${title}$`) })
  });
}

/** Opens Lab, clicks a tile and waits until its tab shows a desktop. */
export async function openDesktop(
  page: Page,
  title: string,
  base?: string
): Promise<{ tab: Locator; panel: Locator; stats: ICanvasStats }> {
  await openLab(page, base);
  await tile(page, title).click();
  const tab = await desktopTab(page, title);
  return { ...tab, stats: await waitForDesktop(page, tab.panel) };
}

/** Sets the user's JupyterLab theme ('JupyterLab Light', 'JupyterLab Dark'; '' for the default). */
export async function setTheme(request: APIRequestContext, theme: string): Promise<void> {
  const r = await request.put(
    `${stack().base}lab/api/settings/@jupyterlab/apputils-extension:themes`,
    {
      headers: { Authorization: `token ${stack().token}` },
      data: { raw: theme ? JSON.stringify({ theme }) : '{}' }
    }
  );
  if (!r.ok()) {
    throw new Error(`the theme setting was refused: ${r.status()} ${await r.text()}`);
  }
}

/** The desktop tab's toolbar buttons, by command (`desktops:<name>`). */
export const TOOLBAR_COMMANDS = [
  'send-keys',
  'clipboard',
  'quality',
  'screenshot',
  'fullscreen',
  'reconnect',
  'stop'
] as const;

/** Stops every running desktop: each test starts from none. */
export async function stopAllDesktops(request: APIRequestContext): Promise<void> {
  for (const s of (await daemon(request, 'GET', 'api/sessions')).sessions) {
    if (s.state === 'running') {
      await daemon(request, 'DELETE', `api/sessions/${s.id}`);
    }
  }
}

/** The running session (there is one at a time here). */
export async function runningSession(request: APIRequestContext): Promise<any> {
  const running = (await daemon(request, 'GET', 'api/sessions')).sessions.filter(
    (s: any) => s.state === 'running'
  );
  if (running.length !== 1) {
    throw new Error(`expected one running desktop: ${JSON.stringify(running)}`);
  }
  return running[0];
}

/** Runs a program on a session's X display, as the session's own programs do. */
export function inSession(
  id: string,
  file: string,
  args: string[],
  opts: { input?: string; background?: boolean } = {}
): string {
  for (const pid of sessionPids(id)) {
    let env: string[];
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    } catch {
      continue;
    }
    const get = (k: string): string | undefined =>
      env.find(e => e.startsWith(`${k}=`))?.slice(k.length + 1);
    const display = get('DISPLAY');
    const xauthority = get('XAUTHORITY');
    if (!display || !xauthority) {
      continue;
    }
    return (
      execFileSync(file, args, {
        env: { ...process.env, DISPLAY: display, XAUTHORITY: xauthority },
        input: opts.input,
        // A program that stays in the background (xclip serving its selection) must not hold
        // our output pipes open.
        stdio: opts.background ? ['pipe', 'ignore', 'ignore'] : 'pipe',
        encoding: 'utf8',
        timeout: 10_000
      }) ?? ''
    );
  }
  throw new Error(`no process of session ${id} has a display`);
}

/** The X screen size of a session, as X itself reports it. */
export function remoteGeometry(id: string): { width: number; height: number } {
  const m = /dimensions:\s+(\d+)x(\d+) pixels/.exec(inSession(id, 'xdpyinfo', []));
  if (!m) {
    throw new Error('xdpyinfo gave no dimensions');
  }
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Shows the file browser; returns the locator of one of its items by exact name. */
export async function fileBrowser(page: Page): Promise<(name: string) => Locator> {
  if (!(await page.locator('.jp-FileBrowser').isVisible())) {
    await page.locator('.jp-SideBar [data-id="filebrowser"]').click();
  }
  return name =>
    page.locator('.jp-DirListing-item', {
      has: page.locator('.jp-DirListing-itemText', {
        hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
      })
    });
}

/** Opens a new launcher in the main area (the dock's "+" button). */
export async function newLauncher(page: Page): Promise<void> {
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-addButton:not(.lm-mod-hidden)')
    .first()
    .click();
}

/** Opens a new notebook from a new launcher; returns its first cell's editor. */
export async function newNotebook(page: Page): Promise<Locator> {
  await newLauncher(page);
  await page
    .locator('.jp-Launcher:visible .jp-LauncherCard[data-category="Notebook"]')
    .first()
    .click();
  const cell = page.locator('.jp-Notebook .jp-Cell .cm-content').first();
  await cell.click();
  return cell;
}

/** A TCP relay in front of the server whose network a test can take down and bring back. */
export interface IRelay {
  /** The server's base URL through the relay. */
  base: string;
  /** Resets every open connection, both ends, and refuses new ones; returns how many it cut. */
  down(): number;
  /** Accepts connections again. */
  up(): void;
  close(): Promise<void>;
}

/**
 * Starts a relay to the stack's server on a free loopback port. A network loss made here is
 * real for the browser (its sockets get a TCP reset) and needs no privilege or kernel
 * feature, unlike cutting the browser's own sockets from outside.
 */
export async function relay(): Promise<IRelay> {
  const target = new URL(stack().base);
  const open = new Set<Socket>();
  let isDown = false;
  const server = createServer(client => {
    if (isDown) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client]
    ]) {
      open.add(a);
      a.pipe(b);
      a.on('error', () => b.resetAndDestroy());
      a.on('close', () => {
        open.delete(a);
        b.end();
      });
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}${target.pathname}`,
    down: () => {
      isDown = true;
      const n = open.size / 2;
      for (const s of open) {
        s.resetAndDestroy();
      }
      open.clear();
      return n;
    },
    up: () => {
      isDown = false;
    },
    close: () =>
      new Promise<void>(resolve => {
        for (const s of open) {
          s.destroy();
        }
        server.close(() => resolve());
      })
  };
}

/**
 * The session directory of an X server the launcher started ahead of a click, from its argv:
 * an Xtigervnc whose `-rfbunixpath` directory holds the daemon's `spare` marker. `exists`
 * looks where the process runs (on this host, or in a container).
 */
export function spareDir(argv: string[], exists: (path: string) => boolean): string | undefined {
  const at = argv.indexOf('-rfbunixpath');
  if (argv[0] !== 'Xtigervnc' || at < 0 || !argv[at + 1]) {
    return undefined;
  }
  const dir = dirname(argv[at + 1]);
  return exists(join(dir, 'spare')) ? dir : undefined;
}
