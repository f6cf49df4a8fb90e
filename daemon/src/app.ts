// Builds the Fastify app: security hooks first, then the routes of the protocol. Listens on
// nothing itself (server.ts does), so tests can drive it with inject() or a socket of their own.
import { readFile } from 'node:fs/promises';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import {
  ErrorBody,
  Health,
  ProfileList,
  ProfileParams,
  Session,
  SessionList,
  SessionLog,
  SessionParams,
  StartSessionBody
} from '@jupyterlab-desktops/protocol';
import { bridge, CLOSE } from './bridge.js';
import type { ProfileStore } from './profiles.js';
import { checkCsrf, checkOrigin, checkToken, deny, hardenHeaders } from './security.js';
import { SessionError, type SessionManager } from './sessions/manager.js';

export const VERSION = '0.1.0';

export interface IAppOptions {
  profiles: ProfileStore;
  sessions: SessionManager;
  /** Required on every request when set (development TCP mode). */
  token?: string;
  logger?: boolean | object;
  /** Largest WebSocket message from a client. */
  maxMessage?: number;
  bodyLimit?: number;
}

/**
 * Proxies may or may not strip the mount point: jupyter-server-proxy sends `/api/...`, with
 * `absolute_url` or nginx it may be `/user/x/desktops/api/...`. Both reach the same routes.
 * A prefix is plain path segments only: no `.`/`..` and nothing percent-encoded, so that
 * `/%2e%2e/%2e%2e/alice/desktops/api/...` (what jupyter-server-proxy passes on from
 * `/user/bob/desktops/%2e%2e/%2e%2e/alice/desktops/api/...`) is no route at all, rather than
 * bob's own sessions under a path that names alice.
 */
export function stripMount(url: string): string {
  const m = /^(?:\/(?!\.{1,2}(?:\/|$))[^/?%]+)*\/desktops(\/(?:api\/|healthz)[^]*)$/.exec(url);
  return m ? m[1] : url;
}

/** Request log lines name method and path only: query strings may carry ?token=. */
const serializers = {
  req: (req: { method: string; url: string }) => ({
    method: req.method,
    url: req.url.split('?')[0]
  })
};

/**
 * The service when it cannot start desktops (its runtime directory cannot be made, say): the
 * same security checks, then HTTP 503 with the reason on every route, so the launcher and
 * the tabs say why at once. jupyter-server-proxy's readiness probe gets its answer too.
 */
export async function buildUnavailableApp(o: {
  problem: string;
  token?: string;
  logger?: boolean | object;
}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger === false || o.logger === undefined ? false : { level: 'info', serializers },
    rewriteUrl: req => stripMount(req.url ?? '/'),
    forceCloseConnections: true
  });
  app.addHook('onRequest', async (req, reply) => {
    hardenHeaders(reply);
    const denial = checkToken(req, o.token) ?? checkOrigin(req) ?? checkCsrf(req);
    if (denial) return deny(req, reply, denial);
    return reply.code(503).send({ error: { code: 'unavailable', message: o.problem } });
  });
  return app;
}

