// The daemon as a process, as other programs on the host see it: what its environment and
// argv hold (a desktop program can read /proc/$PPID/environ), whether a debugging port is
// open, what a clean stop leaves in the runtime root, and what its log says when a profile
// breaks while it runs. Each test spawns the real bundle (npm run build first).
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareRuntimeDir } from '../src/runtime';
import {
  DAEMON_BUNDLE,
  exited,
  listenersOf,
  MINIMAL_SESSION,
  request,
  startSession,
  tmp,
  waitFor,
  writeProfile
} from './helpers';

interface IDaemon {
  proc: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
}

/** The test runner's environment without what a test sets on purpose. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/TOKEN|NODE_OPTIONS|^LD_PRELOAD$/.test(k)) {
      env[k] = v;
    }
  }
  return env;
}

/** The bundle with `args`, `env` added to a clean environment, and `stdin` written to it. */
function launch(args: string[], env: Record<string, string> = {}, stdin?: string): IDaemon {
  if (!existsSync(DAEMON_BUNDLE)) {
    throw new Error(`${DAEMON_BUNDLE} is missing: run npm run build first`);
  }
  const proc = spawn(process.execPath, [DAEMON_BUNDLE, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...cleanEnv(), ...env }
  });
  let err = '';
  proc.stderr!.on('data', d => (err += d));
  proc.stdin!.on('error', () => undefined); // a daemon that exited at once closes it
  if (stdin !== undefined) {
    proc.stdin!.end(stdin);
  }
  return { proc, stderr: () => err };
}

/** Resolves once the daemon answers on its socket; fails at once if it exits instead. */
async function answering(d: IDaemon, socket: string): Promise<void> {
  await waitFor(
    async () => {
      if (d.proc.exitCode !== null) {
        throw new Error(`daemon exited ${d.proc.exitCode}: ${d.stderr()}`);
      }
      return (
        existsSync(socket) && (await request(socket, 'GET', '/healthz').catch(() => undefined))
      );
    },
    20000,
    'the daemon to answer'
  );
}

/** A loopback port nothing listens on (just now). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as import('node:net').AddressInfo;
      s.close(() => resolvePort(port));
    });
  });
}

/** What a TCP connect to 127.0.0.1:port gives: "connected" or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise(resolveResult => {
    const c = connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolveResult('connected');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolveResult(e.code ?? e.message));
  });
}

/** GET on loopback TCP: the status, or undefined while nothing answers. */
function tcpStatus(
  port: number,
  path: string,
  headers: Record<string, string> = {}
): Promise<number | undefined> {
  return new Promise(resolveStatus => {
    const req = httpGet({ host: '127.0.0.1', port, path, headers }, res => {
      res.resume();
      resolveStatus(res.statusCode);
    });
    req.on('error', () => resolveStatus(undefined));
  });
}

/** A process's environment as NAME=value lines, and its argv, from /proc. */
function procFiles(pid: number): { environ: string; cmdline: string } {
  return {
    environ: readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').join('\n'),
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ')
  };
}

let running: IDaemon[] = [];
afterEach(async () => {
  for (const d of running) {
    if (d.proc.exitCode === null && d.proc.signalCode === null) {
      d.proc.kill('SIGTERM');
      await exited(d.proc);
    }
  }
  running = [];
});
const started = (d: IDaemon): IDaemon => {
  running.push(d);
  return d;
};

describe('debugging hooks from the environment', () => {
  it('NODE_OPTIONS=--inspect: the inspector is closed before the daemon answers, and it says why', async () => {
    const root = tmp('desktops-env-');
    const socket = join(root, 'd.sock');
    const port = await freePort();
    const d = started(
      launch(['--socket', socket, '--runtime-dir', join(root, 'rt'), '--quiet'], {
        NODE_OPTIONS: `--inspect=127.0.0.1:${port}`
      })
    );
    await answering(d, socket);
    expect(listenersOf([d.proc.pid!])).toEqual([]);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(d.stderr()).toMatch(
      /jupyter-desktops-daemon: the Node\.js inspector was listening \(ws:\/\/127\.0\.0\.1:\d+\/[^;]+; from NODE_OPTIONS in its environment\): closed it/
    );
  });

  it('LD_PRELOAD is named in a warning', async () => {
    const root = tmp('desktops-env-');
    const socket = join(root, 'd.sock');
    // A library that does not exist: the loader says so and goes on, and nothing is run.
    const d = started(
      launch(['--socket', socket, '--runtime-dir', join(root, 'rt'), '--quiet'], {
        LD_PRELOAD: '/nonexistent/libdesktops-test.so'
      })
    );
    await answering(d, socket);
    expect(d.stderr()).toContain(
      'jupyter-desktops-daemon: LD_PRELOAD is set (/nonexistent/libdesktops-test.so)'
    );
  });
});

