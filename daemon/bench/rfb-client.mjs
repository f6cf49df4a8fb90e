// A small RFB client for the benchmarks: enough of the protocol to count frames and bytes as
// noVNC would receive them (Tight at noVNC's default quality and compression, or raw), to
// time input round trips and, with raw, to keep the pixels of the screen. It decodes nothing
// it does not need: Tight rectangles are measured, not inflated.
//
// Transports: a unix socket (the desktop's own `rfb.sock`), or a WebSocket (the daemon's
// bridge, `ws+unix:` over its socket; or websockify's).
import { connect } from 'node:net';
import WebSocket from 'ws';

export const ENC = {
  raw: 0,
  copyRect: 1,
  tight: 7,
  desktopSize: -223,
  lastRect: -224,
  extendedDesktopSize: -308,
  fence: -312,
  continuousUpdates: -313,
  /** noVNC's defaults: JPEG quality 6, compression level 2. */
  quality6: -32 + 6,
  compress2: -256 + 2
};

const FENCE_REQUEST = 1 << 31;

/** A byte queue that awaits what has not arrived yet, without copying what it skips. */
class Reader {
  constructor() {
    this.chunks = [];
    this.length = 0;
    this.wanted = 0;
    this.wake = null;
    this.failure = null;
  }

  push(buf) {
    this.chunks.push(buf);
    this.length += buf.length;
    if (this.wake && this.length >= this.wanted) {
      const w = this.wake;
      this.wake = null;
      w();
    }
  }

  fail(err) {
    this.failure = err;
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
  }

  async _need(n) {
    while (this.length < n) {
      if (this.failure) {
        throw this.failure;
      }
      this.wanted = n;
      await new Promise(r => (this.wake = r));
    }
  }

  /** The next n bytes (n > 0), as one buffer. */
  async read(n) {
    await this._need(n);
    const first = this.chunks[0];
    let out;
    if (first.length >= n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
      if (!this.chunks[0].length) {
        this.chunks.shift();
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0];
        const take = Math.min(c.length, n - at);
        c.copy(out, at, 0, take);
        at += take;
        if (take === c.length) {
          this.chunks.shift();
        } else {
          this.chunks[0] = c.subarray(take);
        }
      }
    }
    this.length -= n;
    return out;
  }

  /** Drops the next n bytes as they come (n may exceed what is buffered). */
  async skip(n) {
    while (n > 0) {
      await this._need(1);
      const c = this.chunks[0];
      const take = Math.min(c.length, n);
      if (take === c.length) {
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(take);
      }
      this.length -= take;
      n -= take;
    }
  }

  async u8() {
    return (await this.read(1))[0];
  }

  async u16() {
    return (await this.read(2)).readUInt16BE(0);
  }

  async u32() {
    return (await this.read(4)).readUInt32BE(0);
  }
}

/**
 * Opens the transport, handing each chunk to `onData` from the first (the server's greeting
 * can come with the WebSocket's 101, before anyone could subscribe after `open`), and its
 * end to `onEnd`; resolves with { write(buf), close() }.
 */
function open(target, onData, onEnd) {
  return new Promise((resolve, reject) => {
    if (target.unix) {
      const sock = connect(target.unix);
      sock.on('data', onData);
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        sock.on('close', () => onEnd(new Error('the RFB socket closed')));
        sock.on('error', onEnd);
        resolve({ write: b => sock.write(b), close: () => sock.destroy() });
      });
      return;
    }
    const ws = new WebSocket(target.ws, {
      headers: target.headers ?? {},
      perMessageDeflate: false
    });
    ws.binaryType = 'nodebuffer';
    ws.on('message', onData);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`the WebSocket was refused: ${res.statusCode}`))
    );
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('close', (code, why) => onEnd(new Error(`the WebSocket closed: ${code} ${why}`)));
      ws.on('error', onEnd);
      resolve({ write: b => ws.send(b), close: () => ws.terminate() });
    });
  });
}

/** VeNCrypt's choice of Plain (256), then Plain's lengths, username and password. */
export function plainCredentials(user, password) {
  const u = Buffer.from(user);
  const p = Buffer.from(password);
  const head = Buffer.alloc(12);
  head.writeUInt32BE(256, 0);
  head.writeUInt32BE(u.length, 4);
  head.writeUInt32BE(p.length, 8);
  return Buffer.concat([head, u, p]);
}

export class RfbClient {
  /**
   * target: { unix: path } or { ws: url, headers }, with `credentials` where the server asks
   * for them. options:
   *  - encoding: 'tight' (noVNC's defaults) or 'raw';
   *  - continuous: ask for continuous updates as noVNC does, when the server offers them
   *    (default true); else one FramebufferUpdateRequest per frame;
   *  - keepPixels: keep the screen's pixels (raw only), for `pixel()`;
   *  - credentials: { username, password } for VeNCrypt Plain (the daemon's raw RFB socket).
   */
  static async connect(target, options = {}) {
    const c = new RfbClient({ credentials: target.credentials, ...options });
    c.transport = await open(
      target,
      b => c.reader.push(b),
      err => c.reader.fail(err)
    );
    await c._handshake();
    return c;
  }

