// Many users on one host: ten real Linux users, each with their own daemon (the bundled one,
// run as that user), start desktops at the same moment while another user squats an X lock.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync
} from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  ensureUser,
  processesOfSession,
  readableBundle,
  request,
  requireProgram,
  runAs,
  startSession,
  tmp,
  userDaemon,
  waitFor,
  writeProfile
} from '../helpers';

const USERS = Array.from({ length: 10 }, (_, i) => `desktops-u${i}`);
const SQUATTER = 'desktops-mallory';

/** Display numbers in use: their abstract X sockets are listed in /proc/net/unix. */
function displaysInUse(): Set<number> {
  const used = new Set<number>();
  for (const m of readFileSync('/proc/net/unix', 'latin1').matchAll(
    /@\/tmp\/\.X11-unix\/X(\d+)\n/g
  )) {
    used.add(Number(m[1]));
  }
  return used;
}

describe('ten users at once', () => {
  const daemons: { user: string; proc: ChildProcess; socket: string }[] = [];
  let squatter: ChildProcess;
  let lock = '';
  let bundle = '';
  let profiles = '';
  const profileArgs = (): string[] => ['--profiles-dir', profiles];

  beforeAll(async () => {
    requireProgram('Xtigervnc', 'tigervnc-standalone-server');
    bundle = readableBundle();
    profiles = tmp('desktops-shared-');
    chmodSync(profiles, 0o755);
    writeProfile(profiles, 'test-min', 'echo "display=$DISPLAY"\nexec sleep 600');
    // Another user squats the next free display's lock file, with a live pid in it.
    ensureUser(SQUATTER);
    squatter = asUser(SQUATTER, ['sleep', '600']);
    await waitFor(() => squatter.pid, 5000, 'the squatter');
    let n = 0;
    while (displaysInUse().has(n) || existsSync(`/tmp/.X${n}-lock`)) {
      n++;
    }
    lock = `/tmp/.X${n}-lock`;
    writeFileSync(lock, `${String(squatter.pid).padStart(10)}\n`, { mode: 0o444 });
    const { uid, gid } = ensureUser(SQUATTER);
    execFileSync('chown', [`${uid}:${gid}`, lock]);
    const started = await Promise.all(USERS.map(user => userDaemon(user, bundle, profileArgs())));
    started.forEach((d, i) => daemons.push({ user: USERS[i], ...d }));
  }, 120_000);

  afterAll(async () => {
    for (const d of daemons) {
      d.proc.kill('SIGTERM');
    }
    await Promise.all(
      daemons.map(
        d => new Promise(r => (d.proc.exitCode !== null ? r(null) : d.proc.once('exit', r)))
      )
    );
    squatter?.kill('SIGTERM');
    if (lock && existsSync(lock)) {
      unlinkSync(lock);
    }
  });

  it('every user gets a running desktop on a display of their own', async () => {
    const started = await Promise.all(
      daemons.map(d => startSession(d.socket, { profile: 'test-min' }))
    );
    for (const [i, s] of started.entries()) {
      expect(s.state, `${daemons[i].user}: ${JSON.stringify(s)}`).toBe('running');
    }
    const displays = await Promise.all(
      daemons.map(async (d, i) => {
        const m = await waitFor(
          async () =>
            /display=:(\d+)/.exec(
              (await request(d.socket, 'GET', `/api/sessions/${started[i].id}/log`)).json.text
            ),
          10000,
          `${d.user}'s display`
        );
        return Number(m[1]);
      })
    );
    expect(new Set(displays).size).toBe(USERS.length);
    // The squatted lock is still the other user's, untouched.
    expect(existsSync(lock)).toBe(true);
    // Each desktop's processes run as its own user, and nobody else's.
    for (const [i, d] of daemons.entries()) {
      const { uid } = ensureUser(d.user);
      const uids = new Set(processesOfSession(started[i].id).map(p => p.uid));
      expect(uids.size, d.user).toBeGreaterThan(0);
      expect([...uids]).toEqual([uid]);
    }
  });

  it('a site runtime directory ({uid}) that another user created first is refused, and every tab is told why', async () => {
    const user = 'desktops-u11';
    const { uid } = ensureUser(user);
    const mallory = ensureUser(SQUATTER);
    // c.Desktops.runtime_dir = '<shared>/{uid}' in a sticky, world-writable place like /tmp.
    const shared = tmp('desktops-site-rt-');
    chmodSync(shared, 0o1777);
    const mine = join(shared, String(uid));
    expect(runAs(SQUATTER, ['mkdir', '-m', '777', mine]).status).toBe(0);
    const { proc, socket } = await userDaemon(user, bundle, [
      ...profileArgs(),
      '--runtime-dir',
      mine
    ]);
    try {
      for (const [method, path] of [
        ['GET', '/api/profiles'],
        ['POST', '/api/sessions']
      ]) {
        const r = await request(
          socket,
          method,
          path,
          method === 'POST' ? { profile: 'test-min' } : undefined
        );
        expect(r.status).toBe(503);
        expect(r.json.error.message).toBe(
          `The runtime directory ${mine} cannot be used: ${mine} belongs to another user ` +
            `(uid ${mallory.uid}), who could reach the desktops in it; refusing to use it. Set ` +
            'c.Desktops.runtime_dir (in jupyter_server_config.py) to a directory of your own, or ' +
            'ask your administrator to.'
        );
      }
      expect(readdirSync(mine)).toEqual([]);
    } finally {
      proc.kill('SIGTERM');
      await new Promise(r => proc.once('exit', r));
    }
  });

  it('a runtime directory the user may not create: the reason on every route, not a restart loop', async () => {
    const user = 'desktops-u12';
    const { proc, socket } = await userDaemon(user, bundle, [
      ...profileArgs(),
      '--runtime-dir',
      '/root/desktops-not-yours'
    ]);
    try {
      const r = await request(socket, 'GET', '/api/sessions');
      expect(r.status).toBe(503);
      expect(r.json.error.message).toMatch(
        /^The runtime directory \/root\/desktops-not-yours cannot be used: no permission to write \/root\/desktops-not-yours\. /
      );
      expect(proc.exitCode).toBe(null);
    } finally {
      proc.kill('SIGTERM');
      await new Promise(r => proc.once('exit', r));
    }
  });

  it("a runtime directory squatted by another user does not stop a user's daemon", async () => {
    const user = 'desktops-u10';
    const { uid } = ensureUser(user);
    const squatted = `/tmp/jupyter-desktops-${uid}`;
    const m = ensureUser(SQUATTER);
    execFileSync('rm', ['-rf', squatted]);
    execFileSync('mkdir', ['-m', '777', squatted]);
    execFileSync('chown', [`${m.uid}:${m.gid}`, squatted]);
    const { proc, socket } = await userDaemon(user, bundle, profileArgs());
    try {
      const s = await startSession(socket, { profile: 'test-min' });
      expect(s.state).toBe('running');
      expect(readdirSync(squatted)).toEqual([]);
    } finally {
      proc.kill('SIGTERM');
      await new Promise(r => proc.once('exit', r));
      execFileSync('rm', ['-rf', squatted]);
    }
  });
});
