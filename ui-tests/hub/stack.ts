// The reference deployment, brought up for the hub tests from deploy/ as an admin would:
// deploy/install.sh into a test prefix (its configuration, unit and nginx site under a
// DESTDIR), real Linux users with passwords and 0700 homes, Debian's JupyterHub 3.0 and
// configurable-http-proxy run as the systemd unit runs them, and nginx with the deploy site
// (a self-signed certificate, https://hub.example.org:18443, ports moved off 80 and 443).
// Where jupyter-server-proxy is missing, a TEST STAND-IN serves {base_url}desktops/ as the
// README's nginx route does; the tests print which route ran.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync
} from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { authLocation, passOn } from '../standin-nginx';

export const ROOT = resolve(__dirname, '..', '..');
/** The hub's environment; kept between local runs (install.sh upgrades it in place). */
export const PREFIX = process.env.DESKTOPS_HUB_PREFIX ?? '/opt/desktops-hubtest';
export const HOST = 'hub.example.org';
export const PORTS = { https: 18443, http: 18080, hub: 18000, hubApi: 18081, proxyApi: 18001 };
export const BASE = `https://${HOST}:${PORTS.https}/`;
/** Where the hub tests keep their state (0755: the users' servers read the stand-in). */
export const STATE = '/var/tmp/desktops-hubtest';
export const STATE_FILE = join(STATE, 'stack.json');
/** Sockets of the stand-in route, one per user (sticky and world-writable, like /tmp). */
const SOCKETS = join(STATE, 'sockets');

export interface IHubStack {
  route: 'jupyter-server-proxy' | 'nginx stand-in (TEST)';
  password: string;
}

export function hubStack(): IHubStack {
  return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
}

/** Creates (once) a Linux user who can log in with `password`, with a private home. */
export function ensureLoginUser(name: string, password: string): { uid: number; home: string } {
  try {
    execFileSync('id', ['-u', name], { stdio: 'pipe' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  }
  execFileSync('chpasswd', { input: `${name}:${password}\n` });
  const home = `/home/${name}`;
  chmodSync(home, 0o700);
  // The user's answer to JupyterLab's question about its news feed, given ahead: nothing then
  // covers the desktops in the pictures.
  const settings = join(home, '.jupyter/lab/user-settings/@jupyterlab/apputils-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(join(settings, 'notification.jupyterlab-settings'), '{"fetchNews": "false"}');
  execFileSync('chown', ['-R', `${name}:`, join(home, '.jupyter')]);
  return { uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()), home };
}

function run(cmd: string, args: string[]): void {
  // No retries against a package index this machine cannot reach.
  const env = { ...process.env, PIP_RETRIES: process.env.PIP_RETRIES ?? '0' };
  execFileSync(cmd, args, { stdio: 'inherit', env });
}

/** deploy/install.sh with the wheel built by scripts/setup.sh. */
function install(): void {
  const wheels = join(ROOT, 'build', 'wheel');
  const wheel = readdirSync(wheels).find(f => f.endsWith('.whl'));
  if (!wheel) {
    throw new Error(`no wheel in ${wheels}: run scripts/setup.sh first`);
  }
  run('bash', [
    join(ROOT, 'deploy', 'install.sh'),
    '--no-apt',
    '--prefix',
    PREFIX,
    '--destdir',
    join(STATE, 'root'),
    join(wheels, wheel)
  ]);
}

function hasJsp(): boolean {
  try {
    execFileSync(join(PREFIX, 'bin', 'python'), ['-c', 'import jupyter_server_proxy'], {
      stdio: 'pipe'
    });
    return true;
  } catch {
    return false;
  }
}

/** The installed unit's ExecStart and Environment, to run the hub as systemd would. */
function unit(): { argv: string[]; env: Record<string, string> } {
  const text = readFileSync(join(STATE, 'root', 'etc/systemd/system/jupyterhub.service'), 'utf8');
  const argv = /^ExecStart=(.*)$/m.exec(text)![1].split(/\s+/);
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^Environment=(\w+)=(.*)$/gm)) {
    env[m[1]] = m[2];
  }
  return { argv, env };
}

/**
 * The deploy nginx site as it would run here: each change is named, and each must apply,
 * so that a change to the site that the test no longer follows fails here, loudly.
 */
