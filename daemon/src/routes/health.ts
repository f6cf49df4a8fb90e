// GET / and /healthz: whether the service runs, its version and how many desktops it holds.
// jupyter-server-proxy polls "/" until it answers before it forwards the first request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health, ROUTES } from '@jupyterlab-desktops/protocol';
import { VERSION } from '../version.js';
import { errorResponses, type IRoutesOptions } from './schemas.js';

export const healthRoutes: FastifyPluginAsyncTypebox<IRoutesOptions> = async (app, o) => {
  const schema = { response: { 200: Health, ...errorResponses() } };
  const health = async (): Promise<Health> => ({
    ok: true,
    version: VERSION,
    sessions: o.sessions.live().length,
    rfbSocket: !!o.tickets
  });
  app.get(ROUTES.root, { schema }, health);
  app.get(ROUTES.health, { schema }, health);
};
