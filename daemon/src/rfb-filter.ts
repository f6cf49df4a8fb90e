// Follows the client half of an RFB 3.3/3.7/3.8 stream just far enough to find message
// boundaries, so that SetDesktopSize can be clamped to the site maximum (an unclamped client
// can grow Xtigervnc's framebuffer to 16384x16384 and gigabytes of memory). Anything it cannot
// frame is treated as a broken client: the caller closes that one connection.

export class RfbProtocolError extends Error {}

const SET_DESKTOP_SIZE = 251;

/** Fixed sizes of client messages, by type; a function when a length field follows. */
const MESSAGE_LENGTH: Record<number, (b: Buffer, at: number) => number | undefined> = {
  0: () => 20, // SetPixelFormat
  2: (b, at) => (have(b, at, 4) ? 4 + 4 * b.readUInt16BE(at + 2) : undefined), // SetEncodings
  3: () => 10, // FramebufferUpdateRequest
  4: () => 8, // KeyEvent
  5: () => 6, // PointerEvent
  6: (b, at) => (have(b, at, 8) ? 8 + (Math.abs(b.readInt32BE(at + 4)) >>> 0) : undefined), // ClientCutText (extended when negative)
  150: () => 10, // EnableContinuousUpdates
  248: (b, at) => (have(b, at, 9) ? 9 + b.readUInt8(at + 8) : undefined), // ClientFence
  250: () => 4, // xvp
  251: (b, at) => (have(b, at, 8) ? 8 + 16 * b.readUInt8(at + 6) : undefined), // SetDesktopSize
  255: (b, at) => (have(b, at, 2) ? (b.readUInt8(at + 1) === 0 ? 12 : -1) : undefined) // QEMU extended key event
};

function have(b: Buffer, at: number, n: number): boolean {
  return b.length - at >= n;
}

export interface IRfbFilterOptions {
  maxWidth: number;
  maxHeight: number;
  /** Largest single client message accepted (clipboard text is the big one). */
  maxMessage: number;
  /** Called for each keyboard, pointer or clipboard message: what counts as activity. */
  onInput?: () => void;
}

/** KeyEvent, PointerEvent, ClientCutText, QEMU extended key event. */
const INPUT_TYPES = new Set([4, 5, 6, 255]);

export class RfbClientFilter {
  private _pending: Buffer = Buffer.alloc(0);
  /** Handshake bytes still expected before messages start; undefined until the version is read. */
  private _handshake: number | undefined;
  private _clamped = 0;

  constructor(private readonly _o: IRfbFilterOptions) {}

  /** How many SetDesktopSize requests were clamped so far. */
  get clamped(): number {
    return this._clamped;
  }

  /**
   * Takes the next chunk from the client and returns the bytes to pass on to the server,
   * holding back an incomplete trailing message. Throws RfbProtocolError on garbage.
   */
  push(chunk: Buffer): Buffer {
    const buf = this._pending.length ? Buffer.concat([this._pending, chunk]) : chunk;
    let at = 0;
    if (this._handshake === undefined) {
      if (buf.length < 12) {
        this._pending = buf;
        return Buffer.alloc(0);
      }
      const version = buf.toString('latin1', 0, 12);
      const m = /^RFB 003\.(\d{3})\n$/.exec(version);
      if (!m) {
        throw new RfbProtocolError('not an RFB client');
      }
      // 3.3: the server picks the security type, so only ClientInit (1 byte) follows.
      // 3.7/3.8: security-type choice (1 byte), then ClientInit.
      this._handshake = m[1] === '003' ? 1 : 2;
      at = 12;
    }
    while (this._handshake > 0 && at < buf.length) {
      at++;
      this._handshake--;
    }
    let end = at;
    while (this._handshake === 0 && end < buf.length) {
      const type = buf.readUInt8(end);
      const lengthOf = MESSAGE_LENGTH[type];
      if (!lengthOf) {
        throw new RfbProtocolError(`unknown client message type ${type}`);
      }
      const len = lengthOf(buf, end);
      if (len === undefined) {
        break;
      }
      if (len < 0) {
        throw new RfbProtocolError(`unknown message subtype for type ${type}`);
      }
      if (len > this._o.maxMessage) {
        throw new RfbProtocolError('client message too large');
      }
      if (buf.length - end < len) {
        break;
      }
      if (type === SET_DESKTOP_SIZE) {
        this._clamp(buf, end);
      } else if (INPUT_TYPES.has(type)) {
        this._o.onInput?.();
      }
      end += len;
    }
    this._pending = Buffer.from(buf.subarray(end));
    return buf.subarray(0, end);
  }

  /** Rewrites a SetDesktopSize in place so neither it nor any screen exceeds the maximum. */
  private _clamp(b: Buffer, at: number): void {
    const { maxWidth, maxHeight } = this._o;
    const w = b.readUInt16BE(at + 2);
    const h = b.readUInt16BE(at + 4);
    let changed = false;
    if (w > maxWidth || h > maxHeight) {
      b.writeUInt16BE(Math.min(w, maxWidth), at + 2);
      b.writeUInt16BE(Math.min(h, maxHeight), at + 4);
      changed = true;
    }
    const screens = b.readUInt8(at + 6);
    for (let i = 0; i < screens; i++) {
      const s = at + 8 + 16 * i;
      const x = Math.min(b.readUInt16BE(s + 4), maxWidth - 1);
      const y = Math.min(b.readUInt16BE(s + 6), maxHeight - 1);
      const sw = Math.min(b.readUInt16BE(s + 8), maxWidth - x);
      const sh = Math.min(b.readUInt16BE(s + 10), maxHeight - y);
      if (
        x !== b.readUInt16BE(s + 4) ||
        y !== b.readUInt16BE(s + 6) ||
        sw !== b.readUInt16BE(s + 8) ||
        sh !== b.readUInt16BE(s + 10)
      ) {
        b.writeUInt16BE(x, s + 4);
        b.writeUInt16BE(y, s + 6);
        b.writeUInt16BE(sw, s + 8);
        b.writeUInt16BE(sh, s + 10);
        changed = true;
      }
    }
    if (changed) {
      this._clamped++;
    }
  }
}
