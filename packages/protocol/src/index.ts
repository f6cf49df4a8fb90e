// The wire contract between the desktops daemon and the labextension: every REST body, every
// route's parameters and every limit both ends must agree on. Types are derived, never re-typed.
import Type from 'typebox';

/**
 * Every object in the protocol names all its properties: the daemon validates requests with
 * these schemas, and an object open to unknown ones would let a misspelt or smuggled field
 * through unseen (index.test.ts checks that none is left open).
 */
const STRICT = { additionalProperties: false } as const;

/** Profile ids name files and CSS classes: keep them to a small, safe alphabet. */
export const PROFILE_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
/** Session ids are 16 random url-safe base64 characters. */
export const SESSION_ID_PATTERN = '^[A-Za-z0-9_-]{16}$';

/** Geometry limits every desktop is held to; the site may lower the maximum. */
export const GEOMETRY = {
  minWidth: 320,
  minHeight: 200,
  maxWidth: 7680,
  maxHeight: 4320,
  /**
   * The site maximum unless an admin sets one (c.Desktops.max_geometry): a 4K screen. The X
   * server's memory grows with it (about 130 MB at 3840x2160, 320 MB at 7680x4320).
   */
  defaultMaxWidth: 3840,
  defaultMaxHeight: 2160,
  defaultWidth: 1280,
  defaultHeight: 800
} as const;

export const ProfileId = Type.String({ pattern: PROFILE_ID_PATTERN, maxLength: 64 });
export const SessionId = Type.String({ pattern: SESSION_ID_PATTERN, maxLength: 16 });

export const ProfileKind = Type.Union([Type.Literal('desktop'), Type.Literal('app')]);

/** What a profile needs on the host before its tile is enabled. */
export const Requirement = Type.Object(
  {
    /** A program: a bare name looked up on PATH, or an absolute path. */
    command: Type.String({ minLength: 1, maxLength: 4096 }),
    /** Absolute paths tried before PATH, first match wins (e.g. /opt/vapor/bin/vapor). */
    paths: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 32 })
    ),
    /** Environment variable for the xstartup holding the resolved absolute path. */
    env: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$' })),
    /** Human name used in the reason shown when missing ("NCAR VAPOR"). */
    name: Type.Optional(Type.String({ maxLength: 200 }))
  },
  STRICT
);

/** A profile file as an admin writes it (desktops/<id>.json). */
export const ProfileFile = Type.Object(
  {
    id: ProfileId,
    title: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    /** SVG file next to the profile file. */
    icon: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]+\\.svg$', maxLength: 200 })),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    kind: Type.Optional(ProfileKind),
    /** Script next to the profile file that starts the session (absolute paths allowed). */
    xstartup: Type.String({ minLength: 1, maxLength: 4096 }),
    requires: Type.Optional(Type.Array(Requirement, { maxItems: 32 })),
    /** File name extensions the profile's application opens (".nc"). */
    fileTypes: Type.Optional(
      Type.Array(Type.String({ pattern: '^\\.[A-Za-z0-9_.-]{1,32}$' }), { maxItems: 64 })
    ),
    /**
     * The application cannot start without a file (it is meant for "Open in"): a start without
     * one is refused with a sentence that says how to give one. Needs `fileTypes`.
     */
    fileRequired: Type.Optional(Type.Boolean()),
    /**
     * Minimum OpenGL core profile version the application needs ("3.3"). Checked on the new
     * desktop with glxinfo before the xstartup runs; the tab says so when it is not met.
     */
    gl: Type.Optional(Type.String({ pattern: '^[1-9]\\.[0-9]$' })),
    /** Launcher order within the category. */
    rank: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    /** Set false to hide a built-in profile. */
    enabled: Type.Optional(Type.Boolean())
  },
  STRICT
);

/** A profile as the daemon reports it. */
export const Profile = Type.Object(
  {
    id: ProfileId,
    title: Type.String(),
    description: Type.String(),
    category: Type.String(),
    kind: ProfileKind,
    rank: Type.Integer(),
    /** Path of the icon under the API (`api/profiles/<id>/icon`), absent when none. */
    icon: Type.Optional(Type.String()),
    fileTypes: Type.Array(Type.String()),
    /** Set when the application cannot start without a file ("Open in"). */
    fileRequired: Type.Optional(Type.Boolean()),
    available: Type.Boolean(),
    unavailableReason: Type.Optional(Type.String())
  },
  STRICT
);

export const ProfileList = Type.Object({ profiles: Type.Array(Profile) }, STRICT);

/**
 * Whether a file name has one of a profile's `fileTypes` (".nc"; compared without case). The
 * file browser offers "Open in" by it, and the daemon checks it again.
 */
export function matchesFileType(name: string, fileTypes: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return fileTypes.some(t => lower.endsWith(t.toLowerCase()) && lower.length > t.length);
}

export const SessionState = Type.Union([
  Type.Literal('starting'),
  Type.Literal('running'),
  Type.Literal('stopping'),
  Type.Literal('exited'),
  Type.Literal('failed')
]);

