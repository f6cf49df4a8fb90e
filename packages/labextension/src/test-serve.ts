// For the labextension's tests: a real daemon's sessions served on loopback TCP, as a browser
// reaches them through Jupyter, with an API client and the page's event stream. Import
// './test-dom' before this file.
import { ServerConnection } from '@jupyterlab/services';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { WebSocket as NodeWebSocket } from 'ws';
import { buildApp } from '../../../daemon/src/app';
import type { ITestDaemon } from '../../../daemon/test/helpers';
import { DesktopsAPI } from './api';
import { SessionStream } from './events';

/** The daemon's development token (Jupyter's cookie stands for it in a browser). */
export const TOKEN = 'labextension-test-token-0123456789';

export interface IServed {
  tcp: FastifyInstance;
  api: DesktopsAPI;
  events: SessionStream;
  port: number;
  /** Stops serving (the stream is left to reconnect, or disposed with `dispose`). */
  close(): Promise<void>;
  dispose(): Promise<void>;
}

/** Serves `daemon` (started with TOKEN) on loopback, on `port` if given. */
export async function serve(daemon: ITestDaemon, port = 0): Promise<IServed> {
  const tcp = await buildApp({
    profiles: daemon.profiles,
    sessions: daemon.sessions,
    token: TOKEN
  });
  await tcp.listen({ port, host: '127.0.0.1' });
  const bound = (tcp.server.address() as AddressInfo).port;
  const api = new DesktopsAPI(
    ServerConnection.makeSettings({
      baseUrl: `http://127.0.0.1:${bound}/`,
      wsUrl: `ws://127.0.0.1:${bound}/`,
      token: TOKEN,
      fetch: (...a: Parameters<typeof fetch>) => fetch(...a)
    })
  );
  const events = stream(api);
  const close = async (): Promise<void> => {
    // Open WebSockets first: a server does not close while they last.
    for (const c of tcp.websocketServer.clients) {
      c.terminate();
    }
    await tcp.close();
  };
  return {
    tcp,
    api,
    events,
    port: bound,
    close,
    async dispose() {
      events.dispose();
      await close();
    }
  };
}

/**
 * The page's event stream on a real WebSocket (happy-dom's opens nothing), sending the token
 * as a header, as no browser can: behind Jupyter, its cookie does that.
 */
export function stream(api: DesktopsAPI): SessionStream {
  class TokenWebSocket extends NodeWebSocket {
    constructor(url: string) {
      super(url, { headers: { Authorization: `token ${TOKEN}` } });
    }
  }
  return new SessionStream(() => api.eventsUrl(), {
    WebSocket: TokenWebSocket as unknown as typeof WebSocket
  });
}
