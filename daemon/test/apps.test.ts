// App-only sessions with real applications that run here: ncview (the example profile in
// docs/examples) opening a NetCDF file made with ncgen through "Open in", glxgears on Mesa's
// software OpenGL, the session's end when the app exits, and the keyboard's focus on an app
// whose window is there before openbox is ready (xev).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_PROFILES,
  request,
  requireProgram,
  sessionPids,
  sessionProcess,
  startDaemon,
  startSession,
  tmp,
  type ITestDaemon,
  waitFor,
  waitForState,
  windowTree,
  writeProfile
} from './helpers';
import { RfbTestClient } from './rfb-client';

const APP_SESSION = join(BUILTIN_PROFILES, 'app-session.sh');
const EXAMPLES = resolve(__dirname, '..', '..', 'docs', 'examples');
/** A file name a shell would act on, were it ever given one. */
const NASTY = `run 1 $(touch PWNED) ;'"\`id\`.nc`;

/** A made-up temperature field on a lat/lon grid, as CDL for ncgen. */
const CDL = readFileSync(join(__dirname, 'fixtures', 'temperature.cdl'), 'utf8');

async function log(d: ITestDaemon, id: string): Promise<string> {
  return (await request(d.socket, 'GET', `/api/sessions/${id}/log`)).json.text;
}

