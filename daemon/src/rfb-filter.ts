// Follows the client half of an RFB stream just far enough to find message boundaries, so that
// SetDesktopSize can be clamped to the site maximum (an unclamped client can grow Xtigervnc's
// framebuffer to 16384x16384 and gigabytes of memory). What it frames unlike the server slips
// past it, so it reads the stream as Xtigervnc 1.12 does, and it holds back only headers (and a
// SetDesktopSize whole), for a cost linear in bytes however they come. Anything it cannot
// frame is a broken client: the caller closes that one connection.

export class RfbProtocolError extends Error {}

const SET_ENCODINGS = 2;
const SET_DESKTOP_SIZE = 251;
const SECURITY_NONE = 1;
/** DesktopSize and ExtendedDesktopSize, as unsigned 32-bit numbers on the wire. */
const RESIZE_ENCODINGS = new Set([-223 >>> 0, -308 >>> 0]);

/**
 * How a client message is framed, from the first `n` bytes of it at `at` (at least one): how
 * many bytes to hold before any of it goes on (its header, or all of it to inspect it whole),
 * and its whole length, NaN until the held bytes can tell.
 */
type Framing = (b: Buffer, at: number, n: number) => [hold: number, length: number];

const whole =
  (length: number): Framing =>
  () => [length, length];

const header =
  (size: number, length: (b: Buffer, at: number) => number): Framing =>
  (b, at, n) =>
    n < size ? [size, NaN] : [size, length(b, at)];

const MESSAGES: Record<number, Framing> = {
  0: whole(20), // SetPixelFormat
  [SET_ENCODINGS]: header(4, (b, at) => 4 + 4 * b.readUInt16BE(at + 2)),
  3: whole(10), // FramebufferUpdateRequest
  4: whole(8), // KeyEvent
  5: whole(6), // PointerEvent
  6: header(8, (b, at) => 8 + Math.abs(b.readInt32BE(at + 4))), // ClientCutText (extended when negative)
  150: whole(10), // EnableContinuousUpdates
  248: header(9, (b, at) => 9 + b.readUInt8(at + 8)), // ClientFence
  250: whole(4), // xvp
  [SET_DESKTOP_SIZE]: (b, at, n) => {
    const length = n < 8 ? NaN : 8 + 16 * b.readUInt8(at + 6);
    return [n < 8 ? 8 : length, length];
  },
  // QEMU: the extended key event is its only subtype; a negative length refuses the others.
  255: (b, at, n) => (n < 2 ? [2, NaN] : b.readUInt8(at + 1) === 0 ? [12, 12] : [2, -1])
};

/** The most ever held: a SetDesktopSize with 255 screens. */
const MAX_HOLD = 8 + 16 * 255;

/** KeyEvent, PointerEvent, ClientCutText, QEMU extended key event. */
const INPUT_TYPES = new Set([4, 5, 6, 255]);
const POINTER_EVENT = 5;
const CLIENT_CUT_TEXT = 6;

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/**
 * glibc's sscanf(s, "RFB %03d.%03d\n") on the 12 bytes the server reads (cut at a NUL, as a C
 * string): the format's space and each %d skip white space, %d takes a sign and then digits,
 * three characters at most, the sign counted; trailing bytes are not checked.
 */
function scanVersion(v: Buffer): [major: number, minor: number] | undefined {
  const nul = v.indexOf(0);
  const s = nul < 0 ? v : v.subarray(0, nul);
  let i = 0;
  const number = (): number | undefined => {
    while (i < s.length && SPACE.has(s[i])) {
      i++;
    }
    let width = 3;
    let sign = 1;
    if (s[i] === 0x2b || s[i] === 0x2d) {
      sign = s[i] === 0x2d ? -1 : 1;
      i++;
      width--;
    }
    let digits = 0;
    let value = 0;
    for (; width > 0 && s[i] >= 0x30 && s[i] <= 0x39; width--, digits++, i++) {
      value = value * 10 + s[i] - 0x30;
    }
    return digits ? sign * value : undefined;
  };
  if (s.toString('latin1', 0, 3) !== 'RFB') {
    return undefined;
  }
  i = 3;
  while (i < s.length && SPACE.has(s[i])) {
    i++;
  }
  const major = number();
  if (major === undefined || s[i++] !== 0x2e) {
    return undefined;
  }
  const minor = number();
  return minor === undefined ? undefined : [major, minor];
}

/**
 * The version the server then speaks (SConnection::processVersionMsg): major 3 only; a minor
 * other than 3, 7 or 8 counts as 8 from 8 up, else as 3.
 */
function serverVersion(v: Buffer): 3 | 7 | 8 | undefined {
  const scanned = scanVersion(v);
  if (!scanned || scanned[0] !== 3) {
    return undefined;
  }
  const minor = scanned[1];
  return minor >= 8 ? 8 : minor === 7 ? 7 : 3;
}

export interface IRfbFilterOptions {
  maxWidth: number;
  maxHeight: number;
  /** Largest single client message accepted (clipboard text is the big one). */
  maxMessage: number;
  /**
   * Called for each keyboard, pointer or clipboard message (what counts as activity), with
   * whether it does work: keys, a mouse button, clipboard text, not a pointer that only moves.
   */
  onInput?: (work: boolean) => void;
}

/**
 * Where the stream is: the 12-byte version; 3.7 and 3.8's security-type choice (3.3's server
 * picks None itself, and None has no client bytes or, before 3.8, result); ClientInit's one
 * byte; then messages.
 */
