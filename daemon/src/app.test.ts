import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { StartSessionBody } from '@jupyterlab-desktops/protocol';
import { startDaemon, tmp, writeProfile, type ITestDaemon } from '../test/helpers';
import { stripMount } from './app';

const checkStart = Compile(StartSessionBody);

describe('stripMount', () => {
  it.each([
    ['/api/profiles', '/api/profiles'],
    ['/desktops/api/profiles', '/api/profiles'],
    ['/user/alice/desktops/api/sessions/x/rfb?token=a', '/api/sessions/x/rfb?token=a'],
    ['/user/desktops/desktops/healthz', '/healthz'],
    ['/', '/'],
    ['/desktops/other', '/desktops/other'],
    // Encoded or dot segments in front are not a mount point (see stripMount).
    ['/%2e%2e/%2e%2e/alice/desktops/api/sessions', '/%2e%2e/%2e%2e/alice/desktops/api/sessions'],
    ['/../alice/desktops/api/sessions', '/../alice/desktops/api/sessions'],
    ['/user/bob%2f..%2falice/desktops/healthz', '/user/bob%2f..%2falice/desktops/healthz']
  ])('%s -> %s', (url, want) => {
    expect(stripMount(url)).toBe(want);
  });
});

describe('the HTTP API (app.inject)', () => {
  let d: ITestDaemon;
  const TOKEN = 'test-token-0123456789abcdef';
  const auth = { authorization: `token ${TOKEN}` };
  /** POST api/sessions with the token, as the labextension sends it. */
  const start = (payload: object) =>
    d.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload });

  beforeAll(async () => {
    const dir = tmp();
    writeProfile(dir, 'test-min', 'exec sleep 600');
    d = await startDaemon([dir], { token: TOKEN });
  });
  afterAll(() => d.close());

  it('answers the proxy poll on / and /healthz', async () => {
    const r = await d.app.inject({ url: '/', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, sessions: 0 });
    expect((await d.app.inject({ url: '/desktops/healthz', headers: auth })).statusCode).toBe(200);
  });

  it('lists profiles with availability and serves their icons as SVG', async () => {
    const r = await d.app.inject({ url: '/desktops/api/profiles', headers: auth });
    const ids = r.json().profiles.map((p: { id: string }) => p.id);
    expect(ids).toEqual(
      expect.arrayContaining(['xfce', 'mate', 'vapor', 'panoply', 'matlab', 'test-min'])
    );
    const icon = await d.app.inject({ url: '/api/profiles/xfce/icon', headers: auth });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.body).toMatch(/^<svg/);
    expect(icon.headers['content-security-policy']).toMatch(/default-src 'none'/);
  });

  it('hardens every response', async () => {
    const r = await d.app.inject({ url: '/api/sessions', headers: auth });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toMatch(/frame-ancestors 'self'/);
  });

  it.each([['../../etc/passwd'], ['%2e%2e%2f'], ['xfce\u0000'], ['$(id)'], ['x'.repeat(10_000)]])(
    'rejects the profile id %j with 400 and starts nothing',
    async profile => {
      const r = await start({ profile });
      expect([400, 413]).toContain(r.statusCode);
      expect(r.json().error.code).toMatch(/bad-request|payload-too-large/);
      expect(d.sessions.list()).toEqual([]);
    }
  );

  it('answers 404 for an unknown profile and 409 for an unavailable one', async () => {
    const unknown = await start({ profile: 'nope' });
    expect(unknown.statusCode).toBe(404);
    const vapor = await start({ profile: 'vapor' });
    expect(vapor.statusCode).toBe(409);
    expect(vapor.json().error).toEqual({
      code: 'profile-unavailable',
      message: expect.stringMatching(/^VAPOR is not installed/)
    });
    expect(d.sessions.list()).toEqual([]);
  });

  it.each([
    [{ width: 99999, height: 99999 }],
    [{ width: 0, height: 0 }],
    [{ width: -5, height: 100 }],
    [{ width: '800x600;id' }]
  ])('rejects geometry %j with 400', async geo => {
    const r = await start({ profile: 'test-min', ...geo });
    expect(r.statusCode).toBe(400);
    expect(d.sessions.list()).toEqual([]);
  });

  it('refuses a start with a field the protocol does not know (not silently dropped), starting nothing', async () => {
    const r = await start({ profile: 'test-min', command: 'xterm' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('bad-request');
    expect(r.json().error.message).toMatch(/additional propert/i);
    expect(d.sessions.list()).toEqual([]);
  });

  // Each body the protocol's schema refuses (packages/protocol's own tests name most of them),
  // refused by the server too, not coerced into one it accepts: "1024" is no width.
  it.each([
    ['a field the protocol does not know', { profile: 'test-min', command: 'xterm' }],
    ['width as a string', { profile: 'test-min', width: '1024' }],
    ['height as a string', { profile: 'test-min', height: '768' }],
    ['width as a one-item array', { profile: 'test-min', width: [1024] }],
    ['profile as a number', { profile: 123 }],
    ['profile as a boolean', { profile: true }],
    ['replace as a string', { profile: 'test-min', replace: 'false' }],
    ['replace as a number', { profile: 'test-min', replace: 0 }],
    ['replace as null', { profile: 'test-min', replace: null }],
    ['width as null', { profile: 'test-min', width: null }],
    ['open as null', { profile: 'test-min', open: null }],
    ['profile as null', { profile: null }],
    ['an array where the body object belongs', [{ profile: 'test-min' }]],
    ['an empty array', []],
    ['null for the whole body', null],
    ['a string for the whole body', 'test-min'],
    ['a number for the whole body', 1]
  ])('refuses %s with 400 bad-request, as the schema does, starting nothing', async (_, body) => {
    expect(checkStart.Check(body)).toBe(false);
    const r = await d.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify(body)
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ error: { code: 'bad-request', message: expect.any(String) } });
    expect(d.sessions.list()).toEqual([]);
  });

  it('refuses a session id that is not one in the path, on every route that takes one', async () => {
    for (const [method, url] of [
      ['GET', '/api/sessions/123'],
      ['DELETE', '/api/sessions/true'],
      ['GET', '/api/sessions/null/log'],
      ['GET', '/api/profiles/XFCE/icon']
    ] as const) {
      const r = await d.app.inject({ method, url, headers: auth });
      expect(r.statusCode, `${method} ${url}`).toBe(400);
      expect(r.json().error.code).toBe('bad-request');
    }
  });

  it('refuses "open" for a profile that declares no file types, starting nothing', async () => {
    const r = await start({ profile: 'test-min', open: 'data.nc' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toEqual({
      code: 'bad-request',
      message: 'Test test-min does not open files'
    });
    expect(d.sessions.list()).toEqual([]);
  });

  it('rejects form and text bodies on state changes (CSRF)', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x'
    ]) {
      const r = await d.app.inject({
        method: 'POST',
        url: '/api/sessions',
        headers: { ...auth, 'content-type': type },
        payload: '{"profile":"test-min"}'
      });
      expect(r.statusCode, type).toBe(415);
    }
    expect(d.sessions.list()).toEqual([]);
  });

  it('rejects a foreign Origin and accepts the same one', async () => {
    const foreign = await d.app.inject({
      url: '/api/sessions',
      headers: { ...auth, host: 'lab.example.org', origin: 'https://evil.example.com' }
    });
    expect(foreign.statusCode).toBe(403);
    const same = await d.app.inject({
      url: '/api/sessions',
      headers: { ...auth, host: 'lab.example.org', origin: 'https://lab.example.org' }
    });
    expect(same.statusCode).toBe(200);
  });

  it('says so when a proxy drops the port from Host, which refuses every start', async () => {
    // nginx's `proxy_set_header Host $host` on a hub at :8443.
    const r = await d.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: {
        ...auth,
        host: 'hub.example.org',
        origin: 'https://hub.example.org:8443',
        'content-type': 'application/json'
      },
      payload: '{"profile":"test-min"}'
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.message).toBe(
      'The request came from hub.example.org:8443 but the server was asked for ' +
        'hub.example.org: a proxy in front of Jupyter (nginx, for instance) drops the port ' +
        'from the Host header. It must pass it on whole: proxy_set_header Host $http_host;'
    );
    // Another host entirely is plain cross-origin, with nothing quoted back.
    const odd = await d.app.inject({
      url: '/api/sessions',
      headers: { ...auth, host: 'hub.example.org<b>', origin: 'https://hub.example.org:1' }
    });
    expect(odd.statusCode).toBe(403);
    expect(odd.json().error.message).toBe('Cross-origin requests are not allowed');
    expect(d.sessions.list()).toEqual([]);
  });

  it('answers 404 with JSON for unknown routes and sessions', async () => {
    expect((await d.app.inject({ url: '/nope', headers: auth })).json().error.code).toBe(
      'not-found'
    );
    const s = await d.app.inject({ url: '/api/sessions/AAAAAAAAAAAAAAAA', headers: auth });
    expect(s.statusCode).toBe(404);
    const bad = await d.app.inject({ url: '/api/sessions/..%2F..%2Fetc', headers: auth });
    expect(bad.statusCode).toBe(400);
  });

  it('accepts a bodiless DELETE labelled JSON, as JupyterLab sends it', async () => {
    const r = await d.app.inject({
      method: 'DELETE',
      url: '/api/sessions/AAAAAAAAAAAAAAAA',
      headers: { ...auth, 'content-type': 'application/json' }
    });
    expect(r.statusCode).toBe(404);
    expect(r.json().error.code).toBe('not-found');
  });

  it('rejects malformed JSON and prototype pollution with 400', async () => {
    for (const payload of ['{"profile":', '{"__proto__":{"x":1},"profile":"test-min"}']) {
      const r = await d.app.inject({
        method: 'POST',
        url: '/api/sessions',
        headers: { ...auth, 'content-type': 'application/json' },
        payload
      });
      expect(r.statusCode, payload).toBe(400);
    }
    expect(d.sessions.list()).toEqual([]);
  });

  it('rejects bodies over the size limit with 413', async () => {
    const r = await d.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ profile: 'test-min', open: 'x'.repeat(40_000) })
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('payload-too-large');
  });
});
