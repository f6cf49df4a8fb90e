// The one error type the daemon's own code throws: a code of the protocol (which fixes the
// HTTP status) and a sentence for the user.
import type { ErrorCode, Session } from '@jupyterlab-desktops/protocol';

/** A failure with a precise error code for the HTTP layer. */
export class SessionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly session?: Session
  ) {
    super(message);
  }
}
