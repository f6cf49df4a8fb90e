// Builds the Fastify app: security hooks and the error answers first, then one route plugin
// per resource (routes/). Listens on nothing itself (server.ts does), so tests can drive it
// with inject() or a socket of their own.
import websocket from '@fastify/websocket';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions
} from 'fastify';
import {
  ERROR_STATUS,
  errorCodeFor,
  type ErrorCode,
  type Session
} from '@jupyterlab-desktops/protocol';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { profileRoutes } from './routes/profiles.js';
import { MAX_MESSAGE, rfbRoutes } from './routes/rfb.js';
import type { IRoutesOptions } from './routes/schemas.js';
import { sessionRoutes } from './routes/sessions.js';
import { checkCsrf, checkOrigin, checkToken, deny, hardenHeaders } from './security.js';
import { SessionError } from './sessions/errors.js';

export { VERSION } from './version.js';

export interface IAppOptions extends IRoutesOptions {
  /** Required on every request when set (development TCP mode). */
  token?: string;
  logger?: boolean | object;
}

/**
 * Requests are checked by TypeBox against the protocol's schemas, as they are: Fastify's Ajv
 * defaults would drop properties a schema does not know and coerce a body's types ("1024" to
 * 1024, null to false), accepting what the protocol refuses (a misspelt `replace` must not
 * start a desktop that replaces another, nor `"replace": null` mean false). Answers are built
 * from the protocol's types: JSON.stringify them (response schemas stay, for the routes'
 * types). Given when Fastify is made, so that its Ajv and fast-json-stringify compilers are
 * never loaded: compiling Ajv and its meta-schema made most of the daemon's start-up time,
 * and their code most of its memory (the bundle leaves them out: daemon/build.mjs).
 */
const SCHEMA_CONTROLLER = {
  compilersFactory: {
    buildValidator: () => TypeBoxValidatorCompiler,
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data)
  }
  // (Fastify types the factories by Ajv's schemas, TypeBox's validator by its own.)
} as unknown as FastifyServerOptions['schemaController'];

/** Largest request body: a start request is a few hundred bytes. */
const BODY_LIMIT = 16 * 1024;

/** The one shape of every error answer; the code fixes the status. */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  session?: Session
): FastifyReply {
  return reply
    .code(ERROR_STATUS[code])
    .send({ error: { code, message, ...(session ? { session } : {}) } });
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
    schemaController: SCHEMA_CONTROLLER,
    forceCloseConnections: true
  });
  app.addHook('onRequest', async (req, reply) => {
    hardenHeaders(reply);
    const denial = checkToken(req, o.token) ?? checkOrigin(req) ?? checkCsrf(req);
    if (denial) {
      return deny(req, reply, denial);
    }
    return sendError(reply, 'unavailable', o.problem);
  });
  return app;
}

export async function buildApp(o: IAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      o.logger === false || o.logger === undefined
        ? false
        : { level: 'info', serializers, ...(o.logger as object) },
    rewriteUrl: req => stripMount(req.url ?? '/'),
    schemaController: SCHEMA_CONTROLLER,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // Shutdown must not wait on a client that keeps its connection open.
    forceCloseConnections: true
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeContentTypeParser('text/plain');
  // JupyterLab's ServerConnection labels every request JSON, bodiless DELETEs included.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') {
      return done(null, undefined);
    }
    parseJson(req, body as string, done);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof SessionError) {
      return sendError(reply, err.code, err.message, err.session);
    }
    if (err.validation) {
      return sendError(reply, 'bad-request', `Invalid request: ${err.message}`);
    }
    // Fastify's own: 413 for a body over the limit, 415, 400 for bad JSON...
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error(err);
      return sendError(reply, 'internal', 'Internal error');
    }
    return reply.code(status).send({ error: { code: errorCodeFor(status), message: err.message } });
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 'not-found', 'No such route'));

  app.addHook('onRequest', async (req, reply) => {
    hardenHeaders(reply);
    const denial = checkToken(req, o.token) ?? checkOrigin(req) ?? checkCsrf(req);
    if (denial) {
      return deny(req, reply, denial);
    }
  });

  // Upgrade requests leave the HTTP server's connection tracking, so forceCloseConnections
  // misses them: a refused upgrade whose client never hangs up would hold close() forever.
  const upgraded = new Set<import('node:stream').Duplex>();
  app.server.on('upgrade', (_req, socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const s of upgraded) {
      s.destroy();
    }
  });

  await app.register(websocket, {
    options: { maxPayload: MAX_MESSAGE, perMessageDeflate: false, clientTracking: true }
  });
  const services: IRoutesOptions = {
    profiles: o.profiles,
    sessions: o.sessions,
    tickets: o.tickets
  };
  await app.register(healthRoutes, services);
  await app.register(profileRoutes, services);
  await app.register(sessionRoutes, services);
  await app.register(rfbRoutes, services);
  await app.register(eventRoutes, services);
  return app;
}
