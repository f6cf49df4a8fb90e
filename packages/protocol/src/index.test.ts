import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import * as protocol from './index';
import {
  ERROR_STATUS,
  errorCodeFor,
  ErrorBody,
  GEOMETRY,
  Health,
  isLive,
  ProfileFile,
  ProfileParams,
  MOUNT,
  RFB_MOUNT,
  ROUTES,
  routePath,
  Session,
  SessionParams,
  StartSessionBody
} from './index';

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
  it('fills in and encodes ids, relative to the daemon root', () => {
    expect(routePath(ROUTES.sessionRfb, { id: 'a/b' })).toBe('api/sessions/a%2Fb/rfb');
    expect(routePath(ROUTES.profiles)).toBe('api/profiles');
  });

  it('refuses to build a path without its id', () => {
    expect(() => routePath(ROUTES.session)).toThrow('/api/sessions/:id needs an id');
  });
});

describe('error codes', () => {
  it('answer every code with a client or server error status', () => {
    for (const status of Object.values(ERROR_STATUS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('names the codes the error body may carry, and no other', () => {
    const body = Compile(ErrorBody);
    for (const code of Object.keys(ERROR_STATUS)) {
      expect(body.Check({ error: { code, message: 'm' } })).toBe(true);
    }
    expect(body.Check({ error: { code: 'conflict', message: 'm' } })).toBe(false);
  });

  it('maps a bare status to its code, server errors to internal', () => {
    expect(errorCodeFor(413)).toBe('payload-too-large');
    expect(errorCodeFor(415)).toBe('unsupported-media-type');
    expect(errorCodeFor(418)).toBe('bad-request');
    expect(errorCodeFor(503)).toBe('internal');
  });
});

describe('isLive', () => {
  it('is true while a session holds processes', () => {
    expect(
      ['starting', 'running', 'stopping', 'exited', 'failed'].filter(state =>
        isLive({ state: state as never })
      )
    ).toEqual(['starting', 'running']);
  });
});

/** Every object schema inside `schema`, with the path that leads to it. */
function objectSchemas(schema: unknown, path: string): Array<[string, Record<string, unknown>]> {
  if (!schema || typeof schema !== 'object') {
    return [];
  }
  const s = schema as Record<string, unknown>;
  const here: Array<[string, Record<string, unknown>]> = s.type === 'object' ? [[path, s]] : [];
  return [
    ...here,
    ...Object.entries(s).flatMap(([k, v]) =>
      Array.isArray(v)
        ? v.flatMap((item, i) => objectSchemas(item, `${path}.${k}[${i}]`))
        : objectSchemas(v, `${path}.${k}`)
    )
  ];
}

describe('every object schema', () => {
  // The daemon validates requests with these schemas: an object that allows unknown
  // properties lets a misspelt or smuggled field through unseen.
  it('refuses properties it does not name', () => {
    const loose = Object.entries(protocol)
      .flatMap(([name, value]) => objectSchemas(value, name))
      .filter(([, o]) => o.additionalProperties !== false)
      .map(([path]) => path);
    expect(loose).toEqual([]);
  });

  it('refuses an extra field in route parameters, a session and the health answer', () => {
    expect(Compile(SessionParams).Check({ id: 'AAAAAAAAAAAAAAAA', x: 1 })).toBe(false);
    expect(Compile(ProfileParams).Check({ id: 'xfce', x: 1 })).toBe(false);
    const health = { ok: true, version: '1.0.0', sessions: 0 };
    expect(Compile(Health).Check(health)).toBe(true);
    expect(Compile(Health).Check({ ...health, token: 'x' })).toBe(false);
  });

  it('refuses the wrong type rather than reading it as the right one', () => {
    expect(start.Check({ profile: 'xfce', width: '1024' })).toBe(false);
    expect(start.Check({ profile: 123 })).toBe(false);
    expect(start.Check({ profile: 'xfce', replace: null })).toBe(false);
    expect(start.Check({ profile: 'xfce', replace: 'false' })).toBe(false);
    expect(start.Check([{ profile: 'xfce' }])).toBe(false);
  });
});

describe('the mount points', () => {
  it("are the package's jupyter-server-proxy entry points (pyproject.toml)", () => {
    const toml = readFileSync(new URL('../../../pyproject.toml', import.meta.url), 'utf8');
    const section = /\[project\.entry-points\.jupyter_serverproxy_servers\]\n([^[]*)/.exec(toml);
    const names = [...(section?.[1] ?? '').matchAll(/^([\w-]+) =/gm)].map(m => `${m[1]}/`);
    expect(names.sort()).toEqual([MOUNT, RFB_MOUNT].sort());
  });
});