/** Whether a session holds processes: starting or running (it counts against the limit). */
export function isLive(s: { state: SessionState }): boolean {
  return s.state === 'starting' || s.state === 'running';
}

/** Why a session ended. `replaced` names the session that took its place. */
export const ExitReason = Type.Object(
  {
    code: Type.Union([
      Type.Literal('stopped'),
      Type.Literal('replaced'),
      Type.Literal('xstartup-exited'),
      Type.Literal('xserver-exited'),
      Type.Literal('start-failed'),
      Type.Literal('idle'),
      Type.Literal('daemon-shutdown')
    ]),
    message: Type.String(),
    replacedBy: Type.Optional(
      Type.Object({ session: SessionId, profile: ProfileId, title: Type.String() }, STRICT)
    )
  },
  STRICT
);

export const Session = Type.Object(
  {
    id: SessionId,
    profile: ProfileId,
    title: Type.String(),
    state: SessionState,
    width: Type.Integer(),
    height: Type.Integer(),
    startedAt: Type.String({ format: 'date-time' }),
    /** The file the application was given ("Open in"), relative to the Jupyter root. */
    open: Type.Optional(Type.String()),
    endedAt: Type.Optional(Type.String({ format: 'date-time' })),
    exit: Type.Optional(ExitReason),
    /** Why the last attempt to open the desktop's stream failed before reaching it, if it did. */
    connectProblem: Type.Optional(Type.String()),
    /**
     * When a tab last sent it keys, a mouse button or clipboard text (a pointer that only
     * moves, or the clipboard's capabilities exchange, does not count); absent if none did. A desktop that had such input may hold
     * unsaved work: ending it is asked first.
     */
    lastInputAt: Type.Optional(Type.String({ format: 'date-time' }))
  },
  STRICT
);

export const SessionList = Type.Object(
  {
    sessions: Type.Array(Session),
    /** Desktops the user may run at once: one more start replaces the oldest. */
    maxSessions: Type.Integer({ minimum: 1 })
  },
  STRICT
);

/**
 * What the event stream (`WS api/events`, JSON text messages) carries: first a `snapshot` of
 * every session, then each `session` as it changes (started, running, stopping, ended, with
 * its exit reason), and a `heartbeat` every HEARTBEAT_MS, so that proxies keep an idle stream
 * open and a client can tell a silent stream from a dead one. A client that reconnects gets a
 * new snapshot: nothing is missed across a drop or a daemon restart.
 */
export const SessionEvent = Type.Union([
  Type.Object({ type: Type.Literal('snapshot'), sessions: Type.Array(Session) }, STRICT),
  Type.Object({ type: Type.Literal('session'), session: Session }, STRICT),
  Type.Object({ type: Type.Literal('heartbeat') }, STRICT)
]);

/** How often the event stream sends a heartbeat. */
export const HEARTBEAT_MS = 25_000;

export const StartSessionBody = Type.Object(
  {
    profile: ProfileId,
    width: Type.Optional(Type.Integer({ minimum: GEOMETRY.minWidth, maximum: GEOMETRY.maxWidth })),
    height: Type.Optional(
      Type.Integer({ minimum: GEOMETRY.minHeight, maximum: GEOMETRY.maxHeight })
    ),
    /**
     * At the session limit: true (default) stops the oldest desktop first; false answers 429.
     */
    replace: Type.Optional(Type.Boolean()),
    /**
     * "Open in": a file for the profile's application, as the Jupyter contents API names it
     * (relative to the user's Jupyter root). It must lie inside that root and have one of the
     * profile's `fileTypes`.
     */
    open: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 }))
  },
  STRICT
);

/**
 * PUT api/spare: the size the user's next desktop tab will have. The launcher asks as it shows
 * the desktop tiles, so that a click finds an X server of that size already running and costs
 * only its start script.
 */
export const SpareBody = Type.Object(
  {
    width: Type.Integer({ minimum: GEOMETRY.minWidth, maximum: GEOMETRY.maxWidth }),
    height: Type.Integer({ minimum: GEOMETRY.minHeight, maximum: GEOMETRY.maxHeight })
  },
  STRICT
);

/**
 * The X server started ahead of a click. `off`: the site turned pre-starting off
 * (c.Desktops.prestart_minutes = 0), or another Jupyter server of the user holds one;
 * `starting`, then `ready`; it ends when a start takes it or after the site's minutes unused.
 */
export const Spare = Type.Object(
  {
    state: Type.Union([Type.Literal('off'), Type.Literal('starting'), Type.Literal('ready')]),
    /** Its size once clamped to the site's limits (absent when off). */
    width: Type.Optional(Type.Integer()),
    height: Type.Optional(Type.Integer()),
    /** When it ends if no start takes it (absent when off). */
    expiresAt: Type.Optional(Type.String({ format: 'date-time' }))
  },
  STRICT
);

/**
 * A single-use pass for one connection to a session's stream over the daemon's raw RFB socket
 * (RFB_MOUNT): the client gives the session id and this as VeNCrypt Plain's username and
 * password. It is good for `expiresInMs` from its answer.
 */
export const RfbTicket = Type.Object(
  { ticket: Type.String(), expiresInMs: Type.Integer() },
  STRICT
);