describe('--tcp (development): the token comes on standard input', () => {
  const TOKEN = 'stdin-token-0123456789abcdef';

  it('serves with the token read from stdin, which is in neither its environment nor its argv', async () => {
    const port = await freePort();
    const root = tmp('desktops-env-');
    const d = started(
      launch(
        ['--tcp', `127.0.0.1:${port}`, '--runtime-dir', join(root, 'rt'), '--quiet'],
        {},
        `${TOKEN}\n`
      )
    );
    await waitFor(
      async () => {
        if (d.proc.exitCode !== null) {
          throw new Error(`daemon exited ${d.proc.exitCode}: ${d.stderr()}`);
        }
        return tcpStatus(port, '/healthz', { authorization: `token ${TOKEN}` });
      },
      20000,
      'the daemon on loopback TCP'
    );
    expect(await tcpStatus(port, '/healthz', { authorization: `token ${TOKEN}` })).toBe(200);
    expect(await tcpStatus(port, '/healthz')).toBe(401);
    const { environ, cmdline } = procFiles(d.proc.pid!);
    expect(environ).not.toContain(TOKEN);
    expect(cmdline).not.toContain(TOKEN);
    expect(environ).not.toContain('JUPYTER_DESKTOPS_TOKEN');
  });

  it.each([
    ['nothing', ''],
    ['a short token', 'short\n'],
    ['a token with a space in it', 'token with spaces 0123456789\n']
  ])('stops with a usage error (exit 2) on %s', async (_, stdin) => {
    const port = await freePort();
    const d = started(launch(['--tcp', `127.0.0.1:${port}`, '--quiet'], {}, stdin));
    expect(await exited(d.proc)).toBe(2);
    expect(d.stderr()).toMatch(
      /^jupyter-desktops-daemon: --tcp needs a token of 16 to 1024 printable characters on the first line of standard input: e\.g\. /
    );
  });

  it('refuses JUPYTER_DESKTOPS_TOKEN, saying where the token goes now', async () => {
    const port = await freePort();
    const d = started(
      launch(
        ['--tcp', `127.0.0.1:${port}`, '--quiet'],
        { JUPYTER_DESKTOPS_TOKEN: TOKEN },
        `${TOKEN}\n`
      )
    );
    expect(await waitFor(() => d.proc.exitCode !== null, 10000, 'a usage error')).toBe(true);
    expect(d.proc.exitCode).toBe(2);
    expect(d.stderr()).toContain(
      '--tcp no longer reads JUPYTER_DESKTOPS_TOKEN (a token in the environment can be read in ' +
        '/proc/<pid>/environ): unset it and give the token on standard input'
    );
  });
});

describe('a clean stop', () => {
  it("SIGTERM removes the daemon's own d<pid> directory, sessions and all", async () => {
    const root = tmp('desktops-env-');
    const rt = join(root, 'rt');
    const profiles = join(root, 'profiles');
    mkdirSync(profiles);
    writeProfile(profiles, 'test-min', MINIMAL_SESSION);
    const socket = join(root, 'd.sock');
    const d = started(
      launch(['--socket', socket, '--runtime-dir', rt, '--profiles-dir', profiles, '--quiet'])
    );
    await answering(d, socket);
    const s = await startSession(socket, { profile: 'test-min' });
    expect(s.state).toBe('running');
    const own = join(rt, `d${d.proc.pid}`);
    expect(readdirSync(own)).toEqual([s.id]);
    d.proc.kill('SIGTERM');
    expect(await exited(d.proc)).toBe(0);
    expect(existsSync(own)).toBe(false);
    // The root is shared with the user's other daemons: it stays.
    expect(lstatSync(rt).isDirectory()).toBe(true);
  });
});

