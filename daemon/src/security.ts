// Request checks that the proxy in front does not do for us (docs/architecture.md,
// section 2: jupyter-server-proxy checks neither XSRF nor, with token auth, WebSocket Origin), plus the
// development-mode token.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorCode } from '@jupyterlab-desktops/protocol';

export type Denial =
  | {
      code: Extract<ErrorCode, 'unauthorized' | 'forbidden' | 'unsupported-media-type'>;
      message: string;
    }
  | undefined;

/** `Authorization: token <t>` (or Bearer) compared in constant time. */
export function checkToken(req: FastifyRequest, token: string | undefined): Denial {
  if (!token) {
    return undefined;
  }
  const m = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const given = Buffer.from(m ? m[1] : '');
  const want = Buffer.from(token);
  if (given.length === want.length && timingSafeEqual(given, want)) {
    return undefined;
  }
  return { code: 'unauthorized', message: 'A valid daemon token is required' };
}

/** A browser's Origin must name the host it is talking to; non-browser clients send none. */
export function checkOrigin(req: FastifyRequest): Denial {
  const origin = req.headers.origin;
  if (origin === undefined) {
    return undefined;
  }
  const host = typeof req.headers.host === 'string' ? req.headers.host : '';
  let originHost = '';
  try {
    originHost = new URL(origin).host;
  } catch {
    // not a URL: refused below
  }
  if (originHost && originHost === host) {
    return undefined;
  }
  // Same host name, other port: a proxy in front dropped the port from Host (nginx's
  // `proxy_set_header Host $host`), which refuses every start. Say so, not "cross-origin".
  const name = (h: string): string => h.replace(/:\d+$/, '');
  if (originHost && host && name(originHost) === name(host)) {
    return {
      code: 'forbidden',
      message:
        `The request came from ${Private.shown(originHost)} but the server was asked for ` +
        `${Private.shown(host)}: a proxy in front of Jupyter (nginx, for instance) drops the ` +
        'port from the Host header. It must pass it on whole: proxy_set_header Host $http_host;'
    };
  }
  return { code: 'forbidden', message: 'Cross-origin requests are not allowed' };
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CSRF: a cross-site page can send a "simple" request (form or text/plain body) with the
 * user's cookies and no preflight. Requests with a body must be JSON, which browsers only send
 * cross-site after a preflight we never answer.
 */
export function checkCsrf(req: FastifyRequest): Denial {
  if (!STATE_CHANGING.has(req.method)) {
    return undefined;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const hasBody =
    type !== '' ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
    req.headers['transfer-encoding'] !== undefined;
  if (hasBody && type !== 'application/json') {
    return {
      code: 'unsupported-media-type',
      message: 'Request bodies must be application/json'
    };
  }
  return undefined;
}

/** How much of a refused request's body is read before answering (the app takes 16 KiB). */
const DRAIN_LIMIT = 64 * 1024;

/**
 * Answers before the body is read, but only once the client has sent it (up to a limit).
 * Answering first and closing (as Node does for `Connection: close`, which jupyter-server-proxy
 * passes on from nginx) makes a proxy still sending the body fail with a broken pipe and show
 * its own 500 instead of this answer.
 */
export async function deny(
  req: FastifyRequest,
  reply: FastifyReply,
  d: NonNullable<Denial>
): Promise<FastifyReply> {
  await Private.drain(req.raw);
  return reply.code(ERROR_STATUS[d.code]).send({ error: { code: d.code, message: d.message } });
}

/** Headers on every response: no sniffing, no framing by other origins, no caching. */
export function hardenHeaders(reply: FastifyReply): void {
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'self'");
  reply.header('Cache-Control', 'no-store');
  reply.header('Referrer-Policy', 'no-referrer');
}

namespace Private {
  /** Reads and drops a request's body, up to DRAIN_LIMIT bytes. */
  export function drain(raw: import('node:http').IncomingMessage): Promise<void> {
    const bodiless =
      raw.headers['content-length'] === undefined && raw.headers['transfer-encoding'] === undefined;
    if (bodiless || raw.complete || raw.readableEnded) {
      return Promise.resolve();
    }
    return new Promise(resolve => {
      let seen = 0;
      const done = (): void => {
        raw.off('data', count);
        resolve();
      };
      const count = (chunk: Buffer): void => {
        seen += chunk.length;
        if (seen > DRAIN_LIMIT) {
          done();
        }
      };
      raw.on('data', count);
      raw.once('end', done);
      raw.once('error', done);
      raw.once('close', done);
    });
  }

  /** A header value fit to quote in a message: host characters only, and short. */
  export function shown(value: string): string {
    return value.replace(/[^A-Za-z0-9.:[\]-]/g, '?').slice(0, 100);
  }
}
