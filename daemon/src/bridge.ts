// The RFB bridge: one WebSocket <-> one new connection to a session's RFB unix socket. Binary
// frames both ways, bounded buffers (a stalled browser pauses the X server's socket, not our
// memory), the client half filtered by RfbClientFilter, and a connect the socket's full listen
// queue turns away tried again for a few seconds.
import { connect, type OnReadOpts, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { RfbClientFilter, RfbProtocolError } from './rfb-filter.js';

export interface IBridgeOptions {
  maxWidth: number;
  maxHeight: number;
  maxMessage: number;
  /** Pause reading from the RFB socket while this many bytes wait to reach the browser. */
  highWaterMark?: number;
  /** Largest WebSocket message sent to the browser (jupyter-server-proxy drops >10 MiB). */
  maxFrame?: number;
  /** Called on each input message from the client (see RfbClientFilter). */
  onInput?: (work: boolean) => void;
}

/**
 * Close codes the widget can tell apart (the proxy may replace them: docs/architecture.md,
 * section 2).
 */
export const CLOSE = {
  going: 1001,
  protocol: 1002,
  ended: 4000,
  unreachable: 4001
} as const;

/**
 * Xtigervnc listens with a backlog of 5, so a burst of tabs (or a reload of many) against a
 * busy server finds its queue full: on a unix socket that is EAGAIN at once, not a wait. Each
 * retry waits twice as long as the last, up to MAX_RETRY_DELAY_MS, from a random half to the
 * whole of it, so that a burst spreads out instead of meeting the queue again all together.
 */
const FIRST_RETRY_DELAY_MS = 5;
const MAX_RETRY_DELAY_MS = 200;
const CONNECT_RETRY_MS = 5000;

/**
 * Connects to a desktop's RFB socket, trying again while its listen queue is full, for up to
 * CONNECT_RETRY_MS. Calls `done` once: with the socket, or with an error. Returns a cancel
 * that ends the attempt (and any socket it made).
 */
export function connectDesktop(
  socketPath: string,
  done: (err: Error | undefined, s?: Socket) => void,
  onread?: OnReadOpts
): () => void {
  const giveUpAt = Date.now() + CONNECT_RETRY_MS;
  let retry: NodeJS.Timeout | undefined;
  let current: Socket | undefined;
  let over = false;
  const attempt = (delay: number): void => {
    const s = (current = connect({ path: socketPath, onread }));
    s.once('connect', () => {
      if (!over) {
        over = true;
        done(undefined, s);
      }
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (over) {
        return;
      }
      s.destroy();
      if (err.code !== 'EAGAIN' || Date.now() >= giveUpAt) {
        over = true;
        done(err);
        return;
      }
      retry = setTimeout(
        () => attempt(Math.min(delay * 2, MAX_RETRY_DELAY_MS)),
        delay * (0.5 + Math.random() / 2)
      );
    });
  };
  attempt(FIRST_RETRY_DELAY_MS);
  return () => {
    if (!over) {
      over = true;
      clearTimeout(retry);
      current?.destroy();
    }
  };
}

export function bridge(ws: WebSocket, socketPath: string, o: IBridgeOptions): void {
  const high = o.highWaterMark ?? 1 << 20;
  const maxFrame = o.maxFrame ?? 256 * 1024;
  const filter = new RfbClientFilter(o);
  let rfb: Socket | undefined;
  /** The client's filtered bytes from before the desktop took the connection. */
  let early: Buffer[] | undefined = [];
  let closed = false;

  const end = (code: number, reason: string): void => {
    if (closed) {
      return;
    }
    closed = true;
    cancel();
    rfb?.destroy();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, reason);
    }
  };

  const send = (out: Buffer): void => {
    if (closed) {
      return;
    }
    if (early) {
      early.push(out);
    } else if (!rfb!.write(out)) {
      ws.pause();
    }
  };

  const connected = (s: Socket): void => {
    if (closed) {
      s.destroy();
      return;
    }
    rfb = s;
    s.on('data', (data: Buffer) => {
      for (let at = 0; at < data.length; at += maxFrame) {
        ws.send(data.subarray(at, at + maxFrame), { binary: true }, err => {
          if (err) {
            end(CLOSE.going, 'send failed');
          } else if (s.isPaused() && ws.bufferedAmount < high / 2) {
            s.resume();
          }
        });
      }
      if (ws.bufferedAmount > high) {
        s.pause();
      }
    });
    s.on('drain', () => ws.resume());
    s.on('close', () => end(CLOSE.ended, 'desktop closed the connection'));
    const held = early!;
    early = undefined;
    for (const out of held) {
      send(out);
    }
    if (!s.writableNeedDrain) {
      ws.resume();
    }
  };

  // Until the desktop takes the connection, what the client sends waits in `early`, the
  // WebSocket paused so that it holds no more than was read already (a client speaks after the
  // server's greeting anyway).
  ws.pause();
  const cancel = connectDesktop(socketPath, (err, s) => {
    if (err) {
      end(CLOSE.unreachable, 'desktop unreachable');
    } else {
      connected(s!);
    }
  });

  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      return end(CLOSE.protocol, 'binary frames only');
    }
    try {
      const out = filter.push(toBuffer(data));
      if (out.length) {
        send(out);
      }
    } catch (err) {
      if (err instanceof RfbProtocolError) {
        end(CLOSE.protocol, err.message);
      } else {
        throw err;
      }
    }
  });
  ws.on('close', () => {
    closed = true;
    cancel();
    rfb?.destroy();
  });
  ws.on('error', () => end(CLOSE.going, 'websocket error'));
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) {
    return data;
  }
  if (Array.isArray(data)) {
    return Buffer.concat(data);
  }
  return Buffer.from(data);
}