/** Top-level windows of a display whose name matches, with their sizes (xwininfo). */
function windows(
  d: ITestDaemon,
  id: string,
  display: number,
  name: RegExp
): { w: number; h: number }[] {
  return windowTree(`:${display}`, join(d.runtimeDir, id, 'Xauthority'))
    .split('\n')
    .filter(l => name.test(l))
    .map(l => /(\d+)x(\d+)\+/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map(m => ({ w: Number(m[1]), h: Number(m[2]) }));
}

describe('app-only sessions', () => {
  let d: ITestDaemon;
  let dir: string;
  let root: string;

  beforeAll(async () => {
    for (const [p, pkg] of [
      ['Xtigervnc', 'tigervnc-standalone-server'],
      ['ncview', 'ncview'],
      ['ncgen', 'netcdf-bin'],
      ['glxgears', 'mesa-utils'],
      ['glxinfo', 'mesa-utils'],
      ['openbox', 'openbox'],
      ['xev', 'x11-utils'],
      ['xprop', 'x11-utils'],
      ['xwininfo', 'x11-utils']
    ]) {
      requireProgram(p, pkg);
    }
    dir = tmp();
    // The user's Jupyter root, and a NetCDF file outside it.
    root = join(dir, 'root');
    mkdirSync(join(root, 'data'), { recursive: true });
    execFileSync('ncgen', ['-o', join(root, 'data', 'temperature.nc')], { input: CDL });
    execFileSync('ncgen', ['-o', join(root, 'data', NASTY)], { input: CDL });
    execFileSync('ncgen', ['-o', join(dir, 'outside.nc')], { input: CDL });
    symlinkSync(join(dir, 'outside.nc'), join(root, 'data', 'escape.nc'));
    const app = (id: string, title: string, argv: string, extra: Record<string, unknown> = {}) =>
      writeProfile(dir, id, `echo "display=$DISPLAY"\nexec "${APP_SESSION}" ${argv}`, {
        title,
        kind: 'app',
        ...extra
      });
    // Past the daemon's early-exit window (2 s): an app that ran, then quit.
    app('test-quick', 'Quick', `/bin/sh -c 'sleep 3; exit 0'`);
    app('test-glxgears', 'Gears', '/usr/bin/glxgears', { gl: '3.3' });
    // xev (which prints the keys it gets) under an openbox slow to start, as on a first login:
    // fontconfig must build a cache of its own first, for the font of openbox's theme.
    writeProfile(
      dir,
      'test-slow-wm',
      [
        'cache=${XAUTHORITY%/*}/fonts',
        'mkdir "$cache"',
        `printf '<fontconfig><dir>/usr/share/fonts</dir><cachedir>%s</cachedir></fontconfig>' "$cache" >"$cache/fonts.conf"`,
        'FONTCONFIG_FILE=$cache/fonts.conf',
        'export FONTCONFIG_FILE',
        `exec "${APP_SESSION}" /usr/bin/stdbuf -oL /usr/bin/xev -event keyboard`
      ].join('\n'),
      { title: 'Slow WM', kind: 'app' }
    );
    writeProfile(dir, 'test-gl-future', 'exec sleep 600', {
      title: 'Future',
      kind: 'app',
      gl: '9.9'
    });
    d = await startDaemon([EXAMPLES, dir], { rootDir: root });
  });
  afterEach(async () => {
    for (const s of d.sessions.live()) {
      await d.sessions.stop(s.id);
    }
  });
  afterAll(() => d?.close());

  /** The argv of the session's process named `comm`. */
  async function argvOf(id: string, comm: string): Promise<string[]> {
    return (await sessionProcess(id, comm)).argv;
  }

  it('"Open in Ncview" runs ncview on the file, maximized, and the session ends with the app', async () => {
    const s = await startSession(d.socket, {
      profile: 'ncview',
      width: 1024,
      height: 768,
      open: 'data/temperature.nc'
    });
    expect(s.state).toBe('running');
    expect(s.open).toBe('data/temperature.nc');
    expect(await argvOf(s.id, 'ncview')).toEqual([
      '/usr/bin/ncview',
      join(root, 'data', 'temperature.nc')
    ]);
    const ncview = await sessionProcess(s.id, 'ncview');
    const display = Number(/^:(\d+)$/.exec(ncview.env.get('DISPLAY') ?? '')?.[1]);
    // ncview's main window (class Ncview, named after the file), maximized by openbox.
    let seen: { w: number; h: number }[] = [];
    const main = await waitFor(
      () => {
        seen = windows(d, s.id, display, /"Ncview"\)/);
        return seen.find(x => x.w === 1024 && x.h === 768);
      },
      30000,
      'a maximized ncview window'
    ).catch(async err => {
      throw new Error(
        `${err.message}; ncview windows: ${JSON.stringify(seen)}; log: ${(await log(d, s.id)).slice(-1500)}`
      );
    });
    expect(main).toEqual({ w: 1024, h: 768 });
    // The app ends: so does the desktop, saying which app exited.
    process.kill(ncview.pid, 'SIGTERM');
    const ended = await waitForState(d.socket, s.id, ['exited', 'failed']);
    expect(ended.exit.message).toBe('Ncview exited with an error (status 143)');
    expect(await sessionPids(s.id)).toEqual([]);
  });

  it('a file name full of shell syntax reaches the app as one argument, never run', async () => {
    const s = await startSession(d.socket, { profile: 'ncview', open: `data/${NASTY}` });
    expect(s.state).toBe('running');
    expect(await argvOf(s.id, 'ncview')).toEqual(['/usr/bin/ncview', join(root, 'data', NASTY)]);
    for (const where of [root, join(root, 'data'), process.env.HOME ?? '/root', process.cwd()]) {
      expect(existsSync(join(where, 'PWNED')), `${where}/PWNED`).toBe(false);
    }
  });

  it('refuses a file outside the root, of another type, missing or not given, and changes nothing', async () => {
    const running = await startSession(d.socket, {
      profile: 'ncview',
      open: 'data/temperature.nc'
    });
    // Its processes, once all there: `running` comes as the X server answers.
    await sessionProcess(running.id, 'ncview');
    const before = (await sessionPids(running.id)).sort();
    writeFileSync(join(root, 'notes.txt'), 'not netCDF');
    for (const [body, status, message] of [
      [
        { profile: 'ncview', open: '../outside.nc' },
        400,
        '"../outside.nc" lies outside your Jupyter root'
      ],
      [
        { profile: 'ncview', open: 'data/escape.nc' },
        400,
        '"data/escape.nc" lies outside your Jupyter root'
      ],
      // An absolute path is read as the contents API reads it: relative to the root.
      [
        { profile: 'ncview', open: join(dir, 'outside.nc') },
        404,
        `There is no file "${join(dir, 'outside.nc').slice(1)}" in your Jupyter root`
      ],
      [
        { profile: 'ncview', open: 'notes.txt' },
        400,
        'Ncview opens .nc, .nc4, .cdf files, not .txt ("notes.txt")'
      ],
      [
        { profile: 'ncview', open: 'data/gone.nc' },
        404,
        'There is no file "data/gone.nc" in your Jupyter root'
      ],
      [{ profile: 'xfce', open: 'data/temperature.nc' }, 400, 'XFCE does not open files'],
      // The example's tile (fileRequired) without a file: a user's slip, not a server failure.
      [
        { profile: 'ncview' },
        400,
        'Ncview needs a file to open: right-click a .nc, .nc4 or .cdf file in the file browser ' +
          'and choose Open in Ncview'
      ]
    ] as const) {
      const r = await request(d.socket, 'POST', '/api/sessions', body);
      expect([r.status, r.json.error?.message], JSON.stringify(body)).toEqual([status, message]);
    }
    // The running desktop was not replaced, and nothing else was started.
    expect(d.sessions.live().map(x => x.id)).toEqual([running.id]);
    expect((await sessionPids(running.id)).sort()).toEqual(before);
  });

  it('the app has the keyboard even when its window is ready before the window manager', async () => {
    const s = await startSession(d.socket, { profile: 'test-slow-wm', width: 800, height: 600 });
    expect(s.state).toBe('running');
    const xev = await sessionProcess(s.id, 'xev');
    const env = {
      PATH: process.env.PATH,
      DISPLAY: xev.env.get('DISPLAY'),
      XAUTHORITY: join(d.runtimeDir, s.id, 'Xauthority')
    };
    const outer = await waitFor(
      async () => /Outer window is (0x[0-9a-f]+)/.exec(await log(d, s.id))?.[1],
      20000,
      "xev's window"
    );
    // Openbox manages the window and gives it the focus. A window mapped while openbox was
    // still starting was left unmanaged, or managed without the focus: keys went nowhere.
    let active = '';
    await waitFor(
      () => {
        active = execFileSync('xprop', ['-root', '_NET_ACTIVE_WINDOW'], { encoding: 'utf8', env });
        return active.trim().endsWith(` ${outer}`);
      },
      10000,
      `the focus on ${outer}`
    ).catch(err => {
      throw new Error(`${err.message}; ${active.trim()}`);
    });
    // And a key typed in the tab reaches the app.
    const c = await RfbTestClient.open(d.socket, s.id);
    try {
      await c.handshake();
      c.send([4, 1, 0, 0, 0, 0, 0, 0x61]);
      c.send([4, 0, 0, 0, 0, 0, 0, 0x61]);
      await waitFor(async () => /keysym 0x61, a\)/.test(await log(d, s.id)), 10000, 'the key');
    } finally {
      c.close();
    }
  });

  it('an app that exits cleanly ends the session as "<app> exited"', async () => {
    const s = await startSession(d.socket, { profile: 'test-quick' });
    const ended = await waitForState(d.socket, s.id, ['exited']);
    expect(ended.exit).toEqual({ code: 'xstartup-exited', message: 'Quick exited' });
  });

  it('glxgears renders with Mesa software OpenGL after the GL check', async () => {
    const s = await startSession(d.socket, { profile: 'test-glxgears' });
    expect(s.state).toBe('running');
    // glxgears reports its frame rate every 5 s: frames were drawn.
    const text = await waitFor(
      async () => {
        const t = await log(d, s.id);
        return /\d+ frames in 5\.\d+ seconds/.test(t) ? t : undefined;
      },
      20000,
      'glxgears to report frames'
    );
    expect(Number(/(\d+) frames in 5/.exec(text)![1])).toBeGreaterThan(0);
    const { env } = await sessionProcess(s.id, 'glxgears');
    expect(env.get('DESKTOPS_GL_RENDERER')).toMatch(/^llvmpipe/);
    expect(env.get('DESKTOPS_GL_SOFTWARE')).toBe('1');
  });

  it('a profile needing more OpenGL than the desktop has is refused with a sentence', async () => {
    const r = await startSession(d.socket, { profile: 'test-gl-future' });
    expect(r.state).toBe('failed');
    expect(r.exit.message).toMatch(
      /^Future did not start: it needs OpenGL 9\.9 or newer, and this desktop offers 4\.\d \(llvmpipe/
    );
    expect(d.sessions.live()).toEqual([]);
  });
});
