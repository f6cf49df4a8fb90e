// A session's RFB stream: a WebSocket bridged to the desktop's unix socket (bridge.ts); and,
// where the daemon has a raw RFB socket (rfb-gate.ts), the tickets its connections need.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RfbTicket, ROUTES, SessionParams } from '@jupyterlab-desktops/protocol';
import { bridge, CLOSE } from '../bridge.js';
import { TICKET_MS } from '../rfb-gate.js';
import { SessionError } from '../sessions/errors.js';
import { errorResponses, type IRoutesOptions } from './schemas.js';

/** Largest WebSocket message a client may send. */
export const MAX_MESSAGE = 1 << 20;

/**
 * A plain GET of the stream is a WebSocket whose upgrade headers a proxy in front dropped: the
 * browser only sees its stream fail, so the session keeps this reason for the tab.
 */
export const NO_UPGRADE_PROBLEM =
  "This desktop's stream was asked for without its WebSocket headers: a proxy in front " +
  'of Jupyter drops them. nginx needs: proxy_http_version 1.1; ' +
  'proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";';

export const rfbRoutes: FastifyPluginAsyncTypebox<IRoutesOptions> = async (app, o) => {
  const { sessions, tickets } = o;
  /** Refuses a session that has no stream to give, with a status the client can show. */
  const running = async (req: { params: { id: string } }): Promise<void> => {
    const { id } = req.params;
    if (sessions.rfbSocket(id)) {
      return;
    }
    const s = sessions.get(id);
    if (!s) {
      throw new SessionError('not-found', 'No such desktop session');
    }
    throw new SessionError('not-running', `${s.title} is not running (${s.state})`);
  };
  if (tickets) {
    app.post(
      ROUTES.sessionTicket,
      {
        schema: {
          params: SessionParams,
          response: { 200: RfbTicket, ...errorResponses('not-found', 'not-running') }
        },
        preHandler: running
      },
      async (req): Promise<RfbTicket> => ({
        ticket: tickets.issue(req.params.id),
        expiresInMs: TICKET_MS
      })
    );
  }
  app.route({
    method: 'GET',
    url: ROUTES.sessionRfb,
    schema: {
      params: SessionParams,
      // 101 Switching Protocols on success; these before the upgrade.
      response: errorResponses('bad-request', 'not-found', 'not-running')
    },
    // Refuse before the upgrade, so the client gets a status instead of a bare close.
    preHandler: running,
    handler: async req => {
      sessions.noteConnectProblem(req.params.id, NO_UPGRADE_PROBLEM);
      throw new SessionError('bad-request', NO_UPGRADE_PROBLEM);
    },
    wsHandler: (ws, req) => {
      const { id } = req.params;
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
        maxMessage: MAX_MESSAGE,
        onInput: work => sessions.touch(id, work)
      });
    }
  });
};
