// What every route plugin shares: the services it is given, and its error answers as schema.
import { ERROR_STATUS, ErrorBody, type ErrorCode } from '@jupyterlab-desktops/protocol';
import type { ProfileStore } from '../profiles.js';
import type { TicketBook } from '../rfb-gate.js';
import type { SessionManager } from '../sessions/manager.js';

export interface IRoutesOptions {
  profiles: ProfileStore;
  sessions: SessionManager;
  /** With a raw RFB socket (--rfb-socket): the tickets its connections need. */
  tickets?: TicketBook;
}

/** Answered by the security hook on any route (app.ts), before a route runs. */
const ALWAYS: ErrorCode[] = ['unauthorized', 'forbidden', 'unsupported-media-type'];

/** Response schemas for the error codes a route answers with (and those of the hook). */
export function errorResponses(...codes: ErrorCode[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries([...ALWAYS, ...codes].map(c => [ERROR_STATUS[c], ErrorBody]));
}