  constructor(options) {
    this.o = { encoding: 'tight', continuous: true, keepPixels: false, ...options };
    this.reader = new Reader();
    /** Bytes of every FramebufferUpdate so far (headers included). */
    this.bytes = 0;
    this.frames = 0;
    this.listeners = new Set();
    /** Resolves with the first FramebufferUpdate; `firstFrameAt` is when it was complete. */
    this.firstFrame = new Promise((resolve, reject) => {
      this._first = resolve;
      this._firstFailed = reject;
    });
    this.firstFrame.catch(() => undefined);
  }

  /** VeNCrypt 0.2, subtype Plain (the daemon's raw RFB socket: a session id and a ticket). */
  async _vencryptPlain({ username, password }) {
    const r = this.reader;
    this.transport.write(Buffer.from([19]));
    await r.read(2);
    this.transport.write(Buffer.from([0, 2]));
    if ((await r.u8()) !== 0) {
      throw new Error('VeNCrypt 0.2 refused');
    }
    const subtypes = await r.read(4 * (await r.u8()));
    if (subtypes.readUInt32BE(0) !== 256) {
      throw new Error('no VeNCrypt Plain');
    }
    this.transport.write(plainCredentials(username, password));
  }

  async _handshake() {
    const r = this.reader;
    const version = (await r.read(12)).toString('latin1');
    if (!/^RFB \d{3}\.\d{3}\n$/.test(version)) {
      throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
    }
    this.transport.write(Buffer.from('RFB 003.008\n', 'latin1'));
    const n = await r.u8();
    if (n === 0) {
      const len = await r.u32();
      throw new Error(`refused: ${(await r.read(len)).toString()}`);
    }
    const types = [...(await r.read(n))];
    const cred = this.o.credentials;
    if (cred && types.includes(19)) {
      await this._vencryptPlain(cred);
    } else if (types.includes(1)) {
      this.transport.write(Buffer.from([1]));
    } else {
      throw new Error(`no security type None among ${types.join(', ')}`);
    }
    if ((await r.u32()) !== 0) {
      throw new Error(`security failed: ${(await r.read(await r.u32())).toString()}`);
    }
    this.transport.write(Buffer.from([1])); // ClientInit: shared
    this.width = await r.u16();
    this.height = await r.u16();
    await r.skip(16); // the server's pixel format: we set ours
    const nameLen = await r.u32();
    this.name = nameLen ? (await r.read(nameLen)).toString() : '';
    // 32 bpp, depth 24, little endian, true colour, 8 bits each: red 16, green 8, blue 0.
    const pf = Buffer.alloc(20);
    pf.writeUInt8(0, 0);
    pf.writeUInt8(32, 4);
    pf.writeUInt8(24, 5);
    pf.writeUInt8(0, 6);
    pf.writeUInt8(1, 7);
    pf.writeUInt16BE(255, 8);
    pf.writeUInt16BE(255, 10);
    pf.writeUInt16BE(255, 12);
    pf.writeUInt8(16, 14);
    pf.writeUInt8(8, 15);
    pf.writeUInt8(0, 16);
    this.transport.write(pf);
    const encs =
      this.o.encoding === 'raw'
        ? [ENC.raw]
        : [ENC.copyRect, ENC.tight, ENC.raw, ENC.quality6, ENC.compress2];
    encs.push(ENC.desktopSize, ENC.lastRect, ENC.extendedDesktopSize);
    if (this.o.continuous) {
      encs.push(ENC.fence, ENC.continuousUpdates);
    }
    const se = Buffer.alloc(4 + 4 * encs.length);
    se.writeUInt8(2, 0);
    se.writeUInt16BE(encs.length, 2);
    encs.forEach((e, i) => se.writeInt32BE(e, 4 + 4 * i));
    this.transport.write(se);
    if (this.o.keepPixels) {
      this.pixels = Buffer.alloc(this.width * this.height * 4);
    }
    this.request(false);
    this.loop = this._loop().catch(err => {
      this.error = err;
      this._firstFailed(err);
      for (const l of this.listeners) {
        l(null);
      }
    });
  }

  /** FramebufferUpdateRequest for the whole screen. */
  request(incremental = true) {
    const b = Buffer.alloc(10);
    b.writeUInt8(3, 0);
    b.writeUInt8(incremental ? 1 : 0, 1);
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    this.transport.write(b);
  }

  pointer(x, y, mask = 0) {
    const b = Buffer.alloc(6);
    b.writeUInt8(5, 0);
    b.writeUInt8(mask, 1);
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    this.transport.write(b);
  }

