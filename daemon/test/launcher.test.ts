// The daemon's executable loads the bundle with a V8 code cache of the user's own, written
// once a daemon has served: a faster first answer on every later start. The doctor tells
// what became of it.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_BUNDLE, exited, spawnDaemon, tmp, waitFor } from './helpers';

function doctorLine(cacheHome: string): string {
  const r = spawnSync(process.execPath, [DAEMON_BUNDLE, '--doctor'], {
    env: { ...process.env, XDG_CACHE_HOME: cacheHome },
    encoding: 'utf8'
  });
  return r.stdout.split('\n').find(l => l.startsWith('V8 code cache')) ?? r.stdout + r.stderr;
}

const cacheFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter(n => n.endsWith('.bin')) : [];

describe('the V8 code cache', () => {
  it('is written once a daemon has served, private, and used by the next start', async () => {
    const home = tmp('desktops-cache-');
    const dir = join(home, 'jupyter-desktops');
    expect(doctorLine(home)).toMatch(/: none yet, written once the daemon serves \(/);
    const sock = join(tmp(), 'd.sock');
    const d = await spawnDaemon(sock, [], { XDG_CACHE_HOME: home });
    const [name] = await waitFor(() => cacheFiles(dir).length && cacheFiles(dir), 20000, 'a cache');
    d.kill('SIGTERM');
    await exited(d);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(name).toContain(process.version);
    expect(doctorLine(home)).toBe(`V8 code cache (a faster start): used (${join(dir, name)})`);

    // Damaged: V8 refuses it, the daemon starts as without one.
    writeFileSync(join(dir, name), Buffer.alloc(4096, 0x5a));
    expect(doctorLine(home)).toMatch(/: refused by this Node\.js, written again once/);
  });

  it('is neither read nor written in a directory others can write to', async () => {
    const home = tmp('desktops-cache-');
    const dir = join(home, 'jupyter-desktops');
    const sock = join(tmp(), 'd.sock');
    const first = await spawnDaemon(sock, [], { XDG_CACHE_HOME: home });
    await waitFor(() => cacheFiles(dir).length, 20000, 'a cache');
    first.kill('SIGTERM');
    await exited(first);
    chmodSync(dir, 0o777);
    expect(doctorLine(home)).toBe(
      `V8 code cache (a faster start): off: ${dir} is open to others (mode 777; 700 needed)`
    );
    // The daemon still starts, and serves.
    const second = await spawnDaemon(join(tmp(), 'd.sock'), [], { XDG_CACHE_HOME: home });
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
  });
});
