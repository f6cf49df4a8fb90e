// Two users on the reference deployment (deploy/: JupyterHub with PAM, nginx with TLS), in
// Chromium over HTTPS: each opens a desktop, each sees only their own, each desktop runs as
// its user, and the second cannot reach the first one's desktop through any URL.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { desktopTab, sessionPids, settledPicture, tile, waitForDesktop } from '../tests/helpers';
import { cookieHeader, login, ownSessions, raw, uidOf, wsProbe, type IUser } from './helpers';
import { BASE, hubStack, PORTS } from './stack';

/** npm run screenshots writes the pictures into docs/; a test run keeps them here. */
const PICTURES = process.env.DESKTOPS_DOCS_SCREENSHOTS
  ? resolve(__dirname, '..', '..', 'docs')
  : resolve(__dirname, '..', 'test-results', 'hub');

test.describe.serial('two users on JupyterHub behind nginx', () => {
  let alice: IUser;
  let bob: IUser;
  let aliceSession = '';
  let bobSession = '';

  test.beforeAll(async ({ browser }) => {
    console.log(`route for {base_url}desktops/: ${hubStack().route}`);
    [alice, bob] = await Promise.all([login(browser, 'dt-alice'), login(browser, 'dt-bob')]);
  });
  test.afterAll(async () => {
    await alice?.context.close();
    await bob?.context.close();
  });

  test('alice opens XFCE and bob MATE; each sees only their own desktop, run as themselves', async () => {
    await Promise.all([tile(alice.page, 'XFCE').click(), tile(bob.page, 'MATE').click()]);
    const [a, b] = await Promise.all([
      desktopTab(alice.page, 'XFCE'),
      desktopTab(bob.page, 'MATE')
    ]);
    await Promise.all([
      waitForDesktop(alice.page, a.panel, 120_000),
      waitForDesktop(bob.page, b.panel, 120_000)
    ]);
    // Drawn whole (XFCE's panel takes a moment after the first frame), then pictured.
    await Promise.all([settledPicture(alice.page, a.panel), settledPicture(bob.page, b.panel)]);
    await alice.page.screenshot({ path: join(PICTURES, 'screenshot-hub-alice-xfce.png') });
    await bob.page.screenshot({ path: join(PICTURES, 'screenshot-hub-bob-mate.png') });

    const mine = await ownSessions(alice);
    const his = await ownSessions(bob);
    expect(mine.filter(s => s.state === 'running').map(s => s.profile)).toEqual(['xfce']);
    expect(his.filter(s => s.state === 'running').map(s => s.profile)).toEqual(['mate']);
    aliceSession = mine.find(s => s.state === 'running')!.id;
    bobSession = his.find(s => s.state === 'running')!.id;
    expect(his.map(s => s.id)).not.toContain(aliceSession);

    for (const [user, id] of [
      ['dt-alice', aliceSession],
      ['dt-bob', bobSession]
    ] as const) {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
      const pids = sessionPids(id);
      expect(pids.length, `${user}'s desktop processes`).toBeGreaterThan(3);
      expect([...new Set(pids.map(uidOf))], `${user}'s desktop runs as ${uid}`).toEqual([uid]);
      // Each user's service keeps its sockets in that user's home (no XDG_RUNTIME_DIR here).
      const env = execFileSync('cat', [`/proc/${pids[0]}/environ`], { encoding: 'latin1' });
      expect(env).toContain(
        `JUPYTER_DESKTOPS_RUNTIME=/home/${user}/.local/share/jupyter/runtime/desktops/`
      );
    }
  });

  test("bob cannot reach alice's desktop through any URL", async () => {
    expect(aliceSession).not.toBe('');
    const cookies = await cookieHeader(bob.context);
    const a = 'dt-alice';
    const id = aliceSession;
    const attempts: [string, string, string?][] = [
      // Hub and server routes of alice's.
      ['GET', `/user/${a}/lab`],
      ['GET', `/user/${a}/api/contents`],
      ['GET', `/hub/api/users/${a}`],
      // Her desktops API.
      ['GET', `/user/${a}/desktops/healthz`],
      ['GET', `/user/${a}/desktops/api/sessions`],
      ['GET', `/user/${a}/desktops/api/sessions/${id}`],
      ['GET', `/user/${a}/desktops/api/sessions/${id}/log`],
      ['DELETE', `/user/${a}/desktops/api/sessions/${id}`],
      ['POST', `/user/${a}/desktops/api/sessions`, '{"profile":"xfce"}'],
      // Through his own service, which does not know her session.
      ['GET', `/user/dt-bob/desktops/api/sessions/${id}`],
      ['GET', `/user/dt-bob/desktops/api/sessions/${id}/log`],
      // Dot-dot, encoded and not, and doubled slashes.
      ['GET', `/user/dt-bob/desktops/%2e%2e/%2e%2e/${a}/desktops/api/sessions`],
      ['GET', `/user/dt-bob/desktops/..%2f..%2f${a}%2fdesktops%2fapi%2fsessions`],
      ['GET', `/user/dt-bob/desktops/%2E%2E%2F%2E%2E%2F${a}/desktops/api/sessions/${id}`],
      ['GET', `/user/dt-bob/%2e%2e/${a}/desktops/api/sessions`],
      ['GET', `/user/dt-bob/desktops/../../${a}/desktops/api/sessions`],
      ['GET', `/hub/..%2fuser/${a}/desktops/api/sessions`],
      ['GET', `/user//${a}/desktops/api/sessions`],
      ['GET', `/user/${a}//desktops/api/sessions`],
      // jupyter-server-proxy's own proxy paths in his server, towards the hub's proxy.
      ['GET', `/user/dt-bob/proxy/${PORTS.hub}/user/${a}/desktops/api/sessions`],
      ['GET', `/user/dt-bob/proxy/127.0.0.1:${PORTS.hub}/user/${a}/desktops/api/sessions`]
    ];
    const seen: string[] = [];
    for (const [method, path, body] of attempts) {
      const r = await raw(method, path, cookies, body);
      seen.push(`${method} ${path}: ${r.chain.join(' -> ')}`);
      expect([403, 404], `${method} ${path} (${r.chain.join(' -> ')})`).toContain(r.status);
      // Nothing of her session comes back (a 404 may name the id it was asked for).
      expect(r.body, `${method} ${path}`).not.toContain(`"id":"${id}"`);
    }
    console.log(seen.join('\n'));
    for (const path of [
      `/user/${a}/desktops/api/sessions/${id}/rfb`,
      `/user/dt-bob/desktops/%2e%2e/%2e%2e/${a}/desktops/api/sessions/${id}/rfb`,
      `/user/dt-bob/desktops/api/sessions/${id}/rfb`
    ]) {
      const probe = await wsProbe(path, cookies);
      console.log(`WebSocket ${path}: ${probe.status}, desktop reached: ${probe.rfb}`);
      expect(probe.rfb, `WebSocket ${path}`).toBe(false);
      expect([101, 403, 404], `WebSocket ${path}`).toContain(probe.status);
    }
    // Her desktop is untouched, and his own service still serves him.
    expect((await ownSessions(alice)).find(s => s.id === id)?.state).toBe('running');
    const own = await raw('GET', `/user/dt-bob/desktops/api/sessions/${bobSession}`, cookies);
    expect(own.status).toBe(200);
    // The same probe reaches a desktop for its owner: it can tell.
    const hers = await wsProbe(
      `/user/${a}/desktops/api/sessions/${id}/rfb`,
      await cookieHeader(alice.context)
    );
    expect(hers).toEqual({ status: 101, rfb: true });
  });

  test('behind a proxy that drops the port from Host, a start is refused with the fix named, not a 500', async () => {
    // What nginx with `proxy_set_header Host $host` sends on for a hub at :18443.
    const xsrf = (await alice.context.cookies()).find(c => c.name === '_xsrf')?.value ?? '';
    const r = await raw(
      'POST',
      '/user/dt-alice/desktops/api/sessions',
      await cookieHeader(alice.context),
      '{"profile":"mate"}',
      { Host: 'hub.example.org', 'X-XSRFToken': xsrf }
    );
    expect(r.status, r.body).toBe(403);
    expect(JSON.parse(r.body).error.message).toMatch(
      /^The request came from hub\.example\.org:18443 but the server was asked for hub\.example\.org: .* proxy_set_header Host \$http_host;$/
    );
    // Nothing was started or replaced.
    expect((await ownSessions(alice)).find(s => s.id === aliceSession)?.state).toBe('running');
  });

  test('nginx offers TLS 1.2 and 1.3 only, with HSTS', async () => {
    // The client's own floor lowered (SECLEVEL=0), so that only the server can refuse.
    for (const [version, ok] of [
      ['-tls1', false],
      ['-tls1_1', false],
      ['-tls1_2', true],
      ['-tls1_3', true]
    ] as const) {
      let connected = true;
      try {
        execFileSync(
          'openssl',
          [
            's_client',
            version,
            ...(ok ? [] : ['-cipher', 'DEFAULT:@SECLEVEL=0']),
            '-connect',
            `127.0.0.1:${PORTS.https}`,
            '-servername',
            'hub.example.org'
          ],
          { input: '', stdio: 'pipe', timeout: 10_000 }
        );
      } catch {
        connected = false;
      }
      expect(connected, `openssl s_client ${version}`).toBe(ok);
    }
    const hsts = await alice.page.evaluate(async url => {
      const r = await fetch(url);
      return r.headers.get('strict-transport-security');
    }, `${BASE}hub/login`);
    expect(hsts).toBe('max-age=63072000');
  });
});