export async function buildApp(o: IAppOptions): Promise<FastifyInstance> {
  const maxMessage = o.maxMessage ?? 1 << 20;
  const app = Fastify({
    logger:
      o.logger === false || o.logger === undefined
        ? false
        : { level: 'info', serializers, ...(o.logger as object) },
    rewriteUrl: req => stripMount(req.url ?? '/'),
    bodyLimit: o.bodyLimit ?? 16 * 1024,
    return503OnClosing: true,
    // Shutdown must not wait on a client that keeps its connection open.
    forceCloseConnections: true
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeContentTypeParser('text/plain');
  // JupyterLab's ServerConnection labels every request JSON, bodiless DELETEs included.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(req, body as string, done);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof SessionError) {
      const status = {
        'not-found': 404,
        'profile-unavailable': 409,
        'start-failed': 500,
        'bad-request': 400,
        'too-many-sessions': 429
      }[err.code];
      return reply.code(status).send({
        error: {
          code: err.code,
          message: err.message,
          ...(err.session ? { session: err.session } : {})
        }
      });
    }
    if (err.validation) {
      return reply
        .code(400)
        .send({ error: { code: 'bad-request', message: `Invalid request: ${err.message}` } });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    const code =
      status === 413
        ? 'payload-too-large'
        : status === 415
          ? 'unsupported-media-type'
          : status === 429
            ? 'too-many-sessions'
            : status < 500
              ? 'bad-request'
              : 'internal';
    if (status >= 500) req.log.error(err);
    return reply
      .code(status)
      .send({ error: { code, message: status >= 500 ? 'Internal error' : err.message } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'not-found', message: 'No such route' } })
  );

  app.addHook('onRequest', async (req, reply) => {
    hardenHeaders(reply);
    const denial = checkToken(req, o.token) ?? checkOrigin(req) ?? checkCsrf(req);
    if (denial) return deny(req, reply, denial);
  });

  // Upgrade requests leave the HTTP server's connection tracking, so forceCloseConnections
  // misses them: a refused upgrade whose client never hangs up would hold close() forever.
  const upgraded = new Set<import('node:stream').Duplex>();
  app.server.on('upgrade', (_req, socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const s of upgraded) s.destroy();
  });

  await app.register(websocket, {
    options: { maxPayload: maxMessage, perMessageDeflate: false, clientTracking: true }
  });

  const { profiles, sessions } = o;
  const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 500: ErrorBody };

  // jupyter-server-proxy polls "/" until it answers before forwarding the first request.
  const health = async () => ({ ok: true, version: VERSION, sessions: sessions.live().length });
  app.get('/', { schema: { response: { 200: Health } } }, health);
  app.get('/healthz', { schema: { response: { 200: Health } } }, health);

  app.get('/api/profiles', { schema: { response: { 200: ProfileList } } }, async () => ({
    profiles: (await profiles.list()).map(r => r.profile)
  }));

  app.get('/api/profiles/:id/icon', { schema: { params: ProfileParams } }, async (req, reply) => {
    const p = await profiles.get(req.params.id);
    if (!p?.iconPath) {
      return reply.code(404).send({ error: { code: 'not-found', message: 'No such icon' } });
    }
    // An SVG is a document: with this CSP, scripts in an admin's icon never run.
    return reply
      .header('Content-Type', 'image/svg+xml')
      .header(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
      )
      .header('Cache-Control', 'private, max-age=300')
      .send(await readFile(p.iconPath));
  });

  app.get('/api/sessions', { schema: { response: { 200: SessionList } } }, async () => ({
    sessions: sessions.list()
  }));

  app.post(
    '/api/sessions',
    { schema: { body: StartSessionBody, response: { 201: Session, ...errors } } },
    async (req, reply) => {
      const { profile, width, height, open, replace } = req.body;
      const s = await sessions.start(profile, { width, height }, { replace, open });
      return reply.code(201).send(s);
    }
  );

  app.get(
    '/api/sessions/:id',
    { schema: { params: SessionParams, response: { 200: Session, ...errors } } },
    async req => {
      const s = sessions.get(req.params.id);
      if (!s) throw new SessionError('not-found', 'No such desktop session');
      return s;
    }
  );

  app.delete(
    '/api/sessions/:id',
    { schema: { params: SessionParams, response: { 200: Session, ...errors } } },
    async req => sessions.stop(req.params.id)
  );

  app.get(
    '/api/sessions/:id/log',
    { schema: { params: SessionParams, response: { 200: SessionLog, ...errors } } },
    async req => ({ id: req.params.id, ...(await sessions.log(req.params.id)) })
  );

  app.route({
    method: 'GET',
    url: '/api/sessions/:id/rfb',
    schema: { params: SessionParams },
    // Refuse before the upgrade, so the client gets a status instead of a bare close.
    preHandler: async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!sessions.rfbSocket(id)) {
        const s = sessions.get(id);
        const message = s ? `${s.title} is not running (${s.state})` : 'No such desktop session';
        return reply
          .code(s ? 409 : 404)
          .send({ error: { code: s ? 'conflict' : 'not-found', message } });
      }
    },
    // A plain GET here is a WebSocket whose upgrade headers a proxy in front dropped: the
    // browser only sees its stream fail, so the session keeps the reason for the tab.
    handler: async (req, reply) => {
      const message =
        "This desktop's stream was asked for without its WebSocket headers: a proxy in front " +
        'of Jupyter drops them. nginx needs: proxy_http_version 1.1; ' +
        'proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";';
      sessions.noteConnectProblem((req.params as { id: string }).id, message);
      return reply.code(400).send({ error: { code: 'bad-request', message } });
    },
    wsHandler: (ws, req) => {
      const { id } = req.params as { id: string };
      const path = sessions.rfbSocket(id);
      if (!path) {
        ws.close(CLOSE.ended, 'desktop not running');
        return;
      }
      sessions.noteConnectProblem(id, undefined);
      const { width, height } = sessions.maxGeometry;
      bridge(ws, path, {
        maxWidth: width,
        maxHeight: height,
        maxMessage,
        onInput: () => sessions.touch(id)
      });
    }
  });

  return app;
}
