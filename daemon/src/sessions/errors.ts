// The one error type sessions throw: a code the HTTP layer maps to a status, and a sentence.
import type { Session } from '@jupyterlab-desktops/protocol';

/** A failure with a precise error code for the HTTP layer. */
export class SessionError extends Error {
  constructor(
    readonly code:
      'not-found' | 'profile-unavailable' | 'start-failed' | 'bad-request' | 'too-many-sessions',
    message: string,
    readonly session?: Session
  ) {
    super(message);
  }
}
