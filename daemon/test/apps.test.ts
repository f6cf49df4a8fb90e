// App-only sessions with real applications that run here: ncview on a NetCDF file made with
// ncgen, glxgears on Mesa's software OpenGL, and the session's end when the app exits.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_PROFILES,
  request,
  requireProgram,
  sessionPids,
  startDaemon,
  tmp,
  waitFor,
  waitForState,
  writeProfile,
  type ITestDaemon
} from './helpers';

const APP_SESSION = join(BUILTIN_PROFILES, 'app-session.sh');

const CDL = `netcdf temperature {
dimensions:
  lat = 18 ; lon = 36 ;
variables:
  float lat(lat) ; lat:units = "degrees_north" ;
  float lon(lon) ; lon:units = "degrees_east" ;
  float t(lat, lon) ; t:units = "K" ;
data:
  lat = ${Array.from({ length: 18 }, (_, i) => -85 + i * 10).join(', ')} ;
  lon = ${Array.from({ length: 36 }, (_, i) => -175 + i * 10).join(', ')} ;
  t = ${Array.from({ length: 18 * 36 }, (_, i) => (250 + 40 * Math.cos(((Math.floor(i / 36) * 10 - 85) * Math.PI) / 180)).toFixed(1)).join(', ')} ;
}
`;

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
  const out = execFileSync('xwininfo', ['-root', '-tree'], {
    env: {
      ...process.env,
      DISPLAY: `:${display}`,
      XAUTHORITY: join(d.runtimeDir, id, 'Xauthority')
    },
    encoding: 'utf8'
  });
  return out
    .split('\n')
    .filter(l => name.test(l))
    .map(l => /(\d+)x(\d+)\+/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map(m => ({ w: Number(m[1]), h: Number(m[2]) }));
}

describe('app-only sessions', () => {
  let d: ITestDaemon;
  let dir: string;

  beforeAll(async () => {
    for (const [p, pkg] of [
      ['Xtigervnc', 'tigervnc-standalone-server'],
      ['ncview', 'ncview'],
      ['ncgen', 'netcdf-bin'],
      ['glxgears', 'mesa-utils'],
      ['glxinfo', 'mesa-utils'],
      ['openbox', 'openbox'],
      ['xwininfo', 'x11-utils']
    ]) {
      requireProgram(p, pkg);
    }
    dir = tmp();
    execFileSync('ncgen', ['-o', join(dir, 'temperature.nc')], { input: CDL });
    const app = (id: string, title: string, argv: string, extra: Record<string, unknown> = {}) =>
      writeProfile(dir, id, `echo "display=$DISPLAY"\nexec "${APP_SESSION}" ${argv}`, {
        title,
        kind: 'app',
        ...extra
      });
    app('test-ncview', 'Ncview', `/usr/bin/ncview "${join(dir, 'temperature.nc')}"`);
    app('test-quick', 'Quick', `/bin/sh -c 'sleep 1; exit 0'`);
    app('test-glxgears', 'Gears', '/usr/bin/glxgears', { gl: '3.3' });
    writeProfile(dir, 'test-gl-future', 'exec sleep 600', {
      title: 'Future',
      kind: 'app',
      gl: '9.9'
    });
    d = await startDaemon([dir]);
  });
  afterEach(async () => {
    for (const s of d.sessions.live()) await d.sessions.stop(s.id);
  });
  afterAll(() => d?.close());

  it('runs ncview on a NetCDF file, maximized, and the session ends with the app', async () => {
    const s = (
      await request(d.socket, 'POST', '/api/sessions', {
        profile: 'test-ncview',
        width: 1024,
        height: 768
      })
    ).json;
    expect(s.state).toBe('running');
    const display = Number(
      /display=:(\d+)/.exec(await waitFor(() => log(d, s.id), 10000, 'the log'))![1]
    );
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
    expect(await log(d, s.id)).toContain(`starting /usr/bin/ncview ${join(dir, 'temperature.nc')}`);
    // The app ends: so does the desktop, saying which app exited.
    const ncview = (await sessionPids(s.id)).find(
      pid => readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'ncview'
    );
    process.kill(ncview!, 'SIGTERM');
    const ended = await waitForState(d.socket, s.id, ['exited', 'failed']);
    expect(ended.exit.message).toBe('Ncview exited with an error (status 143)');
    expect(await sessionPids(s.id)).toEqual([]);
  });

  it('an app that exits cleanly ends the session as "<app> exited"', async () => {
    const s = (await request(d.socket, 'POST', '/api/sessions', { profile: 'test-quick' })).json;
    const ended = await waitForState(d.socket, s.id, ['exited']);
    expect(ended.exit).toEqual({ code: 'xstartup-exited', message: 'Quick exited' });
  });

  it('glxgears renders with Mesa software OpenGL after the GL check', async () => {
    const s = (await request(d.socket, 'POST', '/api/sessions', { profile: 'test-glxgears' })).json;
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
    const gears = (await sessionPids(s.id)).find(
      pid => readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'glxgears'
    );
    const env = readFileSync(`/proc/${gears}/environ`, 'latin1').split('\0').join('\n');
    expect(env).toMatch(/^DESKTOPS_GL_RENDERER=llvmpipe/m);
    expect(env).toMatch(/^DESKTOPS_GL_SOFTWARE=1$/m);
  });

  it('a profile needing more OpenGL than the desktop has is refused with a sentence', async () => {
    const r = await request(d.socket, 'POST', '/api/sessions', { profile: 'test-gl-future' });
    expect(r.status).toBe(500);
    expect(r.json.error.message).toMatch(
      /^Future did not start: it needs OpenGL 9\.9 or newer, and this desktop offers 4\.\d \(llvmpipe/
    );
    expect(d.sessions.live()).toEqual([]);
  });
});