export const SessionParams = Type.Object({ id: SessionId }, STRICT);
export const ProfileParams = Type.Object({ id: ProfileId }, STRICT);

export const SessionLog = Type.Object(
  {
    id: SessionId,
    /** The last lines of Xtigervnc and xstartup output. */
    text: Type.String(),
    truncated: Type.Boolean()
  },
  STRICT
);

/**
 * Every error code the daemon answers with, and its HTTP status: the one table both ends use.
 * The labextension adds codes of its own for failures on the way (`network`, `no-proxy`...).
 */
export const ERROR_STATUS = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  /** The profile's software is missing: its reason says what and where it was looked for. */
  'profile-unavailable': 409,
  /** The session exists but has no stream to open (starting, stopping or ended). */
  'not-running': 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'too-many-sessions': 429,
  /** The desktop's own start failed (its X server or start script): the session's log says why. */
  'start-failed': 500,
  internal: 500,
  /** The service cannot run on this server (no Node.js, a bad setting…): the message says why. */
  unavailable: 503
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ErrorCode = Type.Union(
  (Object.keys(ERROR_STATUS) as ErrorCode[]).map(code => Type.Literal(code))
);

/** The error code an HTTP status stands for, where the daemon has no more precise one. */
export function errorCodeFor(status: number): ErrorCode {
  if (status >= 500) {
    return 'internal';
  }
  return (
    (Object.keys(ERROR_STATUS) as ErrorCode[]).find(c => ERROR_STATUS[c] === status) ??
    'bad-request'
  );
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: ErrorCode,
        message: Type.String(),
        /** With `start-failed`: the failed session, whose log tells why. */
        session: Type.Optional(Session)
      },
      STRICT
    )
  },
  STRICT
);

export const Health = Type.Object(
  {
    ok: Type.Boolean(),
    version: Type.String(),
    sessions: Type.Integer(),
    /** Why the service cannot start desktops, when `ok` is false. */
    problem: Type.Optional(Type.String()),
    /**
     * Whether the daemon listens on a raw RFB socket that jupyter-server-proxy serves at
     * RFB_MOUNT (one WebSocket hop); without it the stream goes through `sessionRfb`.
     */
    rfbSocket: Type.Optional(Type.Boolean())
  },
  STRICT
);

/**
 * Every route of the daemon, as its router writes them (relative to the daemon root, which the
 * browser reaches as `{base_url}desktops/`). Clients fill in `:id` with routePath().
 */
export const ROUTES = {
  /** jupyter-server-proxy's readiness probe: the same answer as `health`. */
  root: '/',
  health: '/healthz',
  profiles: '/api/profiles',
  profileIcon: '/api/profiles/:id/icon',
  sessions: '/api/sessions',
  session: '/api/sessions/:id',
  sessionLog: '/api/sessions/:id/log',
  sessionRfb: '/api/sessions/:id/rfb',
  /** POST: an RfbTicket for the raw RFB socket (only where Health says `rfbSocket`). */
  sessionTicket: '/api/sessions/:id/ticket',
  /** PUT: have an X server of a size ready for the next start; DELETE: end it. */
  spare: '/api/spare',
  /** WebSocket: SessionEvent messages. */
  events: '/api/events'
} as const;

export type Route = (typeof ROUTES)[keyof typeof ROUTES];

/** A route's path for a request, relative to the daemon root, with `:id` filled in (encoded). */
export function routePath(route: Route, params: { id?: string } = {}): string {
  return route.slice(1).replace(/:id\b/, () => {
    if (params.id === undefined) {
      throw new Error(`${route} needs an id`);
    }
    return encodeURIComponent(params.id);
  });
}

/** The mount point under Jupyter's base URL (a jupyter-server-proxy entry point's name). */
export const MOUNT = 'desktops/';

/**
 * The raw RFB socket's mount point: jupyter-server-proxy's `raw_socket_proxy` entry point of
 * this name turns a WebSocket there into a plain stream to the daemon's `--rfb-socket`.
 */
export const RFB_MOUNT = 'desktops-rfb/';

export type ProfileFile = Type.Static<typeof ProfileFile>;
export type Requirement = Type.Static<typeof Requirement>;
export type Profile = Type.Static<typeof Profile>;
export type ProfileKind = Type.Static<typeof ProfileKind>;
export type ProfileList = Type.Static<typeof ProfileList>;
export type SessionState = Type.Static<typeof SessionState>;
export type ExitReason = Type.Static<typeof ExitReason>;
export type Session = Type.Static<typeof Session>;
export type SessionList = Type.Static<typeof SessionList>;
export type SessionEvent = Type.Static<typeof SessionEvent>;
export type StartSessionBody = Type.Static<typeof StartSessionBody>;
export type SessionLog = Type.Static<typeof SessionLog>;
export type Spare = Type.Static<typeof Spare>;
export type RfbTicket = Type.Static<typeof RfbTicket>;
export type SpareBody = Type.Static<typeof SpareBody>;
export type ErrorBody = Type.Static<typeof ErrorBody>;
export type Health = Type.Static<typeof Health>;
