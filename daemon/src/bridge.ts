// The RFB bridge: one WebSocket <-> one new connection to a session's RFB unix socket. Binary
// frames both ways, bounded buffers (a stalled browser pauses the X server's socket, not our
// memory), and the client half filtered by RfbClientFilter.
import { connect, type Socket } from 'node:net';
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
  onInput?: () => void;
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

export function bridge(ws: WebSocket, socketPath: string, o: IBridgeOptions): Socket {
  const high = o.highWaterMark ?? 1 << 20;
  const maxFrame = o.maxFrame ?? 256 * 1024;
  const filter = new RfbClientFilter(o);
  const rfb = connect(socketPath);
  let closed = false;

  const end = (code: number, reason: string): void => {
    if (closed) {
      return;
    }
    closed = true;
    rfb.destroy();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, reason);
    }
  };

  rfb.on('data', (data: Buffer) => {
    for (let at = 0; at < data.length; at += maxFrame) {
      ws.send(data.subarray(at, at + maxFrame), { binary: true }, err => {
        if (err) {
          end(CLOSE.going, 'send failed');
        } else if (rfb.isPaused() && ws.bufferedAmount < high / 2) {
          rfb.resume();
        }
      });
    }
    if (ws.bufferedAmount > high) {
      rfb.pause();
    }
  });
  rfb.on('drain', () => ws.resume());
  rfb.on('error', () => end(CLOSE.unreachable, 'desktop unreachable'));
  rfb.on('close', () => end(CLOSE.ended, 'desktop closed the connection'));

  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      return end(CLOSE.protocol, 'binary frames only');
    }
    try {
      const out = filter.push(toBuffer(data));
      if (out.length && !rfb.write(out)) {
        ws.pause();
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
    rfb.destroy();
  });
  ws.on('error', () => end(CLOSE.going, 'websocket error'));
  return rfb;
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
