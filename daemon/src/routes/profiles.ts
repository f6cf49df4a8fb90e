// The launcher's tiles: every profile with its availability, and each profile's icon.
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ProfileList, ProfileParams, ROUTES } from '@jupyterlab-desktops/protocol';
import { SessionError } from '../sessions/errors.js';
import { errorResponses, type IRoutesOptions } from './schemas.js';

export const profileRoutes: FastifyPluginAsyncTypebox<IRoutesOptions> = async (app, o) => {
  app.get(
    ROUTES.profiles,
    { schema: { response: { 200: ProfileList, ...errorResponses() } } },
    async () => ({ profiles: (await o.profiles.list()).map(r => r.profile) })
  );

  app.get(
    ROUTES.profileIcon,
    {
      schema: {
        params: ProfileParams,
        response: {
          // Sent as it is, not serialized.
          200: Type.Unsafe<Buffer>({ description: 'The icon, an SVG document (image/svg+xml)' }),
          ...errorResponses('bad-request', 'not-found')
        }
      }
    },
    async (req, reply) => {
      const p = await o.profiles.get(req.params.id);
      if (!p?.iconPath) {
        throw new SessionError('not-found', 'No such icon');
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
    }
  );
};
