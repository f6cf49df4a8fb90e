// The one way the frontend talks to the daemon: every REST call goes through requestAPI(),
// which turns the proxy's and the daemon's failures into sentences a user can act on.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import {
  MOUNT,
  RFB_MOUNT,
  ROUTES,
  routePath,
  type ErrorBody,
  type Health,
  type RfbTicket,
  type Profile,
  type ProfileList,
  type Session,
  type SessionList,
  type SessionLog,
  type Spare
} from '@jupyterlab-desktops/protocol';

/** A failed call, with the daemon's error code when it answered. */
export class DesktopsError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly session?: Session
  ) {
    super(message);
  }
}

export class DesktopsAPI {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** Absolute URL of a daemon route under `{base_url}desktops/`. */
  url(path: string): string {
    return URLExt.join(this.settings.baseUrl, MOUNT, path);
  }

  /** WebSocket URL of a session's RFB stream, carrying the token where Lab uses one. */
  rfbUrl(id: string): string {
    return this._wsUrl(routePath(ROUTES.sessionRfb, { id }));
  }

  /**
   * WebSocket URL of the stream in one hop: jupyter-server-proxy's raw socket entry to the
   * daemon, where a ticket (`ticket()`) says which desktop. Only where `rawRfb()` says so.
   */
  rawRfbUrl(): string {
    return this._wsUrl('', RFB_MOUNT);
  }

  /** WebSocket URL of the event stream (every session's changes). */
  eventsUrl(): string {
    return this._wsUrl(routePath(ROUTES.events));
  }

  /**
   * Whether streams go through the raw RFB socket (one WebSocket hop) rather than the
   * daemon's WebSocket route: the daemon says whether it has one (behind nginx or a stand-in
   * it has not), asked once per page; `noRawRfb()` turns it off for the page.
   */
  rawRfb(): Promise<boolean> {
    return (this._raw ??= this.request<Health>(routePath(ROUTES.health)).then(
      h => h.rfbSocket === true,
      () => {
        this._raw = undefined; // asked again next time: the service may be starting
        return false;
      }
    ));
  }

  /** A raw connection that never got through: the page's streams take the WebSocket route. */
  noRawRfb(): void {
    this._raw = Promise.resolve(false);
  }

  /** A single-use ticket for one connection to `id`'s stream over the raw RFB socket. */
  ticket(id: string): Promise<RfbTicket> {
    return this.request<RfbTicket>(routePath(ROUTES.sessionTicket, { id }), { method: 'POST' });
  }

  private _raw: Promise<boolean> | undefined;

  private _wsUrl(path: string, mount = MOUNT): string {
    const url = URLExt.join(this.settings.wsUrl, mount, path);
    if (this.settings.token && this.settings.appendToken) {
      return `${url}?token=${encodeURIComponent(this.settings.token)}`;
    }
    return url;
  }

  async profiles(): Promise<Profile[]> {
    return (await this.request<ProfileList>(routePath(ROUTES.profiles))).profiles;
  }

  async sessions(): Promise<Session[]> {
    return (await this.sessionList()).sessions;
  }

  /** The sessions and the limit on how many may run at once. */
  sessionList(): Promise<SessionList> {
    return this.request<SessionList>(routePath(ROUTES.sessions));
  }

  session(id: string): Promise<Session> {
    return this.request<Session>(routePath(ROUTES.session, { id }));
  }

  /**
   * Starts a desktop: sized to the tab, and with a file for its application ("Open in").
   * Answers at once with the `starting` session; the event stream tells how it goes on.
   */
  start(
    profile: string,
    options: { width?: number; height?: number; open?: string } = {}
  ): Promise<Session> {
    return this.request<Session>(routePath(ROUTES.sessions), {
      method: 'POST',
      body: JSON.stringify({ profile, ...options })
    });
  }

  /** Has an X server of the next tab's size started ahead of its click (see prestart.ts). */
  prepare(size: { width: number; height: number }): Promise<Spare> {
    return this.request<Spare>(routePath(ROUTES.spare), {
      method: 'PUT',
      body: JSON.stringify(size)
    });
  }

  stop(id: string): Promise<Session> {
    return this.request<Session>(routePath(ROUTES.session, { id }), { method: 'DELETE' });
  }

  log(id: string): Promise<SessionLog> {
    return this.request<SessionLog>(routePath(ROUTES.sessionLog, { id }));
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    if (init.body) {
      headers.set('Content-Type', 'application/json');
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.url(path),
        { ...init, headers },
        this.settings
      );
    } catch (err) {
      throw new DesktopsError(
        `The Jupyter server could not be reached: ${(err as Error).message}`,
        0,
        'network'
      );
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (response.ok && data !== undefined) {
      return data as T;
    }
    const error = (data as ErrorBody | undefined)?.error;
    if (error) {
      throw new DesktopsError(error.message, response.status, error.code, error.session);
    }
    throw Private.proxyError(response.status);
  }
}

/**
 * Failures that a later attempt may not have: no network, a proxy or a server restarting. Not
 * the service's own answers (an `unavailable` service says why it cannot run).
 */
export function isTransient(err: DesktopsError): boolean {
  return err.code === 'network' || (err.code === 'daemon-unreachable' && err.status >= 502);
}

namespace Private {
  /** The daemon did not answer: say which part of the path is missing. */
  export function proxyError(status: number): DesktopsError {
    if (status === 404) {
      return new DesktopsError(
        'The desktops service is not available on this server: jupyter-server-proxy is not ' +
          'installed or not enabled, or the jupyterlab-desktops package is missing. ' +
          'Ask your administrator to install jupyterlab-desktops with its dependencies.',
        status,
        'no-proxy'
      );
    }
    if (status === 401 || status === 403) {
      return new DesktopsError(
        'You are not logged in to this Jupyter server any more: reload the page to log in again.',
        status,
        'unauthorized'
      );
    }
    return new DesktopsError(
      `The desktops service did not answer (HTTP ${status}). The Jupyter server's log says ` +
        'why; `jupyter desktops doctor`, run on the server, checks what it needs.',
      status,
      'daemon-unreachable'
    );
  }
}
