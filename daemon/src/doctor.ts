// `--doctor`: what an admin needs to know before users click: Node, Xtigervnc, the runtime
// directory, every profile's availability, and the OpenGL a desktop offers (checked on a
// short-lived Xtigervnc, exactly as a session would get it).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { codeCacheStatus } from './code-cache.js';
import { findProgram, type ProfileStore } from './profiles.js';
import { prepareRuntimeDir } from './runtime.js';
import { checkGl, type IGlInfo } from './sessions/gl.js';
import { endGroups } from './sessions/procs.js';
import { checkTmpDir } from './sessions/tmp.js';
import { startXvnc, type IXServer } from './sessions/xvnc.js';

export interface IDoctorReport {
  lines: string[];
  ok: boolean;
}

/** Starts a throw-away desktop and reads its OpenGL with glxinfo. */
export async function probeGl(xvnc: string, glxinfo: string): Promise<IGlInfo> {
  const dir = await mkdtemp(join(tmpdir(), 'jupyter-desktops-doctor-'));
  let x: IXServer | undefined;
  let display: number | undefined;
  try {
    x = await startXvnc({
      xvnc,
      dir,
      width: 640,
      height: 480,
      desktopName: 'doctor',
      // Whoever runs the doctor, their environment's secrets are not the X server's business.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/' },
      output: 'ignore',
      timeoutMs: 15000
    });
    display = await x.display;
    return await checkGl(glxinfo, {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DISPLAY: `:${display}`,
      XAUTHORITY: x.authFile
    });
  } finally {
    if (x) {
      await endGroups([x.child], 0);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The oldest Node.js this daemon runs on, `engines.node` of its package.json (">=18.20"), as
 * [major, minor].
 */
export function nodeMinimum(assets: string): [number, number] {
  const pkg = JSON.parse(readFileSync(join(assets, 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const m = /^>=\s*(\d+)(?:\.(\d+))?/.exec(pkg.engines?.node ?? '');
  if (!m) {
    throw new Error(`no engines.node (">=N.M") in ${join(assets, 'package.json')}`);
  }
  return [Number(m[1]), Number(m[2] ?? 0)];
}

/** Whether Node.js `version` ("v18.20.4") is at least `need`. */
export function nodeMeets(version: string, need: [number, number]): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > need[0] || (major === need[0] && minor >= need[1]);
}

/** nss_wrapper's library, where Debian puts it (/usr/lib/<triplet>/), or undefined. */
export function findNssWrapper(lib = '/usr/lib'): string | undefined {
  const dirs = [
    lib,
    ...readdirSync(lib)
      .filter(d => d.includes('-linux-'))
      .map(d => join(lib, d))
  ];
  return dirs.map(d => join(d, 'libnss_wrapper.so')).find(f => existsSync(f));
}

/**
 * A uid without a passwd entry (a container run as an arbitrary uid): D-Bus, which the desktops
 * need, refuses to run, unless desktop-env.sh gives each desktop an entry with nss_wrapper.
 * Undefined where the user has an entry.
 */
export function passwdProblem(): { ok: boolean; line: string } | undefined {
  try {
    userInfo();
    return undefined;
  } catch {
    const uid = process.getuid ? process.getuid() : -1;
    const lib = findNssWrapper();
    return lib
      ? {
          ok: true,
          line: `User: uid ${uid} has no entry in /etc/passwd: each desktop gets one from nss_wrapper (${lib})`
        }
      : {
          ok: false,
          line:
            `User: problem: uid ${uid} has no entry in /etc/passwd, and D-Bus, which the desktops need, ` +
            'does not run without one: run the server as a user the system knows, or install ' +
            'nss_wrapper (Debian: libnss-wrapper), which gives each desktop an entry of its own'
        };
  }
}

export async function doctor(o: {
  profiles: ProfileStore;
  xvnc: string;
  runtimeDir: string;
  runtimeDirGiven: boolean;
  /** Where the daemon's package.json is (dist/ for the bundle). */
  assets: string;
  /** The Python 3 that runs each desktop's session reaper. */
  python?: string;
}): Promise<IDoctorReport> {
  const lines: string[] = [];
  let ok = true;
  const need = nodeMinimum(o.assets);
  const nodeOk = nodeMeets(process.version, need);
  lines.push(
    `Node.js ${process.version}: ${nodeOk ? 'ok' : `too old, ${need.join('.')} or newer is needed`}`
  );
  if (!nodeOk) {
    ok = false;
  }

  const cache = codeCacheStatus();
  if (cache) {
    lines.push(
      `V8 code cache (a faster start): ${
        {
          used: `used (${cache.file})`,
          rejected: `refused by this Node.js, written again once the daemon serves (${cache.file})`,
          missing: `none yet, written once the daemon serves (${cache.file})`,
          off: `off: ${cache.why}`
        }[cache.state]
      }`
    );
  }

  const xvnc = await findProgram(o.xvnc);
  lines.push(
    xvnc
      ? `Xtigervnc: ${xvnc}`
      : `Xtigervnc: missing (${o.xvnc}; Debian: tigervnc-standalone-server)`
  );
  if (!xvnc) {
    ok = false;
  }
  const python = await findProgram(o.python ?? 'python3');
  lines.push(
    python
      ? `Python (runs each desktop's session reaper): ${python}`
      : `Python: missing (${o.python ?? 'python3'}); every desktop runs under a small Python 3 script`
  );
  if (!python) {
    ok = false;
  }
  const passwd = passwdProblem();
  if (passwd) {
    lines.push(passwd.line);
    ok &&= passwd.ok;
  }
  let temporary = true;
  try {
    await checkTmpDir();
    lines.push(`Temporary files: ${tmpdir()}: ok`);
  } catch (err) {
    lines.push(`Temporary files: problem: ${(err as Error).message}`);
    ok = temporary = false;
  }
  try {
    const own = await prepareRuntimeDir({ ...o });
    await rm(own, { recursive: true, force: true });
    lines.push(`Runtime directory: ${o.runtimeDir}: ok`);
  } catch (err) {
    lines.push(`Runtime directory: problem: ${(err as Error).message}`);
    ok = false;
  }

  const { problems } = await o.profiles.load();
  const list = await o.profiles.list();
  lines.push('Profiles:');
  for (const { profile: p } of list) {
    lines.push(
      `  ${p.available ? 'ok ' : 'off'} ${p.id} (${p.title})${p.available ? '' : `: ${p.unavailableReason}`}`
    );
  }
  for (const p of problems) {
    lines.push(`  bad ${p.file}: ${p.message}`);
  }
  if (!list.some(r => r.profile.available)) {
    ok = false;
  }

  const glxinfo = await findProgram('glxinfo');
  if (!xvnc || !glxinfo || !temporary) {
    const why = !glxinfo
      ? 'glxinfo is missing; Debian: mesa-utils'
      : !xvnc
        ? 'no Xtigervnc'
        : 'no desktop can start here (temporary files, above)';
    lines.push(`OpenGL: not checked (${why})`);
  } else {
    try {
      const gl = await probeGl(xvnc, glxinfo);
      lines.push(
        `OpenGL on a desktop: ${gl.core.join('.')} core, ${gl.renderer}` +
          (gl.software ? ' (software rendering: fine for light use, slow for big 3D scenes)' : '')
      );
    } catch (err) {
      lines.push(`OpenGL: ${(err as Error).message}`);
      ok = false;
    }
  }
  return { lines, ok };
}
