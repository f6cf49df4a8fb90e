import { describe, expect, it } from 'vitest';
import { RfbClientFilter, RfbProtocolError } from './rfb-filter';

const HANDSHAKE = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1])]);
/** SetEncodings: ExtendedDesktopSize, without which Xtigervnc cannot answer a resize. */
const RESIZE = Buffer.from([2, 0, 0, 1, 0xff, 0xff, 0xfe, 0xcc]);

function setDesktopSize(w: number, h: number, screens: [number, number, number, number][]) {
  const b = Buffer.alloc(8 + 16 * screens.length);
  b.writeUInt8(251, 0);
  b.writeUInt16BE(w, 2);
  b.writeUInt16BE(h, 4);
  b.writeUInt8(screens.length, 6);
  screens.forEach(([x, y, sw, sh], i) => {
    const at = 8 + 16 * i;
    b.writeUInt32BE(i, at);
    b.writeUInt16BE(x, at + 4);
    b.writeUInt16BE(y, at + 6);
    b.writeUInt16BE(sw, at + 8);
    b.writeUInt16BE(sh, at + 10);
  });
  return b;
}

const pointer = Buffer.from([5, 0, 0, 10, 0, 20]);
const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
const fbur = Buffer.from([3, 0, 0, 0, 0, 0, 4, 0, 3, 0]);

function filter() {
  return new RfbClientFilter({ maxWidth: 1920, maxHeight: 1080, maxMessage: 1 << 20 });
}

describe('RfbClientFilter', () => {
  it('passes the handshake and ordinary messages through unchanged', () => {
    const f = filter();
    const all = Buffer.concat([HANDSHAKE, pointer, key, fbur]);
    expect(f.push(Buffer.from(all))).toEqual(all);
  });

  it('holds back a message split across chunks until it is whole', () => {
    const f = filter();
    const all = Buffer.concat([HANDSHAKE, key, pointer]);
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i += 3) {
      out.push(f.push(all.subarray(i, i + 3)));
    }
    expect(Buffer.concat(out)).toEqual(all);
    // Mid-message, nothing of the key event may go out early.
    const g = filter();
    expect(g.push(Buffer.concat([HANDSHAKE, key.subarray(0, 5)]))).toEqual(HANDSHAKE);
  });

  it('clamps SetDesktopSize and its screens to the maximum', () => {
    const f = filter();
    f.push(Buffer.concat([HANDSHAKE, RESIZE]));
    const out = f.push(setDesktopSize(16384, 16384, [[0, 0, 16384, 16384]]));
    expect(out.readUInt16BE(2)).toBe(1920);
    expect(out.readUInt16BE(4)).toBe(1080);
    expect(out.readUInt16BE(8 + 8)).toBe(1920);
    expect(out.readUInt16BE(8 + 10)).toBe(1080);
    expect(f.clamped).toBe(1);
  });

  it('leaves a SetDesktopSize within limits alone', () => {
    const f = filter();
    f.push(Buffer.concat([HANDSHAKE, RESIZE]));
    const msg = setDesktopSize(1280, 720, [[0, 0, 1280, 720]]);
    expect(f.push(Buffer.from(msg))).toEqual(msg);
    expect(f.clamped).toBe(0);
  });

  it('frames clipboard text by its length field', () => {
    const f = filter();
    f.push(Buffer.from(HANDSHAKE));
    const text = Buffer.from('hello');
    const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, text.length]), text]);
    expect(f.push(Buffer.concat([cut, pointer]))).toEqual(Buffer.concat([cut, pointer]));
  });

  it('understands RFB 3.3, which has no security-type choice', () => {
    const f = filter();
    const all = Buffer.concat([Buffer.from('RFB 003.003\n'), Buffer.from([1]), pointer]);
    expect(f.push(Buffer.from(all))).toEqual(all);
  });

  it('rejects garbage, unknown message types and oversized messages', () => {
    expect(() => filter().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(RfbProtocolError);
    const f = filter();
    f.push(Buffer.from(HANDSHAKE));
    expect(() => f.push(Buffer.from([99, 0, 0]))).toThrow(/unknown client message type 99/);
    const g = new RfbClientFilter({ maxWidth: 10, maxHeight: 10, maxMessage: 64 });
    g.push(Buffer.from(HANDSHAKE));
    expect(() => g.push(Buffer.from([6, 0, 0, 0, 0, 1, 0, 0]))).toThrow(/too large/);
  });
});

/** A 12-byte version message, as the server reads it (it reads exactly 12 bytes). */
function version(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  if (b.length !== 12) {
    throw new Error(`not 12 bytes: ${JSON.stringify(s)}`);
  }
  return b;
}