  /** Calls fn(frame) after each complete FramebufferUpdate; returns the unsubscriber. */
  onFrame(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The next complete FramebufferUpdate after now (optionally one that passes `pred`). */
  nextFrame(pred = () => true, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no frame in ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onFrame(f => {
        if (f === null) {
          clearTimeout(timer);
          off();
          reject(this.error);
        } else if (pred(f)) {
          clearTimeout(timer);
          off();
          resolve(f);
        }
      });
    });
  }

  /** The pixel at (x, y) as 0xRRGGBB (keepPixels only). */
  pixel(x, y) {
    return this.pixels.readUInt32LE((y * this.width + x) * 4) & 0xffffff;
  }

  close() {
    this.transport.close();
  }

  async _loop() {
    const r = this.reader;
    for (;;) {
      const type = await r.u8();
      if (type === 0) {
        await this._update();
      } else if (type === 1) {
        await r.skip(3);
        const n = await r.u16();
        await r.skip(6 * n);
      } else if (type === 2) {
        // Bell
      } else if (type === 3) {
        await r.skip(3);
        await r.skip(await r.u32());
      } else if (type === 150) {
        // EndOfContinuousUpdates: the server offers them; ask, as noVNC does.
        if (this.o.continuous && !this.continuous) {
          this.continuous = true;
          const b = Buffer.alloc(10);
          b.writeUInt8(150, 0);
          b.writeUInt8(1, 1);
          b.writeUInt16BE(this.width, 6);
          b.writeUInt16BE(this.height, 8);
          this.transport.write(b);
        }
      } else if (type === 248) {
        await r.skip(3);
        const flags = await r.u32();
        const len = await r.u8();
        const payload = len ? await r.read(len) : Buffer.alloc(0);
        if (flags & FENCE_REQUEST) {
          const b = Buffer.alloc(9 + len);
          b.writeUInt8(248, 0);
          b.writeUInt32BE((flags & 0x7) >>> 0, 4);
          b.writeUInt8(len, 8);
          payload.copy(b, 9);
          this.transport.write(b);
        }
      } else {
        throw new Error(`unknown server message ${type}`);
      }
    }
  }

  async _update() {
    const r = this.reader;
    await r.skip(1);
    const n = await r.u16();
    let bytes = 4;
    let area = 0;
    for (let i = 0; i < n; i++) {
      const h = await r.read(12);
      const x = h.readUInt16BE(0);
      const y = h.readUInt16BE(2);
      const w = h.readUInt16BE(4);
      const ht = h.readUInt16BE(6);
      const enc = h.readInt32BE(8);
      bytes += 12;
      if (enc === ENC.lastRect) {
        break;
      }
      if (enc === ENC.raw) {
        const size = w * ht * 4;
        if (this.pixels) {
          for (let row = 0; row < ht; row++) {
            const line = await r.read(w * 4);
            line.copy(this.pixels, ((y + row) * this.width + x) * 4);
          }
        } else {
          await r.skip(size);
        }
        bytes += size;
        area += w * ht;
      } else if (enc === ENC.copyRect) {
        await r.skip(4);
        bytes += 4;
        area += w * ht;
      } else if (enc === ENC.tight) {
        bytes += await this._tight(w, ht);
        area += w * ht;
      } else if (enc === ENC.desktopSize) {
        this._resize(w, ht);
      } else if (enc === ENC.extendedDesktopSize) {
        const screens = await r.u8();
        await r.skip(3 + 16 * screens);
        bytes += 4 + 16 * screens;
        this._resize(w, ht);
      } else {
        throw new Error(`unexpected encoding ${enc}`);
      }
    }
    this.bytes += bytes;
    this.frames += 1;
    if (!this.continuous) {
      this.request(true);
    }
    const frame = { t: performance.now(), bytes, area, rects: n };
    if (this.firstFrameAt === undefined) {
      this.firstFrameAt = frame.t;
      this._first(frame);
    }
    for (const l of this.listeners) {
      l(frame);
    }
  }

  _resize(w, h) {
    this.width = w;
    this.height = h;
    if (this.pixels) {
      this.pixels = Buffer.alloc(w * h * 4);
    }
  }

  /** Skips one Tight rectangle (32 bpp depth 24: pixels are 3 bytes); returns its size. */
  async _tight(w, h) {
    const r = this.reader;
    const ctl = await r.u8();
    const kind = ctl >> 4;
    if (kind === 8) {
      await r.skip(3);
      return 4;
    }
    if (kind === 9) {
      const [len, lenBytes] = await this._compact();
      await r.skip(len);
      return 1 + lenBytes + len;
    }
    if (kind & 8) {
      throw new Error(`unexpected Tight compression ${kind}`);
    }
    let size = 1;
    let rowBytes = w * 3;
    if (kind & 4) {
      const filter = await r.u8();
      size += 1;
      if (filter === 1) {
        const colours = (await r.u8()) + 1;
        await r.skip(colours * 3);
        size += 1 + colours * 3;
        rowBytes = colours === 2 ? Math.ceil(w / 8) : w;
      }
    }
    const raw = rowBytes * h;
    if (raw < 12) {
      await r.skip(raw);
      return size + raw;
    }
    const [len, lenBytes] = await this._compact();
    await r.skip(len);
    return size + lenBytes + len;
  }

  /** Tight's compact length: 1 to 3 bytes, 7 bits each. */
  async _compact() {
    let len = 0;
    for (let i = 0; i < 3; i++) {
      const b = await this.reader.u8();
      len |= (i === 2 ? b : b & 0x7f) << (7 * i);
      if (i === 2 || !(b & 0x80)) {
        return [len, i + 1];
      }
    }
    return [len, 3];
  }
}