function nginxSite(standIn: boolean): string {
  let site = readFileSync(join(STATE, 'root', 'etc/nginx/sites-available/jupyterhub'), 'utf8');
  const edits: [string, string][] = [
    ['listen 80;', `listen 127.0.0.1:${PORTS.http};`],
    ['listen [::]:80;', ''],
    ['listen 443 ssl http2;', `listen 127.0.0.1:${PORTS.https} ssl http2;`],
    ['listen [::]:443 ssl http2;', ''],
    [`/etc/letsencrypt/live/${HOST}/fullchain.pem`, join(STATE, 'tls', 'cert.pem')],
    [`/etc/letsencrypt/live/${HOST}/privkey.pem`, join(STATE, 'tls', 'key.pem')],
    ['proxy_pass http://127.0.0.1:8000;', `proxy_pass http://127.0.0.1:${PORTS.hub};`]
  ];
  for (const [from, to] of edits) {
    if (!site.includes(from)) {
      throw new Error(`the deploy nginx site no longer has "${from}"`);
    }
    site = site.split(from).join(to);
  }
  if (standIn) {
    // TEST STAND-IN for jupyter-server-proxy: /user/<name>/desktops/ goes to that user's
    // desktops service once their own server says the request is theirs (/api/me).
    const route = `
    # TEST STAND-IN for jupyter-server-proxy (not installed here), as the README's nginx route.
    location ~ ^/user/(?<desktops_user>[a-z0-9_-]+)/desktops/(?<desktops_path>.*)$ {
        # nginx matches the normalized path (%2e%2e/ resolved): the user named in the path as
        # sent must be the same one, or /user/bob/desktops/%2e%2e/%2e%2e/alice/... would be
        # checked against bob's server and reach alice's socket.
        if ($desktops_raw_user != $desktops_user) { return 404; }
        auth_request /_desktops_auth;
        proxy_pass http://unix:${SOCKETS}/$desktops_user.sock:/$desktops_path$is_args$args;
${passOn('        ')}
    }
${authLocation(`http://127.0.0.1:${PORTS.hub}/user/$desktops_raw_user/api/me`)}
`;
    const at = site.lastIndexOf('    location / {');
    site = site.slice(0, at) + route.trimStart() + '\n    ' + site.slice(at).trimStart();
  }
  return site;
}

function https(path: string): Promise<number> {
  return new Promise(done => {
    const req = request(
      {
        host: '127.0.0.1',
        port: PORTS.https,
        path,
        servername: HOST,
        headers: { Host: `${HOST}:${PORTS.https}` },
        rejectUnauthorized: false
      },
      res => {
        res.resume();
        done(res.statusCode ?? 0);
      }
    );
    req.on('error', () => done(0));
    req.end();
  });
}

export async function startHub(users: string[]): Promise<{ stop: () => Promise<void> }> {
  if (process.getuid?.() !== 0) {
    throw new Error('the hub tests need root (CI runs as root)');
  }
  for (const bin of [
    '/usr/bin/jupyterhub',
    '/usr/bin/configurable-http-proxy',
    '/usr/sbin/nginx'
  ]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: scripts/setup.sh installs deploy/debian-packages.txt`);
    }
  }
  execFileSync('rm', ['-rf', STATE]);
  mkdirSync(join(STATE, 'tls'), { recursive: true });
  chmodSync(STATE, 0o755);
  install();

  const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  for (const user of users) {
    ensureLoginUser(user, password);
  }
  const standIn = !hasJsp();
  const route: IHubStack['route'] = standIn ? 'nginx stand-in (TEST)' : 'jupyter-server-proxy';
  writeFileSync(STATE_FILE, JSON.stringify({ route, password }), { mode: 0o600 });

  // The hub: the deploy configuration, then what differs in a test: its own ports and state,
  // only the test's users, and the stand-in where jupyter-server-proxy is missing.
  const config = join(STATE, 'jupyterhub_config.py');
  const lines = [
    `load_subconfig(${JSON.stringify(join(STATE, 'root', 'etc/jupyterhub/jupyterhub_config.py'))})`,
    '# TEST: its own ports and state, only its users.',
    `c.JupyterHub.bind_url = "http://127.0.0.1:${PORTS.hub}"`,
    `c.JupyterHub.hub_bind_url = "http://127.0.0.1:${PORTS.hubApi}"`,
    `c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:${PORTS.proxyApi}"`,
    `c.ConfigurableHTTPProxy.pid_file = ${JSON.stringify(join(STATE, 'proxy.pid'))}`,
    `c.JupyterHub.cookie_secret_file = ${JSON.stringify(join(STATE, 'cookie_secret'))}`,
    `c.JupyterHub.db_url = "sqlite:///${join(STATE, 'jupyterhub.sqlite')}"`,
    `c.Authenticator.allowed_users = ${JSON.stringify(users).replace(/^\[/, '{').replace(/\]$/, '}')}`,
    'c.JupyterHub.cleanup_servers = True'
  ];
  if (standIn) {
    mkdirSync(SOCKETS, { mode: 0o1777 });
    chmodSync(SOCKETS, 0o1777);
    const dir = join(STATE, 'standin');
    cpSync(join(__dirname, 'standin'), dir, { recursive: true });
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    lines.push(
      "# TEST STAND-IN for jupyter-server-proxy: starts each user's desktops service.",
      `c.Spawner.environment.update({"PYTHONPATH": ${JSON.stringify(dir)}, "JUPYTER_CONFIG_PATH": ${JSON.stringify(dir)}, "DESKTOPS_STANDIN_SOCKETS": ${JSON.stringify(SOCKETS)}})`
    );
  }
  writeFileSync(config, lines.join('\n') + '\n');

  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${HOST}`,
      '-addext',
      `subjectAltName=DNS:${HOST}`,
      '-keyout',
      join(STATE, 'tls', 'key.pem'),
      '-out',
      join(STATE, 'tls', 'cert.pem')
    ],
    { stdio: 'pipe' }
  );

  const procs: ChildProcess[] = [];
  const { argv, env } = unit();
  const f = argv.indexOf('-f');
  argv[f + 1] = config;
  const hubLog = openSync(join(STATE, 'hub.log'), 'a');
  procs.push(
    spawn(argv[0], argv.slice(1), {
      cwd: STATE,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        ...env
      },
      stdio: ['ignore', hubLog, hubLog]
    })
  );

  writeFileSync(join(STATE, 'site.conf'), nginxSite(standIn));
  mkdirSync(join(STATE, 'nginx-tmp'), { recursive: true });
  writeFileSync(
    join(STATE, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 2;',
      // The stand-in connects to each user's 0600 socket; jupyter-server-proxy needs no such thing.
      standIn ? 'user root;' : 'user www-data;',
      `pid ${STATE}/nginx.pid;`,
      `error_log ${STATE}/nginx-error.log warn;`,
      'events { worker_connections 1024; }',
      'http {',
      `  access_log ${STATE}/nginx-access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        t => `  ${t}_temp_path ${STATE}/nginx-tmp/${t};`
      ),
      ...(standIn
        ? [
            '  # TEST STAND-IN: the user named in the request path exactly as it was sent.',
            '  map $request_uri $desktops_raw_user {',
            '    ~^/user/(?<u>[a-z0-9_-]+)/desktops/ $u;',
            '    default "";',
            '  }'
          ]
        : []),
      `  include ${STATE}/site.conf;`,
      '}'
    ].join('\n') + '\n'
  );
  run('nginx', ['-t', '-q', '-p', STATE, '-c', join(STATE, 'nginx.conf')]);
  procs.push(spawn('nginx', ['-p', STATE, '-c', join(STATE, 'nginx.conf')], { stdio: 'ignore' }));

  const deadline = Date.now() + 120_000;
  while ((await https('/hub/api')) !== 200) {
    for (const p of procs) {
      if (p.exitCode !== null) {
        throw new Error(`${p.spawnfile} exited:\n${readFileSync(join(STATE, 'hub.log'), 'utf8')}`);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the hub did not answer in 120 s:\n${readFileSync(join(STATE, 'hub.log'), 'utf8')}`
      );
    }
    await new Promise(r => setTimeout(r, 500));
  }
  console.log(`hub e2e: ${BASE} via ${route}`);
  return {
    stop: async () => {
      for (const p of procs.reverse()) {
        if (p.exitCode !== null) {
          continue;
        }
        p.kill('SIGTERM');
        await new Promise(r => p.once('exit', r));
      }
      // The hub stops its users' servers; anything of theirs that is left is a bug, but
      // must not outlive the run.
      for (const user of users) {
        try {
          execFileSync('pkill', ['-KILL', '-u', user]);
        } catch {
          // nothing left
        }
      }
    }
  };
}
