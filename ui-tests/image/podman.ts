// The single-user image (deploy/image/Containerfile) as the image tests build and run it, with
// podman and runc (no Docker engine here): a Debian 12 base made by debootstrap, the wheel built
// from this tree, then containers of it serving JupyterLab on a loopback port.
// Where the image lacks jupyter-server-proxy (no package index here has it), a TEST STAND-IN
// serves {base_url}desktops/ as the hub tests' does: the stand-in server extension starts the
// desktops service on a socket in a directory shared with this host, and nginx here routes
// /desktops/ to it after an auth_request to the container's JupyterLab. The tests print which
// route ran.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { authLocation, passOn } from '../standin-nginx';

export const ROOT = resolve(__dirname, '..', '..');
/** The image tests' state: podman's settings, the build's figures, each container's files. */
export const STATE = '/var/tmp/desktops-imagetest';
export const IMAGE = 'localhost/jupyterlab-desktops:test';
/** A Debian 12 base made here by debootstrap: no image registry is reachable. */
export const BASE_IMAGE = 'localhost/debian-bookworm-debootstrap:latest';
export const BUILD_FILE = join(STATE, 'build.json');
/** Where the image keeps the user's home. */
export const HOME = '/home/jovyan';

export interface IBuild {
  seconds: { base: number; wheels: number; image: number };
  bytes: number;
  jsp: boolean;
  node: string;
}

export function build(): IBuild {
  return JSON.parse(readFileSync(BUILD_FILE, 'utf8'));
}

/**
 * podman, as this machine runs it: runc (crun refuses this host's cgroups) and a
 * containers.conf without the default rlimits, which this sandbox refuses.
 */
export function podman(args: string[], opts: { input?: string; timeout?: number } = {}): string {
  const conf = join(STATE, 'containers.conf');
  if (!existsSync(conf)) {
    mkdirSync(STATE, { recursive: true });
    writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
  }
  return execFileSync('podman', ['--runtime', 'runc', ...args], {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeout,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, CONTAINERS_CONF: conf }
  });
}

/** podman as above, for a command whose status and error output the caller reads. */
export function spawnPodman(args: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const r = spawnSync('podman', ['--runtime', 'runc', ...args], {
    encoding: 'utf8',
    env: { ...process.env, CONTAINERS_CONF: join(STATE, 'containers.conf') }
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  more: () => string
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) {
      return got;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} (waited ${timeoutMs / 1000} s)\n${more()}`);
    }
    await new Promise(r => setTimeout(r, 250));
  }
}

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { redirect: 'manual' })).status;
  } catch {
    return undefined;
  }
}

export interface IContainer {
  name: string;
  /** JupyterLab's base URL as the browser reaches it (with a trailing slash). */
  base: string;
  token: string;
  /** Runs argv inside the container, as its user; returns the output. */
  exec(argv: string[]): string;
  /** Every process in the container: pid, uid and command line. */
  processes(): { pid: number; uid: number; cmd: string }[];
  /** The container's log (JupyterLab's and the desktops service's). */
  logs(): string;
  stop(): Promise<void>;
}

export interface IRunOptions {
  /** --user (default: the image's own, uid 1000). */
  user?: string;
  /** More `podman run` options (mounts, --read-only, --shm-size…). */
  options?: string[];
  /**
   * A home volume from this host, as a spawner mounts one (a PVC, a named volume), owned by
   * this uid and group with mode 0700; without it, the image's own home.
   */
  home?: { uid: number; gid: number };
}

/**
 * A container of the image serving JupyterLab on a loopback port, as a spawner runs it but
 * without a hub: the image's user, no capabilities at all, no privilege gain. The token comes
 * through podman's environment, never its command line.
 */
export async function runContainer(name: string, opts: IRunOptions = {}): Promise<IContainer> {
  const token = randomBytes(24).toString('hex');
  const jupyterPort = await freePort();
  const dir = join(STATE, name);
  podman(['rm', '--force', '--ignore', name]);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  // No news pop-up over the launcher (the test's own Lab settings, read-only).
  const settings = join(dir, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(join(settings, 'notification.jupyterlab-settings'), '{"fetchNews": "false"}');
  const standIn = !build().jsp;
  const args = [
    'run',
    '--detach',
    '--name',
    name,
    '--cap-drop=all',
    '--security-opt=no-new-privileges',
    '--publish',
    `127.0.0.1:${jupyterPort}:8888`,
    '--env',
    'JUPYTER_TOKEN',
    '--env',
    'JUPYTERLAB_SETTINGS_DIR=/opt/desktops-test/settings',
    '--volume',
    `${join(dir, 'settings')}:/opt/desktops-test/settings:ro`,
    ...(opts.user ? ['--user', opts.user] : [])
  ];
  const sockets = join(dir, 'sockets');
  if (standIn) {
    // TEST STAND-IN for jupyter-server-proxy: the hub tests' server extension, its socket in a
    // directory this host's nginx can reach.
    mkdirSync(sockets);
    chmodSync(sockets, 0o1777);
    cpSync(join(ROOT, 'ui-tests', 'hub', 'standin'), join(dir, 'standin'), { recursive: true });
    execFileSync('chmod', ['-R', 'a+rX', join(dir, 'standin')]);
    args.push(
      '--volume',
      `${join(dir, 'standin')}:/opt/desktops-standin:ro`,
      '--volume',
      `${sockets}:/run/desktops-standin`,
      '--env',
      'PYTHONPATH=/opt/desktops-standin',
      '--env',
      'JUPYTER_CONFIG_PATH=/opt/desktops-standin',
      '--env',
      'DESKTOPS_STANDIN_SOCKETS=/run/desktops-standin'
    );
  }
  if (opts.home) {
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, opts.home.uid, opts.home.gid);
    args.push('--volume', `${home}:${HOME}`);
  }
  args.push(...(opts.options ?? []));
  args.push(IMAGE, 'jupyter', 'lab', '--ip=0.0.0.0', '--port=8888', '--no-browser');
  execFileSync('podman', ['--runtime', 'runc', ...args], {
    stdio: 'pipe',
    env: { ...process.env, CONTAINERS_CONF: join(STATE, 'containers.conf'), JUPYTER_TOKEN: token }
  });

  const logs = (): string => {
    const r = spawnPodman(['logs', name]);
    return r.stdout + r.stderr;
  };
  const procs: ChildProcess[] = [];
  const container: IContainer = {
    name,
    base: `http://127.0.0.1:${jupyterPort}/`,
    token,
    exec: argv => podman(['exec', name, ...argv]),
    processes: () =>
      podman(['exec', name, 'ps', '-e', '--no-headers', '-o', 'pid=,uid=,args='])
        .split('\n')
        .filter(l => l.trim())
        .map(l => {
          const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!;
          return { pid: Number(m[1]), uid: Number(m[2]), cmd: m[3] };
        })
        .filter(p => !/^ps -e/.test(p.cmd)),
    logs,
    stop: async () => {
      for (const p of procs) {
        p.kill('SIGTERM');
      }
      try {
        podman(['rm', '--force', '--time', '10', name]);
      } catch {
        // already gone
      }
    }
  };

  try {
    await ready(container, standIn, jupyterPort, procs);
  } catch (e) {
    await container.stop();
    throw e;
  }
  return container;
}