// What TigerVNC 1.12 makes of each (SConnection::processVersionMsg: sscanf "RFB %03d.%03d\n",
// major 3 only, a minor other than 3, 7 or 8 counted as 8 from 8 up, else as 3).
const ACCEPTED: [string, string, 3 | 7 | 8][] = [
  ['3.3', 'RFB 003.003\n', 3],
  ['3.7', 'RFB 003.007\n', 7],
  ['3.8', 'RFB 003.008\n', 8],
  ['3.0', 'RFB 003.000\n', 3],
  ['3.5', 'RFB 003.005\n', 3],
  ['3.6', 'RFB 003.006\n', 3],
  ['3.889', 'RFB 003.889\n', 8],
  ['a negative minor', 'RFB 003.-01\n', 3],
  ['a signed major', 'RFB +03.007\n', 7],
  ['white space before each number', 'RFB \t 3.\n 7\n', 7],
  ['no space after RFB', 'RFB003.006\n\n', 3],
  ['"RFB 3.8\\n", its 12 bytes running into what follows', 'RFB 3.8\nabcd', 8],
  ['"RFB 3.7", a NUL ending it early', 'RFB 3.7\x00\x05\x06\x07\x08', 7],
  ['a minor cut at three characters', 'RFB 3.0078\n ', 7],
  ['a minor cut at three characters, its sign counted', 'RFB 3.+0099\n', 3],
  ['trailing garbage', 'RFB 3.8 junk', 8]
];

const REFUSED: [string, string][] = [
  ['major 4', 'RFB 004.000\n'],
  ['major 2', 'RFB 002.008\n'],
  ['a negative major', 'RFB -03.008\n'],
  ['a major cut at three characters', 'RFB 0003.008'],
  ['no major', 'RFB .008\n   '],
  ['a sign without digits', 'RFB +.8\n    '],
  ['no minor', 'RFB 003.\n\n\n\n'],
  ['a NUL before the minor', 'RFB 003.\x008\n\n'],
  ['a comma', 'RFB 003,008\n'],
  ['lower case', 'rfb 003.008\n'],
  ['HTTP', 'GET / HTTP/1']
];

/**
 * The client half of a connection as the server frames it for `minor`: the version, then the
 * security-type choice (None) unless 3.3, ClientInit, then `messages`.
 */
function stream(v: string, minor: 3 | 7 | 8, ...messages: Buffer[]): Buffer {
  const handshake = minor === 3 ? [1] : [1, 1];
  return Buffer.concat([version(v), Buffer.from(handshake), ...messages]);
}

describe('RfbClientFilter frames the handshake as Xtigervnc does', () => {
  const huge = () => setDesktopSize(16384, 16384, [[0, 0, 16384, 16384]]);
  const clamped = setDesktopSize(1920, 1080, [[0, 0, 1920, 1080]]);

  for (const [what, v, minor] of ACCEPTED) {
    it(`${what}: ${JSON.stringify(v)} is ${minor === 3 ? '3.3' : `3.${minor}`}, and a SetDesktopSize right after it is clamped`, () => {
      const input = stream(v, minor, RESIZE, huge(), pointer);
      const expected = stream(v, minor, RESIZE, clamped, pointer);
      // Whole, and one byte at a time: the framing must not depend on how the bytes come.
      const f = filter();
      expect(f.push(Buffer.from(input))).toEqual(expected);
      expect(f.clamped).toBe(1);
      const g = filter();
      const out = [...input].map(byte => g.push(Buffer.from([byte])));
      expect(Buffer.concat(out)).toEqual(expected);
      expect(g.clamped).toBe(1);
    });
  }

  it('a SetDesktopSize hidden behind the handshake of a 3.5 client is found and clamped', () => {
    // The server reads 3.5 as 3.3, so after the version only ClientInit (1 byte) comes. A
    // filter expecting 3.7's two bytes takes the next message's type for the second, and with
    // SetEncodings' padding byte chosen to read as a PointerEvent, it frames the rest as two
    // SetPixelFormats, the second ending where a 3-byte clipboard text ends: it never sees the
    // SetDesktopSize between them.
    const encodings = Buffer.from([2, 5, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xcc]);
    const cut = Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
    const f = filter();
    const out = f.push(stream('RFB 003.005\n', 3, encodings, huge(), cut));
    expect(out).toEqual(stream('RFB 003.005\n', 3, encodings, clamped, cut));
    expect(f.clamped).toBe(1);
  });

  for (const [what, v] of REFUSED) {
    it(`refuses what the server refuses: ${what} (${JSON.stringify(v)})`, () => {
      expect(() => filter().push(Buffer.concat([version(v), Buffer.from([1, 1])]))).toThrow(
        RfbProtocolError
      );
    });
  }

  it('refuses a security type other than None, the only one the server offers', () => {
    expect(() => filter().push(Buffer.from('RFB 003.008\n\x02'))).toThrow(/other than None/);
  });
});

