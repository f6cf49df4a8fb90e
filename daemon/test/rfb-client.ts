// A minimal RFB client over the daemon's WebSocket route or its raw RFB socket, for tests
// only: enough of RFB 3.8 (security type None, or VeNCrypt Plain on the raw socket) to reach
// ServerInit and read one FramebufferUpdate.
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
// The benchmark's client (plain Node) has the one builder of VeNCrypt Plain credentials.
import { plainCredentials } from '../bench/rfb-client.mjs';

export { plainCredentials };

export class RfbTestClient {
  private _buf = Buffer.alloc(0);
  private _waiters: (() => void)[] = [];
  closed?: { code: number; reason: string };
  /** The WebSocket, on the WebSocket route. */
  readonly ws: WebSocket;

  constructor(readonly transport: WebSocket | Socket) {
    this.ws = transport as WebSocket;
    const data = (d: Buffer): void => {
      this._buf = Buffer.concat([this._buf, d]);
      this._wake();
    };
    if (transport instanceof WebSocket) {
      transport.on('message', data);
      transport.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        this._wake();
      });
    } else {
      transport.on('data', data);
      transport.on('error', () => undefined);
      transport.on('close', () => {
        this.closed = { code: 0, reason: 'socket closed' };
        this._wake();
      });
    }
  }

  /** A client of the daemon's raw RFB socket (rfb-gate.ts). */
  static openRaw(socketPath: string): Promise<RfbTestClient> {
    const s = connect(socketPath);
    return new Promise((resolve, reject) => {
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RfbTestClient(s));
      });
      s.once('error', reject);
    });
  }

  static open(
    socketPath: string,
    sessionId: string,
    headers: Record<string, string> = {}
  ): Promise<RfbTestClient> {
    const ws = new WebSocket(`ws+unix://${socketPath}:/api/sessions/${sessionId}/rfb`, {
      headers,
      perMessageDeflate: false
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RfbTestClient(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`))
      );
      ws.once('error', reject);
    });
  }

  private _wake(): void {
    for (const w of this._waiters.splice(0)) {
      w();
    }
  }

  async read(n: number, timeoutMs = 10000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this._buf.length < n) {
      if (this.closed) {
        throw new Error(`connection closed (${this.closed.code} ${this.closed.reason})`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out reading ${n} bytes`);
      }
      // Woken by data or the close, or at the deadline.
      await new Promise<void>(r => {
        const timer = setTimeout(r, left);
        this._waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    const out = this._buf.subarray(0, n);
    this._buf = this._buf.subarray(n);
    return out;
  }

  send(b: Buffer | number[]): void {
    if (this.transport instanceof WebSocket) {
      this.transport.send(Buffer.from(b));
    } else {
      this.transport.write(Buffer.from(b));
    }
  }

  /**
   * The raw socket's handshake up to its security result: 3.8, VeNCrypt 0.2, Plain with
   * `user` and `password`. Returns the result: 0, or the daemon's reason for refusing.
   */
  async vencryptPlain(user: string, password: string): Promise<0 | string> {
    const version = (await this.read(12)).toString('latin1');
    if (version !== 'RFB 003.008\n') {
      throw new Error(`unexpected version ${JSON.stringify(version)}`);
    }
    this.send(Buffer.from('RFB 003.008\n'));
    const types = [...(await this.read((await this.read(1))[0]))];
    if (types.join() !== '19') {
      throw new Error(`security types ${types}, not VeNCrypt alone`);
    }
    this.send([19]);
    const v = await this.read(2);
    this.send([0, 2]);
    const ack = (await this.read(1))[0];
    const subtypes = await this.read(4 * (await this.read(1))[0]);
    if (v.join() !== '0,2' || ack !== 0 || subtypes.readUInt32BE(0) !== 256) {
      throw new Error(`VeNCrypt ${v.join('.')}, ack ${ack}, subtypes ${subtypes.toString('hex')}`);
    }
    this.send(plainCredentials(user, password));
    if ((await this.read(4)).readUInt32BE(0) === 0) {
      return 0;
    }
    return (await this.read((await this.read(4)).readUInt32BE(0))).toString('utf8');
  }

  /** ClientInit (shared) and ServerInit, after a security result of 0. */
  async init(): Promise<{ width: number; height: number; name: string }> {
    this.send([1]);
    const init = await this.read(24);
    const name = (await this.read(init.readUInt32BE(20))).toString('utf8');
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
  }

  /** Version, security None, ClientInit; returns the framebuffer size and desktop name. */
  async handshake(): Promise<{ width: number; height: number; name: string }> {
    const version = (await this.read(12)).toString('latin1');
    if (!/^RFB 003\.00[78]\n$/.test(version)) {
      throw new Error(`unexpected version ${JSON.stringify(version)}`);
    }
    this.send(Buffer.from('RFB 003.008\n'));
    const n = (await this.read(1))[0];
    const types = [...(await this.read(n))];
    if (!types.includes(1)) {
      throw new Error(`security None not offered: ${types}`);
    }
    this.send([1]);
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) {
      throw new Error(`security result ${result}`);
    }
    return this.init();
  }

  /**
   * The handshake as Xtigervnc frames it for a client sending `version` (12 bytes) that it reads
   * as 3.`minor`: 3.3's server names security type None itself, 3.7 and 3.8 let the client pick
   * it, only 3.8 answers with a result. `after` goes in one message with ClientInit, as a client
   * hiding something right behind the handshake would send it. Returns ServerInit's size.
   */
  async handshakeAs(
    version: Buffer,
    minor: 3 | 7 | 8,
    after: Buffer = Buffer.alloc(0)
  ): Promise<{ width: number; height: number }> {
    await this.read(12);
    this.send(version);
    if (minor === 3) {
      const type = (await this.read(4)).readUInt32BE(0);
      if (type !== 1) {
        throw new Error(`security type ${type}, not None`);
      }
    } else {
      await this.read((await this.read(1))[0]);
      this.send([1]);
      if (minor === 8 && (await this.read(4)).readUInt32BE(0) !== 0) {
        throw new Error('security failed');
      }
    }
    this.send(Buffer.concat([Buffer.from([1]), after]));
    const init = await this.read(24);
    await this.read(init.readUInt32BE(20));
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2) };
  }

  /** Asks for the whole screen in Raw encoding and reads the FramebufferUpdate header. */
  async requestFrame(
    width: number,
    height: number
  ): Promise<{ rects: number; first: { w: number; h: number; encoding: number } }> {
    this.send([2, 0, 0, 1, 0, 0, 0, 0]); // SetEncodings: Raw
    const req = Buffer.alloc(10);
    req.writeUInt8(3, 0);
    req.writeUInt16BE(width, 6);
    req.writeUInt16BE(height, 8);
    this.send(req);
    for (;;) {
      const type = (await this.read(1))[0];
      if (type === 0) {
        const head = await this.read(3);
        const rect = await this.read(12);
        return {
          rects: head.readUInt16BE(1),
          first: { w: rect.readUInt16BE(4), h: rect.readUInt16BE(6), encoding: rect.readInt32BE(8) }
        };
      }
      throw new Error(`unexpected server message ${type}`);
    }
  }

  /**
   * Reads one FramebufferUpdate whole (Raw, DesktopSize and ExtendedDesktopSize rectangles, at
   * the server's 32 bpp) and returns its rectangles' headers.
   */
  async readUpdate(): Promise<{ x: number; y: number; w: number; h: number; encoding: number }[]> {
    for (;;) {
      const type = (await this.read(1))[0];
      if (type === 2) {
        continue;
      } // Bell
      if (type === 3) {
        const len = (await this.read(7)).readUInt32BE(3);
        await this.read(len); // ServerCutText
        continue;
      }
      if (type !== 0) {
        throw new Error(`unexpected server message ${type}`);
      }
      const n = (await this.read(3)).readUInt16BE(1);
      const rects = [];
      for (let i = 0; i < n; i++) {
        const r = await this.read(12);
        const rect = {
          x: r.readUInt16BE(0),
          y: r.readUInt16BE(2),
          w: r.readUInt16BE(4),
          h: r.readUInt16BE(6),
          encoding: r.readInt32BE(8)
        };
        if (rect.encoding === 0) {
          await this.read(rect.w * rect.h * 4);
        } else if (rect.encoding === -308) {
          await this.read(4 + 16 * (await this.read(4))[0] - 4);
        } else if (rect.encoding !== -223) {
          throw new Error(`unexpected encoding ${rect.encoding}`);
        }
        rects.push(rect);
      }
      return rects;
    }
  }

  close(): void {
    if (this.transport instanceof WebSocket) {
      this.transport.close();
    } else {
      this.transport.destroy();
    }
  }
}

/** SetDesktopSize for one screen of `width` x `height`. */
export function desktopSize(width: number, height: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt8(251, 0);
  b.writeUInt16BE(width, 2);
  b.writeUInt16BE(height, 4);
  b.writeUInt8(1, 6);
  b.writeUInt16BE(width, 8 + 8);
  b.writeUInt16BE(height, 8 + 10);
  return b;
}
