import { describe, expect, it } from 'vitest';
import { RfbClientFilter, RfbProtocolError } from './rfb-filter';

const HANDSHAKE = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1])]);

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
    f.push(Buffer.from(HANDSHAKE));
    const out = f.push(setDesktopSize(16384, 16384, [[0, 0, 16384, 16384]]));
    expect(out.readUInt16BE(2)).toBe(1920);
    expect(out.readUInt16BE(4)).toBe(1080);
    expect(out.readUInt16BE(8 + 8)).toBe(1920);
    expect(out.readUInt16BE(8 + 10)).toBe(1080);
    expect(f.clamped).toBe(1);
  });

  it('leaves a SetDesktopSize within limits alone', () => {
    const f = filter();
    f.push(Buffer.from(HANDSHAKE));
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
