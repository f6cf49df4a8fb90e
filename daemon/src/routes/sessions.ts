// Desktop sessions: list, start (ending the oldest at the limit), status, stop and log; and the
// X server started ahead of the next click.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ROUTES,
  Session,
  SessionList,
  SessionLog,
  SessionParams,
  Spare,
  SpareBody,
  StartSessionBody
} from '@jupyterlab-desktops/protocol';
import { SessionError } from '../sessions/errors.js';
import { errorResponses, type IRoutesOptions } from './schemas.js';

export const sessionRoutes: FastifyPluginAsyncTypebox<IRoutesOptions> = async (app, o) => {
  const { sessions } = o;

  app.get(
    ROUTES.sessions,
    { schema: { response: { 200: SessionList, ...errorResponses() } } },
    async () => ({ sessions: sessions.list(), maxSessions: sessions.maxSessions })
  );

  app.post(
    ROUTES.sessions,
    {
      schema: {
        body: StartSessionBody,
        response: {
          202: Session,
          ...errorResponses(
            'bad-request',
            'not-found',
            'profile-unavailable',
            'payload-too-large',
            'too-many-sessions',
            'start-failed'
          )
        }
      }
    },
    // Answers once the start is admitted, with the `starting` session: whether it runs or
    // fails (and why), and what it replaced, arrive on the event stream and in GET.
    async (req, reply) => {
      const { profile, width, height, open, replace } = req.body;
      const { session } = await sessions.begin(profile, { width, height }, { replace, open });
      return reply.code(202).send(session);
    }
  );

  app.get(
    ROUTES.session,
    {
      schema: {
        params: SessionParams,
        response: { 200: Session, ...errorResponses('bad-request', 'not-found') }
      }
    },
    async req => {
      const s = sessions.get(req.params.id);
      if (!s) {
        throw new SessionError('not-found', 'No such desktop session');
      }
      return s;
    }
  );

  app.delete(
    ROUTES.session,
    {
      schema: {
        params: SessionParams,
        response: { 200: Session, ...errorResponses('bad-request', 'not-found') }
      }
    },
    async req => sessions.stop(req.params.id)
  );

  app.get(
    ROUTES.sessionLog,
    {
      schema: {
        params: SessionParams,
        response: { 200: SessionLog, ...errorResponses('bad-request', 'not-found') }
      }
    },
    async req => ({ id: req.params.id, ...(await sessions.log(req.params.id)) })
  );

  // The launcher shows the desktop tiles: have an X server of the tab's size ready, so that a
  // click costs only its start script. Answers as soon as it is spawned.
  app.put(
    ROUTES.spare,
    {
      schema: {
        body: SpareBody,
        response: {
          200: Spare,
          ...errorResponses('bad-request', 'payload-too-large', 'start-failed')
        }
      }
    },
    async req => sessions.prepare(req.body)
  );

  app.delete(
    ROUTES.spare,
    { schema: { response: { 204: {}, ...errorResponses() } } },
    async (_req, reply) => {
      await sessions.discardSpare();
      return reply.code(204).send();
    }
  );
};
