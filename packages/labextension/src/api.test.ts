// DesktopsAPI against a real HTTP server on loopback standing where the proxy would be: each
// way the path to the daemon can fail must become a sentence a user can act on.
import { createServer, type Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { ServerConnection } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesktopsAPI, DesktopsError, isTransient } from './api';

let server: Server;
let api: DesktopsAPI;
const seen: { method: string; url: string; type?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', c => (body += c));
    req.on('end', () => {
      // ServerConnection adds a cache-busting query string: match on the path.
      const url = req.url!.split('?')[0];
      seen.push({ method: req.method!, url, type: req.headers['content-type'], body });
      const json = (status: number, data: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      if (url === '/lab/desktops/api/profiles') {
        return json(200, { profiles: [] });
      }
      if (url === '/lab/desktops/api/sessions' && req.method === 'POST') {
        return json(409, {
          error: { code: 'profile-unavailable', message: 'VAPOR is not installed' }
        });
      }
      if (url === '/down/desktops/api/profiles') {
        return json(503, {
          error: { code: 'unavailable', message: 'The desktops service cannot start: no Node.js' }
        });
      }
      if (url.startsWith('/missing/')) {
        res.writeHead(404, { 'Content-Type': 'text/html' });
        return res.end('<html>404: Not Found</html>');
      }
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html>Bad Gateway</html>');
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  api = new DesktopsAPI(
    ServerConnection.makeSettings({
      baseUrl: `http://127.0.0.1:${port}/lab/`,
      wsUrl: `ws://127.0.0.1:${port}/lab/`
    })
  );
});
afterAll(() => new Promise(r => server.close(r)));

describe('DesktopsAPI', () => {
  it('calls the daemon under {base_url}desktops/', async () => {
    expect(await api.profiles()).toEqual([]);
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/lab/desktops/api/profiles' });
  });

  it("sends JSON bodies and passes the daemon's own error on", async () => {
    const err = await api.start('vapor', { width: 800, height: 600 }).catch(e => e);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', type: 'application/json' });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ profile: 'vapor', width: 800, height: 600 });
    expect(err).toBeInstanceOf(DesktopsError);
    expect(err).toMatchObject({
      status: 409,
      code: 'profile-unavailable',
      message: 'VAPOR is not installed'
    });
  });

  it('explains a 404 without JSON: the proxy or the package is missing', async () => {
    const missing = new DesktopsAPI(
      ServerConnection.makeSettings({ baseUrl: api.settings.baseUrl.replace('/lab/', '/missing/') })
    );
    const err = await missing.profiles().catch(e => e);
    expect(err.code).toBe('no-proxy');
    expect(err.message).toMatch(/jupyter-server-proxy is not installed or not enabled/);
  });

  it('explains a daemon that does not answer, without guessing a cause', async () => {
    const err = await api.session('AAAAAAAAAAAAAAAA').catch(e => e);
    expect(err.code).toBe('daemon-unreachable');
    expect(err.message).toMatch(/^The desktops service did not answer \(HTTP 502\)/);
    expect(err.message).toMatch(/jupyter desktops doctor/);
    expect(err.message).not.toMatch(/Node/);
    expect(isTransient(err)).toBe(true);
  });

  it("passes on why the service cannot run, as a failure that retrying won't mend", async () => {
    const down = new DesktopsAPI(
      ServerConnection.makeSettings({ baseUrl: api.settings.baseUrl.replace('/lab/', '/down/') })
    );
    const err = await down.profiles().catch(e => e);
    expect(err).toMatchObject({
      status: 503,
      code: 'unavailable',
      message: 'The desktops service cannot start: no Node.js'
    });
    expect(isTransient(err)).toBe(false);
  });

  it('explains an unreachable server', async () => {
    const gone = new DesktopsAPI(ServerConnection.makeSettings({ baseUrl: 'http://127.0.0.1:1/' }));
    const err = await gone.profiles().catch(e => e);
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/^The Jupyter server could not be reached/);
  });

  it('builds the RFB WebSocket URL, with the token only where Lab appends one', () => {
    expect(api.rfbUrl('abc')).toMatch(
      /^ws:\/\/127\.0\.0\.1:\d+\/lab\/desktops\/api\/sessions\/abc\/rfb$/
    );
    const withToken = new DesktopsAPI(
      ServerConnection.makeSettings({
        baseUrl: 'http://h/',
        wsUrl: 'ws://h/',
        token: 't&1',
        appendToken: true
      })
    );
    expect(withToken.rfbUrl('abc')).toBe('ws://h/desktops/api/sessions/abc/rfb?token=t%261');
    // The raw socket entry: its own mount, beside desktops/.
    expect(withToken.rawRfbUrl()).toBe('ws://h/desktops-rfb/?token=t%261');
  });
});
