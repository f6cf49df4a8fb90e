import { describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { ProfileFile, Session, StartSessionBody, GEOMETRY, ROUTES } from './index';

const start = Compile(StartSessionBody);
const profileFile = Compile(ProfileFile);

describe('StartSessionBody', () => {
  it('accepts a profile id with optional geometry', () => {
    expect(start.Check({ profile: 'xfce' })).toBe(true);
    expect(start.Check({ profile: 'xfce', width: 1024, height: 768 })).toBe(true);
  });

  it.each([
    ['../../etc/passwd'],
    ['%2e%2e%2f'],
    ['xfce\0'],
    ['$(id)'],
    ['XFCE'],
    [''],
    ['x'.repeat(10_000)]
  ])('rejects the profile id %j', id => {
    expect(start.Check({ profile: id })).toBe(false);
  });

  it.each([
    [99999, 99999],
    [0, 0],
    [-5, 100],
    [800.5, 600],
    [GEOMETRY.maxWidth + 1, 600]
  ])('rejects geometry %sx%s', (width, height) => {
    expect(start.Check({ profile: 'xfce', width, height })).toBe(false);
  });

  it('rejects geometry given as a string and unknown fields', () => {
    expect(start.Check({ profile: 'xfce', width: '800x600;id' })).toBe(false);
    expect(start.Check({ profile: 'xfce', command: 'xterm' })).toBe(false);
  });
});

describe('ProfileFile', () => {
  const base = { id: 'vapor', title: 'NCAR VAPOR', xstartup: 'vapor.sh' };

  it('accepts a minimal and a full profile', () => {
    expect(profileFile.Check(base)).toBe(true);
    expect(
      profileFile.Check({
        ...base,
        kind: 'app',
        icon: 'vapor.svg',
        fileTypes: ['.nc'],
        requires: [{ command: 'vapor', paths: ['/opt/vapor/bin/vapor'], env: 'DESKTOPS_APP' }]
      })
    ).toBe(true);
  });

  it('rejects icons outside the profile directory and bad requirement env names', () => {
    expect(profileFile.Check({ ...base, icon: '../secret.svg' })).toBe(false);
    expect(profileFile.Check({ ...base, icon: 'icon.png' })).toBe(false);
    expect(profileFile.Check({ ...base, requires: [{ command: 'x', env: 'PATH;rm' }] })).toBe(
      false
    );
    expect(profileFile.Check({ ...base, kind: 'shell' })).toBe(false);
  });
});

describe('Session', () => {
  it('requires a known state', () => {
    const s = Compile(Session);
    const ok = {
      id: 'AAAAAAAAAAAAAAAA',
      profile: 'xfce',
      title: 'XFCE',
      state: 'running',
      width: 800,
      height: 600,
      startedAt: new Date().toISOString()
    };
    expect(s.Check(ok)).toBe(true);
    expect(s.Check({ ...ok, state: 'zombie' })).toBe(false);
  });
});

describe('ROUTES', () => {
  it('encodes ids into paths', () => {
    expect(ROUTES.sessionRfb('a/b')).toBe('api/sessions/a%2Fb/rfb');
  });
});
