// Shared by the hub tests: logging in through the hub's own form, raw HTTPS requests whose
// path is sent exactly as written (no URL normalisation), and the owners of processes.
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import WebSocket from 'ws';
import { BASE, HOST, hubStack, PORTS } from './stack';

export interface IUser {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** Logs `name` in at the hub's login page; resolves once their JupyterLab shows the tiles. */
export async function login(browser: Browser, name: string): Promise<IUser> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${BASE}hub/login`);
  await page.locator('#username_input').fill(name);
  await page.locator('#password_input').fill(hubStack().password);
  await page.locator('#login_submit').click();
  await page.waitForURL(new RegExp(`/user/${name}/lab`), { timeout: 180_000 });
  // A workspace of its own: not the layout an earlier run left in the user's home.
  await page.goto(`${BASE}user/${name}/lab/workspaces/t${Date.now()}?reset`);
  await desktopsSection(page).waitFor({ timeout: 180_000 });
  return { name, context, page };
}

export function desktopsSection(page: Page) {
  return page
    .locator('.jp-Launcher-section', {
      has: page.locator('.jp-Launcher-sectionTitle', { hasText: /^Desktops$/ })
    })
    .first();
}

/** A user's own desktops API, fetched by their page (their cookies, their origin). */
export async function ownSessions(
  u: IUser
): Promise<{ id: string; profile: string; state: string; width: number; height: number }[]> {
  const r = await u.page.evaluate(async url => {
    const res = await fetch(url);
    return { status: res.status, json: await res.json() };
  }, `${BASE}user/${u.name}/desktops/api/sessions`);
  expect(r.status).toBe(200);
  return r.json.sessions;
}

/** Ends the user's live desktops, from the user's own page (with its XSRF token); none is left. */
export async function stopOwnSessions(u: IUser): Promise<void> {
  const live = (s: { state: string }): boolean => s.state === 'starting' || s.state === 'running';
  for (const s of (await ownSessions(u)).filter(live)) {
    const status = await u.page.evaluate(async url => {
      const xsrf = decodeURIComponent(/(?:^|;\s*)_xsrf=([^;]*)/.exec(document.cookie)?.[1] ?? '');
      return (await fetch(url, { method: 'DELETE', headers: { 'X-XSRFToken': xsrf } })).status;
    }, `${BASE}user/${u.name}/desktops/api/sessions/${s.id}`);
    expect(status, `${u.name}: DELETE ${s.id}`).toBe(200);
  }
  expect((await ownSessions(u)).filter(live), u.name).toEqual([]);
}

export interface IRaw {
  status: number;
  body: string;
  /** Every status on the way, redirects followed. */
  chain: number[];
}

/** The Cookie header a browser context would send (all its cookies: a superset). */
export async function cookieHeader(context: BrowserContext): Promise<string> {
  // Every cookie of the context, whatever its path: more than a browser would send.
  return (await context.cookies()).map(c => `${c.name}=${c.value}`).join('; ');
}

/**
 * An HTTPS request with `path` sent byte for byte (`%2e%2e`, `//` and `..%2f` stay as they are),
 * carrying `cookies`; redirects are followed the same way.
 */
export async function raw(
  method: string,
  path: string,
  cookies: string,
  body?: string,
  headers: Record<string, string> = {}
): Promise<IRaw> {
  const chain: number[] = [];
  let current = path;
  for (let hop = 0; hop < 10; hop++) {
    const r = await new Promise<{ status: number; body: string; location?: string }>(
      (done, fail) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: PORTS.https,
            method,
            path: current,
            servername: HOST,
            rejectUnauthorized: false,
            headers: {
              Host: `${HOST}:${PORTS.https}`,
              Origin: BASE.replace(/\/$/, ''),
              Cookie: cookies,
              ...(body ? { 'Content-Type': 'application/json' } : {}),
              ...headers
            }
          },
          res => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', c => (text += c));
            res.on('end', () =>
              done({ status: res.statusCode ?? 0, body: text, location: res.headers.location })
            );
          }
        );
        req.on('error', fail);
        req.end(body);
      }
    );
    chain.push(r.status);
    if (process.env.DEBUG_RAW) {
      console.log(method, current, r.status, r.location ?? '');
    }
    if (r.status >= 300 && r.status < 400 && r.location) {
      const next = new URL(r.location, `${BASE.replace(/\/$/, '')}${current}`);
      current = next.pathname + next.search;
      method = 'GET';
      body = undefined;
      continue;
    }
    return { status: r.status, body: r.body, chain };
  }
  throw new Error(`too many redirects from ${path}: ${chain.join(' ')}`);
}

/**
 * Opens a WebSocket to `path` with `cookies`: the HTTP status that refused it, or 101 and
 * whether a desktop answered on it (the RFB greeting, "RFB 003.00x"). jupyter-server-proxy
 * accepts the browser's upgrade before it knows whether the service behind will, so a 101 alone
 * proves nothing: a desktop is reached only when its greeting arrives.
 */
export function wsProbe(path: string, cookies: string): Promise<{ status: number; rfb: boolean }> {
  const ws = new WebSocket(`wss://127.0.0.1:${PORTS.https}${path}`, {
    headers: { Host: `${HOST}:${PORTS.https}`, Cookie: cookies, Origin: BASE.replace(/\/$/, '') },
    rejectUnauthorized: false,
    perMessageDeflate: false,
    // Passed on to https.request (TLS SNI); ws's types leave it out.
    ...({ servername: HOST } as object)
  });
  return new Promise(resolve => {
    ws.once('open', () => {
      const timer = setTimeout(() => done(false), 5000);
      const done = (rfb: boolean): void => {
        clearTimeout(timer);
        ws.terminate();
        resolve({ status: 101, rfb });
      };
      ws.once('message', data => done(/^RFB \d{3}\.\d{3}\n/.test(data.toString('latin1'))));
      ws.once('close', () => done(false));
    });
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve({ status: res.statusCode ?? 0, rfb: false });
    });
    ws.once('error', () => resolve({ status: 0, rfb: false }));
  });
}

/** The uid a process runs as. */
export function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]);
}
