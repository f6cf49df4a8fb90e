// The bundled daemon on the oldest Node.js it promises (daemon/package.json's engines): Debian
// 12's own nodejs, 18.20. scripts/setup.sh unpacks Debian's packages into .cache/node18, since
// this machine's apt may hold a newer nodejs; the test fails, rather than skips, without it.
// The daemon runs as jupyter-server-proxy runs it: the bundle, on a unix socket, with the flags
// the Python side passes; then a real XFCE desktop, its RFB stream, and a stop that leaves
// nothing behind. (Fastify 5 itself asks for Node.js 20: unbundled, its inject() fails on 18
// with ERR_REQUIRE_ESM, as light-my-request requires cookie 2, an ES module. The bundle is
// CommonJS throughout, and the daemon never injects; this test is what keeps 18.20 honest.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION as SOURCE_VERSION } from '../src/version';
import { RfbTestClient } from './rfb-client';
import {
  DAEMON_BUNDLE,
  processesOfSession,
  request,
  requireProgram,
  startSession,
  tmp,
  waitFor
} from './helpers';

const REPO = resolve(__dirname, '..', '..');
const NODE18 = join(REPO, '.cache', 'node18', 'bin', 'node');
const readJson = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));
const VERSION: string = readJson(join(REPO, 'packages', 'labextension', 'package.json')).version;

function exitOf(p: ChildProcess): Promise<number | null> {
  return new Promise(r =>
    p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', code => r(code))
  );
}

describe("the bundled daemon on Debian 12's Node.js 18.20", () => {
  let root: string;
  let socket: string;
  let runtime: string;
  let daemon: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    if (!existsSync(NODE18)) {
      throw new Error(
        `${NODE18} is missing: scripts/setup.sh unpacks Debian's Node.js 18.20 there`
      );
    }
    if (!existsSync(DAEMON_BUNDLE)) {
      throw new Error(`${DAEMON_BUNDLE} is missing: run npm run build first`);
    }
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    requireProgram('xfce4-session', 'xfce4');
    requireProgram('dbus-launch', 'dbus-x11');
    root = tmp('desktops-node18-');
    socket = join(root, 'desktops.sock');
    runtime = join(root, 'rt');
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.includes('TOKEN'))
    ) as Record<string, string>;
    // The argv launch.py's node_argv gives jupyter-server-proxy, with this Node.js.
    daemon = spawn(
      NODE18,
      [
        DAEMON_BUNDLE,
        '--socket',
        socket,
        '--root-dir',
        root,
        '--runtime-dir',
        runtime,
        '--max-sessions',
        '1',
        '--max-geometry',
        '7680x4320',
        '--idle-timeout',
        '0'
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    daemon.stdout!.on('data', d => (output += d));
    daemon.stderr!.on('data', d => (output += d));
    await waitFor(
      async () => {
        if (daemon!.exitCode !== null) {
          throw new Error(`the daemon exited ${daemon!.exitCode} on Node.js 18: ${output}`);
        }
        return existsSync(socket) && (await request(socket, 'GET', '/healthz').catch(() => false));
      },
      30000,
      'the daemon on Node.js 18 to answer'
    );
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      await exitOf(daemon);
    }
  });

  it('is the Node.js 18.20 that engines names, and the daemon runs on it', () => {
    const version = execFileSync(NODE18, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    expect(version).toMatch(/^v18\.20\.\d+$/);
    // The floor tested is the floor promised: the daemon's package.json and the bundle's.
    expect(readJson(join(REPO, 'daemon', 'package.json')).engines.node).toBe('>=18.20');
    expect(readJson(join(DAEMON_BUNDLE, '..', '..', 'package.json')).engines.node).toBe('>=18.20');
    expect(readlinkSync(`/proc/${daemon!.pid}/exe`)).toBe(
      realpathSync(join(REPO, '.cache', 'node18', 'root', 'usr', 'bin', 'node'))
    );
  });

  it('answers /healthz with the version, and lists the profiles', async () => {
    const r = await request(socket, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, version: VERSION, sessions: 0 });
    // The same one version as the sources see under vitest (vitest.config.ts's define).
    expect(SOURCE_VERSION).toBe(VERSION);
    const profiles = await request(socket, 'GET', '/api/profiles');
    expect(profiles.status).toBe(200);
    expect(profiles.json.profiles.find((p: any) => p.id === 'xfce')).toMatchObject({
      available: true
    });
  });

  it('runs its doctor (what `jupyter desktops doctor` runs) on a short-lived Xtigervnc', () => {
    const out = execFileSync(
      NODE18,
      [DAEMON_BUNDLE, '--doctor', '--runtime-dir', join(tmp('desktops-node18-doctor-'), 'rt')],
      { encoding: 'utf8', timeout: 60000 }
    );
    expect(out).toMatch(/^Node\.js v18\.20\.\d+: ok$/m);
    expect(out).toMatch(/^ {2}ok {2}xfce \(XFCE\)$/m);
    expect(out).toMatch(/^OpenGL on a desktop: \d+\.\d+ core/m);
  });

  it('starts a real XFCE desktop, streams its RFB, stops it and leaves nothing behind', async () => {
    const s = await startSession(socket, { profile: 'xfce', width: 1024, height: 768 });
    expect(s.state, JSON.stringify(s)).toBe('running');
    expect(processesOfSession(s.id).some(p => p.argv[0] === 'Xtigervnc')).toBe(true);
    // The desktop's own session manager is up, on the display Xtigervnc chose (-displayfd).
    const display = await waitFor(
      () =>
        processesOfSession(s.id)
          .find(p => basename(p.argv[0] ?? '') === 'xfce4-session')
          ?.env.get('DISPLAY'),
      20000,
      'xfce4-session in the desktop'
    );
    expect(display).toMatch(/^:\d+$/);

    const client = await RfbTestClient.open(socket, s.id);
    expect((await client.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    const closed = new Promise(r => client.ws.once('close', r));
    client.close();
    await closed;

    const stopped = await request(socket, 'DELETE', `/api/sessions/${s.id}`);
    expect(stopped.status).toBe(200);
    expect(processesOfSession(s.id)).toEqual([]);
    expect((await request(socket, 'GET', '/healthz')).json.sessions).toBe(0);
    const own = join(runtime, `d${daemon!.pid}`);
    expect(readdirSync(own)).toEqual([]);
    expect(existsSync(`/tmp/.X11-unix/X${display.slice(1)}`)).toBe(false);

    daemon!.kill('SIGTERM');
    expect(await exitOf(daemon!)).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });
});
