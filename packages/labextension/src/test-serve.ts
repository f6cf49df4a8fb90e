// For the labextension's tests: a real daemon's sessions served on loopback TCP, as a browser
// reaches them through Jupyter, with an API client and the page's event stream. Import
// './test-dom' before this file.
import { ServerConnection } from '@jupyterlab/services';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { RFB_MOUNT } from '@jupyterlab-desktops/protocol';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
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
export async function serve(
  daemon: ITestDaemon,
  port = 0,
  /** Whether a raw socket entry stands in front of the daemon's raw RFB socket, if it has one. */
  rawProxy = true
): Promise<IServed> {
  const tcp = await buildApp({
    profiles: daemon.profiles,
    sessions: daemon.sessions,
    tickets: daemon.tickets,
    token: TOKEN
  });
  const raw = daemon.rfbSocket && rawProxy ? rawSocketProxy(tcp, daemon.rfbSocket) : undefined;
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
    for (const c of [...tcp.websocketServer.clients, ...(raw?.clients ?? [])]) {
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

/** The page's event stream, on TokenWebSocket. */
export function stream(api: DesktopsAPI): SessionStream {
  return new SessionStream(() => api.eventsUrl(), { WebSocket: TokenWebSocket });
}

/**
 * A stand-in for jupyter-server-proxy's `raw_socket_proxy` entry (RFB_MOUNT), which cannot be
 * installed here: each WebSocket there becomes a plain stream to the daemon's raw RFB socket,
 * each binary message written as it comes and each read sent as one message, as its
 * RawSocketHandler does.
 */
function rawSocketProxy(tcp: FastifyInstance, rfbSocket: string): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  // In front of Fastify's own upgrade handling, which gets every other upgrade.
  const others = tcp.server.listeners('upgrade') as ((...a: unknown[]) => void)[];
  tcp.server.removeAllListeners('upgrade');
  tcp.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url?.split('?')[0] !== `/${RFB_MOUNT}`) {
      for (const l of others) {
        l.call(tcp.server, req, socket, head);
      }
      return;
    }
    wss.handleUpgrade(req, socket, head, ws => {
      const s = connect(rfbSocket);
      s.on('data', d => ws.send(d));
      s.on('close', () => ws.close());
      s.on('error', () => ws.close());
      ws.on('message', d => s.write(d as Buffer));
      ws.on('close', () => s.destroy());
    });
  });
  return wss;
}

/**
 * The page's WebSocket, real (happy-dom's opens nothing), sending the token as a header, as no
 * browser can: behind Jupyter, its cookie does that. A `ws` WebSocket itself, not a subclass:
 * noVNC looks for its methods on the object's own prototype.
 */
function tokenWebSocket(url: string, protocols?: string | string[]): NodeWebSocket {
  return new NodeWebSocket(url, protocols ?? [], {
    headers: { Authorization: `token ${TOKEN}` },
    perMessageDeflate: false
  });
}
// What a page's WebSocket class has, and noVNC reads as it loads.
export const TokenWebSocket = Object.assign(tokenWebSocket, {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3
}) as unknown as typeof WebSocket;