describe('profiles that break while the daemon runs', () => {
  it('are logged once per change, naming the file and why', async () => {
    const root = tmp('desktops-env-');
    const profiles = join(root, 'profiles');
    mkdirSync(profiles);
    writeProfile(profiles, 'test-json', 'exec sleep 600');
    writeProfile(profiles, 'test-script', 'exec sleep 600');
    const socket = join(root, 'd.sock');
    const d = started(
      launch([
        '--socket',
        socket,
        '--runtime-dir',
        join(root, 'rt'),
        '--profiles-dir',
        profiles,
        '--quiet'
      ])
    );
    await answering(d, socket);
    const ids = async (): Promise<string[]> =>
      (await request(socket, 'GET', '/api/profiles')).json.profiles.map(
        (p: { id: string }) => p.id
      );
    expect(await ids()).toEqual(expect.arrayContaining(['test-json', 'test-script']));
    expect(d.stderr()).not.toMatch(/profile/);

    const json = join(profiles, 'test-json.json');
    writeFileSync(json, '{"id": "test-json",');
    unlinkSync(join(profiles, 'test-script.sh'));
    for (let i = 0; i < 3; i++) {
      expect(await ids()).not.toContain('test-json');
    }
    const lines = (): string[] =>
      d
        .stderr()
        .split('\n')
        .filter(l => /profile/.test(l));
    await waitFor(() => lines().length >= 2, 10000, 'the profile warnings');
    expect(lines()).toEqual([
      expect.stringMatching(
        new RegExp(`^jupyter-desktops-daemon: ignoring profile ${json}: .*JSON`)
      ),
      `jupyter-desktops-daemon: profile ${join(profiles, 'test-script.json')}: its start script ` +
        `${join(profiles, 'test-script.sh')} is missing or not executable`
    ]);

    // Fixed, then broken again: a new change, told again.
    writeProfile(profiles, 'test-json', 'exec sleep 600');
    expect(await ids()).toContain('test-json');
    writeFileSync(json, '{"id": "test-json", "title": "T", "xstartup": "x.sh", "shell": 1}');
    await ids();
    await waitFor(() => lines().length >= 3, 10000, 'the third warning');
    expect(lines()[2]).toBe(
      `jupyter-desktops-daemon: ignoring profile ${json}: /shell: schema is false`
    );
  });
});

describe('a squatted default runtime root', () => {
  const uid = process.getuid!();

  /** A temporary directory whose default root (jupyter-desktops-<uid>) someone else holds. */
  function squatted(): { tmpDir: string; runtimeDir: string } {
    const tmpDir = tmp('desktops-tmpdir-');
    const runtimeDir = join(tmpDir, `jupyter-desktops-${uid}`);
    // A symlink stands for another user's directory: refused the same way, without root.
    symlinkSync('/', runtimeDir);
    return { tmpDir, runtimeDir };
  }
  const fallbacks = (tmpDir: string): string[] =>
    readdirSync(tmpDir).filter(n => n.startsWith(`jupyter-desktops-${uid}-`));

  it('falls back to one private directory of its own, the same one at every start', async () => {
    const { tmpDir, runtimeDir } = squatted();
    const first = await prepareRuntimeDir({ runtimeDir, runtimeDirGiven: false, tmpDir });
    const second = await prepareRuntimeDir({ runtimeDir, runtimeDirGiven: false, tmpDir });
    expect(second).toBe(first);
    expect(fallbacks(tmpDir)).toHaveLength(1);
    expect(first).toBe(join(tmpDir, fallbacks(tmpDir)[0], `d${process.pid}`));
    expect(lstatSync(join(tmpDir, fallbacks(tmpDir)[0])).mode & 0o777).toBe(0o700);
  });

  it('never takes over a look-alike that is a symlink or open to others', async () => {
    const { tmpDir, runtimeDir } = squatted();
    const mine = tmp('desktops-mine-');
    chmodSync(mine, 0o700);
    symlinkSync(mine, join(tmpDir, `jupyter-desktops-${uid}-LINKED`));
    mkdirSync(join(tmpDir, `jupyter-desktops-${uid}-OPENED`), { mode: 0o755 });
    chmodSync(join(tmpDir, `jupyter-desktops-${uid}-OPENED`), 0o755);
    const own = await prepareRuntimeDir({ runtimeDir, runtimeDirGiven: false, tmpDir });
    expect(own).not.toContain('LINKED');
    expect(own).not.toContain('OPENED');
    expect(readdirSync(mine)).toEqual([]);
    expect(fallbacks(tmpDir)).toHaveLength(3);
  });
});
