// The single-user image (deploy/image/Containerfile), built from this tree by podman, run as a
// spawner runs it: its own user, no capabilities. Chromium opens its JupyterLab, clicks a
// desktop, sees it drawn, types into a terminal in it and stops it; inside the container only
// JupyterLab listens on TCP, and nothing of the desktop is left after Stop.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  desktopTab,
  openLab,
  sessionPids,
  settledPicture,
  tile,
  waitForDesktop,
  spareDir
} from '../tests/helpers';
import {
  build,
  HOME,
  IMAGE,
  podman,
  runContainer,
  spawnPodman,
  type IContainer,
  type IRunOptions
} from './podman';

const RESULTS = join(__dirname, '..', 'test-results', 'image');
const figures: Record<string, unknown> = {};

function record(key: string, value: unknown): void {
  figures[key] = value;
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, 'figures.json'),
    JSON.stringify({ build: build(), ...figures }, null, 2)
  );
}

/** The TCP ports something listens on inside the container's own network namespace. */
function tcpListeners(c: IContainer): number[] {
  const ports = new Set<number>();
  for (const line of c.exec(['cat', '/proc/net/tcp', '/proc/net/tcp6']).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A') {
      ports.add(parseInt(f[1].split(':').pop()!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Runs `body` with a container of the image; its log is printed where the body fails. */
async function inContainer(
  name: string,
  opts: IRunOptions,
  body: (c: IContainer) => Promise<void>
): Promise<void> {
  const c = await runContainer(name, opts);
  try {
    await body(c);
  } catch (e) {
    console.log(c.logs());
    throw e;
  } finally {
    await c.stop();
  }
}

/** Runs argv in the container; its output, and its error output where it failed. */
function tryExec(c: IContainer, argv: string[]): string {
  try {
    return c.exec(argv);
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
}

async function sessions(request: APIRequestContext, c: IContainer): Promise<any[]> {
  const r = await request.get(`${c.base}desktops/api/sessions`, {
    headers: { Authorization: `token ${c.token}` }
  });
  expect(r.status(), await r.text()).toBe(200);
  return (await r.json()).sessions;
}

/**
 * Clicks a desktop's tile and checks it through to Stop. `terminal` is the terminal the
 * desktop opens for Ctrl+Alt+T.
 */
async function desktopRoundTrip(
  page: Page,
  request: APIRequestContext,
  c: IContainer,
  title: string,
  terminal: string
): Promise<void> {
  await openLab(page, c.base, c.token);
  // The desktops service runs (the launcher asked it for its tiles): what is here now stays.
  const before = new Set(c.processes().map(p => p.pid));

  const clicked = Date.now();
  await tile(page, title).click();
  const tab = await desktopTab(page, title);
  await waitForDesktop(page, tab.panel, 120_000);
  const drawn = (Date.now() - clicked) / 1000;
  await settledPicture(page, tab.panel);
  const settled = (Date.now() - clicked) / 1000;
  await page.screenshot({ path: join(RESULTS, `${c.name}.png`) });

  const running = (await sessions(request, c)).filter(s => s.state === 'running');
  expect(running.map(s => s.profile)).toEqual([title.toLowerCase()]);
  const id: string = running[0].id;

  // Everything in the container runs as its user; only JupyterLab listens on TCP.
  const uid = Number(c.exec(['id', '-u']).trim());
  expect(c.processes().filter(p => p.uid !== uid)).toEqual([]);
  expect(tcpListeners(c)).toEqual([8888]);
  // The desktop's processes (seen from this host) do not carry JupyterLab's token.
  const desktop = sessionPids(id);
  expect(desktop.length).toBeGreaterThan(3);
  for (const pid of desktop) {
    expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).not.toContain(c.token);
  }

  // Typed into a terminal in the desktop (Ctrl+Alt+T opens one).
  const canvas = tab.panel.locator('.jp-Desktops-screen canvas');
  await canvas.click({ position: { x: 500, y: 300 } });
  await page.keyboard.press('Control+Alt+t');
  await expect
    .poll(() => c.processes().some(p => p.cmd.includes(terminal)), { timeout: 30_000 })
    .toBe(true);
  const marker = `typed in ${title} ${Date.now()}`;
  const typed = (): string => {
    try {
      return c.exec(['cat', `${HOME}/typed.txt`]).trim();
    } catch {
      return '';
    }
  };
  // Keys typed before the new window has the focus go elsewhere: type until they land.
  const deadline = Date.now() + 45_000;
  while (typed() !== marker && Date.now() < deadline) {
    await page.keyboard.type(`echo '${marker}' > ~/typed.txt`);
    await page.keyboard.press('Enter');
    await expect
      .poll(typed, { timeout: 5_000 })
      .toBe(marker)
      .catch(() => undefined);
  }
  expect(typed()).toBe(marker);

  // Stop (the tab's toolbar), confirmed (the desktop had keys): the tab closes and nothing of
  // the desktop is left.
  await tab.panel.locator('.jp-Toolbar-item', { hasText: 'Stop' }).click();
  await page.locator('.jp-Dialog button', { hasText: 'Stop' }).click();
  await expect(tab.tab).toHaveCount(0);
  // The launcher shown again may have an X server started for the next click: not this
  // desktop's (another session's directory, marked as waiting), and nothing else is new.
  const waiting = (p: { cmd: string }): boolean => {
    const dir = spareDir(p.cmd.split(' '), path => {
      try {
        c.exec(['test', '-e', path]);
        return true;
      } catch {
        return false;
      }
    });
    return !!dir && !dir.endsWith(`/${id}`);
  };
  await expect
    .poll(() => c.processes().filter(p => !before.has(p.pid) && !waiting(p)), {
      timeout: 30_000
    })
    .toEqual([]);
  expect(sessionPids(id)).toEqual([]);
  expect((await sessions(request, c)).find(s => s.id === id)?.state).toBe('exited');
  expect(tcpListeners(c)).toEqual([8888]);
  record(c.name, { clickToDrawnSeconds: drawn, clickToSettledSeconds: settled });
}

test.describe.serial('the single-user image (podman)', () => {
  test.beforeAll(() => {
    const b = build();
    console.log(
      `image: built in ${b.seconds.image} s, ${(b.bytes / 2 ** 20).toFixed(0)} MiB, ` +
        `Node ${b.node}; route for {base_url}desktops/: ${b.jsp ? 'jupyter-server-proxy' : 'nginx stand-in (TEST)'}`
    );
  });

  test("the image's command is jupyterhub-singleuser from its own environment", () => {
    const out = podman(['run', '--rm', IMAGE, 'sh', '-c', 'command -v jupyterhub-singleuser']);
    expect(out.trim()).toBe('/opt/jupyterhub/bin/jupyterhub-singleuser');
    const version = spawnPodman(['run', '--rm', IMAGE, 'jupyterhub-singleuser', '--version']);
    expect(version.status).toBe(0);
    // JupyterLab's hub app, from the image's environment: the launcher and the desktops.
    expect(version.stderr).toMatch(
      /Extending jupyterlab\.labhubapp\.SingleUserLabApp from jupyterlab 4\./
    );
    expect(podman(['image', 'inspect', '--format', '{{json .Config.Cmd}}', IMAGE]).trim()).toBe(
      '["jupyterhub-singleuser"]'
    );
  });

  test("the image's Node is Debian's own 18.20, which the package says it supports", () => {
    const b = build();
    expect(b.node).toMatch(/^v18\.20\./);
    const engines = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'daemon', 'package.json'), 'utf8')
    ).engines.node;
    expect(engines).toBe('>=18.20');
  });

  for (const [title, terminal] of [
    ['XFCE', 'xfce4-terminal'],
    ['MATE', 'mate-terminal']
  ]) {
    test(`${title}: drawn, typed into, stopped; as uid 1000 with no capabilities`, async ({
      page,
      request
    }) => {
      await inContainer(`desktops-${title.toLowerCase()}`, {}, async c => {
        expect(c.exec(['id', '-u']).trim()).toBe('1000');
        expect(c.exec(['grep', '^CapEff', '/proc/self/status'])).toMatch(/0{16}/);
        await desktopRoundTrip(page, request, c, title, terminal);
      });
    });
  }

  test('a read-only root with /tmp and the home apart, and an 8 MiB /dev/shm: XFCE works', async ({
    page,
    request
  }) => {
    await inContainer(
      'desktops-readonly',
      {
        home: { uid: 1000, gid: 100 },
        options: [
          '--read-only',
          '--read-only-tmpfs=false',
          '--tmpfs',
          '/tmp:mode=1777',
          '--shm-size=8m'
        ]
      },
      async c => {
        expect(tryExec(c, ['touch', '/opt/jupyterhub/written'])).toMatch(/Read-only file system/);
        expect(c.exec(['df', '--output=size', '-B1M', '/dev/shm'])).toMatch(/\b8\b/);
        await desktopRoundTrip(page, request, c, 'XFCE', 'xfce4-terminal');
      }
    );
  });

  test('a read-only root without a writable /tmp: the tab and the doctor say so', async ({
    page
  }) => {
    await inContainer(
      'desktops-readonly-tmp',
      {
        home: { uid: 1000, gid: 100 },
        options: ['--read-only', '--read-only-tmpfs=false']
      },
      async c => {
        const why =
          /\/tmp cannot be written here \(a read-only file system\?\): give this server a writable \/tmp/;
        await openLab(page, c.base, c.token);
        await tile(page, 'XFCE').click();
        const tab = await desktopTab(page, 'XFCE');
        await expect(tab.panel.locator('.jp-Desktops-message')).toHaveText(why);
        expect(tryExec(c, ['jupyter', 'desktops', 'doctor'])).toMatch(why);
      }
    );
  });

  test('an arbitrary uid without a passwd entry (OpenShift), with a home of its own: XFCE works', async ({
    page,
    request
  }) => {
    const uid = 1000680000;
    // --passwd=false: podman would otherwise add the uid to /etc/passwd; OpenShift does not.
    const opts = { user: `${uid}:0`, home: { uid, gid: 0 }, options: ['--passwd=false'] };
    await inContainer('desktops-anyuid', opts, async c => {
      expect(c.exec(['id', '-u']).trim()).toBe(String(uid));
      expect(tryExec(c, ['getent', 'passwd', String(uid)])).toBe('');
      expect(tryExec(c, ['jupyter', 'desktops', 'doctor'])).toContain(
        `User: uid ${uid} has no entry in /etc/passwd: each desktop gets one from nss_wrapper`
      );
      await desktopRoundTrip(page, request, c, 'XFCE', 'xfce4-terminal');
    });
  });
});
