import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeXauthority, xvncArgs } from './xvnc';

const opts = {
  rfbSocket: '/run/x/rfb.sock',
  authFile: '/run/x/Xauthority',
  width: 1024,
  height: 768,
  desktopName: 'XFCE',
  displayFd: 3
};

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

describe('xvncArgs', () => {
  const args = xvncArgs(opts);

  it('turns every TCP listener off', () => {
    expect(flag(args, '-rfbport')).toBe('-1');
    expect(flag(args, '-nolisten')).toBe('tcp');
  });

  it('serves RFB on a 0600 unix socket and X only with the cookie file', () => {
    expect(flag(args, '-rfbunixpath')).toBe(opts.rfbSocket);
    expect(flag(args, '-rfbunixmode')).toBe('0600');
    expect(flag(args, '-auth')).toBe(opts.authFile);
    expect(flag(args, '-SecurityTypes')).toBe('None');
  });

  it('reports the display on a pipe instead of a fixed display number', () => {
    expect(flag(args, '-displayfd')).toBe('3');
    expect(args.some(a => /^:\d+$/.test(a))).toBe(false);
  });

  it('passes the geometry and keeps the desktop name as one argument', () => {
    expect(flag(args, '-geometry')).toBe('1024x768');
    expect(flag(xvncArgs({ ...opts, desktopName: 'A B; $(id)' }), '-desktop')).toBe('A B; $(id)');
  });
});

describe('writeXauthority', () => {
  it('writes a private wildcard MIT cookie that xauth can read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xauth-'));
    const file = join(dir, 'Xauthority');
    await writeXauthority(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file);
    expect(raw.readUInt16BE(0)).toBe(0xffff);
    const listed = execFileSync('xauth', ['-f', file, 'list'], { encoding: 'utf8' });
    expect(listed).toMatch(/MIT-MAGIC-COOKIE-1\s+[0-9a-f]{32}/);
  });

  it('never overwrites an existing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xauth-'));
    const file = join(dir, 'Xauthority');
    await writeXauthority(file);
    await expect(writeXauthority(file)).rejects.toThrow(/EEXIST/);
  });
});
