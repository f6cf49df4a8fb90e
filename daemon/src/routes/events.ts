// The event stream: one WebSocket per client, carrying a snapshot of every session and then
// each change as SessionManager emits it (protocol: SessionEvent). Clients learn of starts,
// failures, replacements, exits and idle stops without asking again.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  HEARTBEAT_MS,
  ROUTES,
  type Session,
  type SessionEvent
} from '@jupyterlab-desktops/protocol';
import type { WebSocket } from 'ws';
import { CLOSE } from '../bridge.js';
import { SessionError } from '../sessions/errors.js';
import { errorResponses, type IRoutesOptions } from './schemas.js';

/**
 * A client that reads nothing holds the daemon's memory: past this much waiting to be sent,
 * its stream is closed (it reconnects and gets a fresh snapshot).
 */
const MAX_BUFFERED = 1 << 20;

export const eventRoutes: FastifyPluginAsyncTypebox<IRoutesOptions> = async (app, o) => {
  const { sessions } = o;
  app.route({
    method: 'GET',
    url: ROUTES.events,
    schema: { response: errorResponses('bad-request') },
    handler: async () => {
      throw new SessionError('bad-request', 'The event stream is a WebSocket');
    },
    wsHandler: (ws: WebSocket) => {
      const send = (event: SessionEvent): void => {
        if (ws.readyState !== ws.OPEN) {
          return;
        }
        if (ws.bufferedAmount > MAX_BUFFERED) {
          ws.close(CLOSE.going, 'events not read');
          return;
        }
        ws.send(JSON.stringify(event));
      };
      const onChange = (session: Session): void => send({ type: 'session', session });
      sessions.on('change', onChange);
      const heartbeat = setInterval(() => send({ type: 'heartbeat' }), HEARTBEAT_MS);
      heartbeat.unref();
      const stop = (): void => {
        sessions.off('change', onChange);
        clearInterval(heartbeat);
      };
      ws.on('close', stop);
      ws.on('error', stop);
      // Clients only listen: anything they send is a mistake, and ignored.
      send({ type: 'snapshot', sessions: sessions.list() });
    }
  });
};