/** Waits for the container's JupyterLab, then puts the stand-in route in front where needed. */
async function ready(
  container: IContainer,
  standIn: boolean,
  jupyterPort: number,
  procs: ChildProcess[]
): Promise<void> {
  const { name, token } = container;
  const dir = join(STATE, name);
  await until(
    `JupyterLab in container ${name} never answered on ${container.base}`,
    async () =>
      (await status(`${container.base}api/status?token=${token}`)) === 200 ? true : undefined,
    120_000,
    () => container.logs().split('\n').slice(-40).join('\n')
  );

  if (standIn) {
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), standInNginx(dir, port, jupyterPort));
    mkdirSync(join(dir, 'nginx-tmp'), { recursive: true });
    const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    procs.push(nginx);
    container.base = `http://127.0.0.1:${port}/`;
    await until(
      `the stand-in nginx for ${name} never answered`,
      async () =>
        (await status(`${container.base}api/status?token=${token}`)) === 200 ? true : undefined,
      30_000,
      () =>
        existsSync(join(dir, 'nginx-error.log'))
          ? readFileSync(join(dir, 'nginx-error.log'), 'utf8')
          : ''
    );
  }
}

/** TEST STAND-IN for jupyter-server-proxy: the README's nginx route, for one container. */
function standInNginx(dir: string, port: number, jupyterPort: number): string {
  const socket = join(dir, 'sockets', 'jovyan.sock');
  return `daemon off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(t => `  ${t}_temp_path ${dir}/nginx-tmp/${t};`).join('\n')}
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
${authLocation(`http://127.0.0.1:${jupyterPort}/api/me`)}
    location /desktops/ {
      auth_request /_desktops_auth;
      proxy_pass http://unix:${socket}:/;
      proxy_set_header X-Forwarded-Prefix /desktops;
${passOn('      ')}
    }
    location / {
      proxy_pass http://127.0.0.1:${jupyterPort};
${passOn('      ')}
    }
  }
}
`;
}

/** The wheels the image installs: the one built from this tree and its requirements. */
export function stageWheels(): void {
  const wheelDir = join(ROOT, 'build', 'wheel');
  const wheel = readdirSync(wheelDir).find(f => f.endsWith('.whl'));
  if (!wheel) {
    throw new Error(`no wheel in ${wheelDir}: run scripts/setup.sh first`);
  }
  const target = join(ROOT, 'deploy', 'image', 'wheels');
  for (const f of readdirSync(target)) {
    if (f.endsWith('.whl')) {
      rmSync(join(target, f));
    }
  }
  const python = join(ROOT, '.venv', 'bin', 'python');
  const env = { ...process.env, PIP_RETRIES: process.env.PIP_RETRIES ?? '0' };
  const requirements = execFileSync(
    python,
    [
      join(ROOT, 'scripts', 'wheel_requirements.py'),
      join(wheelDir, wheel),
      '--without',
      'jupyter-server-proxy'
    ],
    { encoding: 'utf8' }
  )
    .split('\n')
    .filter(Boolean);
  // The requirements as wheels (a source-only one is built here), then this tree's wheel.
  execFileSync(python, ['-m', 'pip', 'wheel', '-q', '-w', target, ...requirements], {
    stdio: 'inherit',
    env
  });
  cpSync(join(wheelDir, wheel), join(target, wheel));
}