type Phase = 'version' | 'security' | 'init' | 'messages';

export class RfbClientFilter {
  private _phase: Phase = 'version';
  /** The start of the current message, held back until its framing says to let it go. */
  private _held: Buffer | undefined;
  private _fill = 0;
  /** Bytes of the current message's body still to pass on unread. */
  private _body = 0;
  /**
   * Whether the client's last SetEncodings named DesktopSize or ExtendedDesktopSize, read as
   * its body passes (`_word` gathers each encoding's four bytes; `_scan` says whether to).
   */
  private _resizable = false;
  private _scan = false;
  private _word = 0;
  private _wordBytes = 0;
  private _clamped = 0;

  constructor(private readonly _o: IRfbFilterOptions) {}

  /** How many SetDesktopSize requests were clamped so far. */
  get clamped(): number {
    return this._clamped;
  }

  /** How many bytes are held back, waiting for the rest of a header or a SetDesktopSize. */
  get pending(): number {
    return this._fill;
  }

  /**
   * Takes the next chunk from the client and returns the bytes to pass on to the server,
   * holding back an incomplete header (or SetDesktopSize). Throws RfbProtocolError on garbage.
   */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    // The chunk's bytes from `run` on go out as they are, in one piece where they can.
    let run = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this._body > 0) {
        const n = Math.min(this._body, chunk.length - at);
        if (this._scan) {
          this._scanEncodings(chunk, at, at + n);
        }
        this._body -= n;
        at += n;
        continue;
      }
      if (this._fill === 0) {
        const [hold, length] = this._frame(chunk, at, chunk.length - at);
        if (hold <= chunk.length - at) {
          this._take(chunk, at);
          at += hold;
          this._body = length - hold;
          continue;
        }
        if (at > run) {
          out.push(chunk.subarray(run, at));
        }
      }
      // A header cut short: gathered in `_held`, each byte copied once.
      const held = (this._held ??= Buffer.allocUnsafe(MAX_HOLD));
      let [hold, length] = this._frame(held, 0, this._fill);
      while (this._fill < hold && at < chunk.length) {
        const n = Math.min(hold - this._fill, chunk.length - at);
        chunk.copy(held, this._fill, at, at + n);
        this._fill += n;
        at += n;
        [hold, length] = this._frame(held, 0, this._fill);
      }
      run = at;
      if (this._fill === hold) {
        this._take(held, 0);
        out.push(Buffer.from(held.subarray(0, hold)));
        this._fill = 0;
        this._body = length - hold;
      }
    }
    if (at > run) {
      out.push(chunk.subarray(run, at));
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** The framing of what starts at `at` in the current phase; throws what the server refuses. */
  private _frame(b: Buffer, at: number, n: number): [number, number] {
    if (n === 0) {
      return [1, NaN];
    }
    if (this._phase === 'version') {
      if (n >= 12 && !serverVersion(b.subarray(at, at + 12))) {
        throw new RfbProtocolError('not an RFB 3.x client');
      }
      return [12, n >= 12 ? 12 : NaN];
    }
    if (this._phase !== 'messages') {
      return [1, 1];
    }
    const type = b.readUInt8(at);
    const framing = MESSAGES[type];
    if (!framing) {
      throw new RfbProtocolError(`unknown client message type ${type}`);
    }
    const [hold, length] = framing(b, at, n);
    if (length < 0) {
      throw new RfbProtocolError(`unknown message subtype for type ${type}`);
    }
    if (length > this._o.maxMessage) {
      throw new RfbProtocolError('client message too large');
    }
    return [hold, length];
  }

  /** Acts on a held part (the whole of a handshake step) once it is in; advances the phase. */
  private _take(b: Buffer, at: number): void {
    switch (this._phase) {
      case 'version':
        this._phase = serverVersion(b.subarray(at, at + 12)) === 3 ? 'init' : 'security';
        return;
      case 'security':
        // The only type the server offers; any other ends the connection there, after bytes
        // this filter could not frame.
        if (b.readUInt8(at) !== SECURITY_NONE) {
          throw new RfbProtocolError('security type other than None');
        }
        this._phase = 'init';
        return;
      case 'init':
        this._phase = 'messages';
        return;
    }
    const type = b.readUInt8(at);
    this._scan = type === SET_ENCODINGS;
    if (this._scan) {
      this._resizable = false;
      this._wordBytes = 0;
    } else if (type === SET_DESKTOP_SIZE) {
      // Xtigervnc 1.12 answers with the result, and crashes (SIGSEGV) when the client cannot
      // take it.
      if (!this._resizable) {
        throw new RfbProtocolError(
          'SetDesktopSize from a client without DesktopSize or ExtendedDesktopSize'
        );
      }
      this._clamp(b, at);
    } else if (INPUT_TYPES.has(type)) {
      // A pointer that only moves shows someone is there; keys, buttons and text do work.
      // (noVNC answers the server's extended-clipboard capabilities with a ClientCutText of
      // negative length on every connect: those control messages are not work.)
      const work =
        type === POINTER_EVENT
          ? b.readUInt8(at + 1) !== 0
          : type !== CLIENT_CUT_TEXT || b.readInt32BE(at + 4) > 0;
      this._o.onInput?.(work);
    }
  }

  private _scanEncodings(b: Buffer, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      this._word = ((this._word << 8) | b[i]) >>> 0;
      if (++this._wordBytes === 4) {
        this._resizable ||= RESIZE_ENCODINGS.has(this._word);
        this._wordBytes = 0;
      }
    }
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