describe('RfbClientFilter and the clients Xtigervnc cannot answer', () => {
  it('refuses a SetDesktopSize unless the last SetEncodings named DesktopSize or ExtendedDesktopSize', () => {
    const size = setDesktopSize(1280, 720, [[0, 0, 1280, 720]]);
    expect(() => filter().push(Buffer.concat([HANDSHAKE, size]))).toThrow(
      /without DesktopSize or ExtendedDesktopSize/
    );
    const raw = Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]);
    expect(() => filter().push(Buffer.concat([HANDSHAKE, raw, size]))).toThrow(RfbProtocolError);
    // DesktopSize (-223) among others, read one byte at a time.
    const f = filter();
    const all = Buffer.concat([
      HANDSHAKE,
      Buffer.from([2, 0, 0, 3, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0x21, 0, 0, 0, 0]),
      size
    ]);
    expect(Buffer.concat([...all].map(b => f.push(Buffer.from([b]))))).toEqual(all);
    // A later SetEncodings without either takes it back.
    expect(() => f.push(Buffer.concat([raw, size]))).toThrow(RfbProtocolError);
  });
});

describe('RfbClientFilter holds back only headers', () => {
  it('a 1 MiB clipboard one byte at a time: never more than a header held, every byte passed on in order', () => {
    const max = 1 << 20;
    const f = new RfbClientFilter({ maxWidth: 1920, maxHeight: 1080, maxMessage: max });
    const head = Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]);
    head.writeInt32BE(max - 8, 4);
    const text = Buffer.alloc(max - 8);
    for (let i = 0; i < text.length; i++) {
      text[i] = 0x61 + ((i * 7) % 26);
    }
    const input = Buffer.concat([HANDSHAKE, head, text, key]);
    const out = Buffer.alloc(input.length);
    let written = 0;
    let held = 0;
    for (let i = 0; i < input.length; i++) {
      const o = f.push(input.subarray(i, i + 1));
      o.copy(out, written);
      written += o.length;
      if (i >= HANDSHAKE.length) {
        held = Math.max(held, f.pending);
      }
      if (f.pending > 64) {
        // At once: the quadratic filter would take minutes to get to the end.
        throw new Error(`${f.pending} bytes held after ${i + 1} bytes in`);
      }
    }
    expect(written).toBe(input.length);
    // (Buffer.equals: toEqual walks a megabyte element by element for seconds.)
    expect(out.equals(input)).toBe(true);
    // Past the handshake: the clipboard's header and the KeyEvent, 8 bytes each, at most.
    expect(held).toBe(7);
  });

  it('calls onInput once per input message, however the bytes are split', () => {
    let inputs = 0;
    const f = new RfbClientFilter({
      maxWidth: 1920,
      maxHeight: 1080,
      maxMessage: 1 << 20,
      onInput: () => inputs++
    });
    const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 100]), Buffer.alloc(100, 0x41)]);
    const all = Buffer.concat([HANDSHAKE, cut, fbur, key, cut, pointer]);
    for (let i = 0; i < all.length; i += 5) {
      f.push(all.subarray(i, i + 5));
    }
    expect(inputs).toBe(4);
  });

  it('tells work (keys, mouse buttons, clipboard text) from a pointer that only moves', () => {
    const work: boolean[] = [];
    const f = new RfbClientFilter({
      maxWidth: 1920,
      maxHeight: 1080,
      maxMessage: 1 << 20,
      onInput: w => work.push(w)
    });
    const press = Buffer.from([5, 1, 0, 10, 0, 10]);
    const move = Buffer.from([5, 0, 0, 11, 0, 11]);
    const cut = Buffer.from([6, 0, 0, 0, 0, 0, 0, 1, 0x41]);
    // The extended clipboard's capabilities (noVNC sends them on every connect).
    const caps = Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, 1, 0, 0, 1, 0, 0, 0, 0]);
    f.push(Buffer.concat([HANDSHAKE, move, press, move, key, cut, caps]));
    expect(work).toEqual([false, true, false, true, true, false]);
  });

  it('refuses a clipboard longer than the limit at its header, before its text', () => {
    const f = new RfbClientFilter({ maxWidth: 10, maxHeight: 10, maxMessage: 1 << 20 });
    f.push(Buffer.from(HANDSHAKE));
    const head = Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]);
    head.writeInt32BE((1 << 20) - 7, 4);
    expect(() => f.push(head)).toThrow(/too large/);
    // Negative lengths are the extended clipboard's: their size counts too.
    const g = new RfbClientFilter({ maxWidth: 10, maxHeight: 10, maxMessage: 1 << 20 });
    g.push(Buffer.from(HANDSHAKE));
    head.writeInt32BE(-(1 << 20), 4);
    expect(() => g.push(head)).toThrow(/too large/);
  });
});
