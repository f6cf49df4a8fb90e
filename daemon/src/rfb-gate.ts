// The raw RFB socket: the stream in one WebSocket hop. jupyter-server-proxy's `raw_socket_proxy`
// entry (RFB_MOUNT) turns the browser's WebSocket into a plain stream to this socket, as it
// does for a VNC server of its own; the daemon, not the desktop, answers it. It speaks the
// server half of RFB 3.8 up to authentication, where VeNCrypt Plain carries which desktop (the
// username: a session id) and a single-use ticket (the password, from POST
// api/sessions/:id/ticket, which Jupyter's login and the daemon's checks guard). Then it does
// the client half with that desktop's Xtigervnc (security None on its 0600 socket), tells the
// client the result, and splices the two: the client's bytes through RfbClientFilter (the
// SetDesktopSize clamp and the idle clock, as on the WebSocket route), the desktop's as read.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type OnReadOpts, type Server, type Socket } from 'node:net';
import { connectDesktop } from './bridge.js';
import { RfbClientFilter, RfbProtocolError } from './rfb-filter.js';
import type { SessionManager } from './sessions/manager.js';

/** How long a ticket is good for: the widget asks for one right before it connects. */
export const TICKET_MS = 30_000;
/** Tickets a session holds at once (tabs connecting together); the oldest goes first. */
const TICKETS_PER_SESSION = 16;
/**
 * How much of the desktop's stream is read at once (DesktopReader): more than a unix socket
 * holds by default (208 KiB), so each read takes all there is.
 */
const READ_BUFFER = 256 << 10;
/** A client must be through the handshake within this, or its connection is closed. */
export const HANDSHAKE_MS = 10_000;

const VERSION = Buffer.from('RFB 003.008\n', 'latin1');
const SECURITY_NONE = 1;
const VENCRYPT = 19;
const VENCRYPT_PLAIN = 256;
/** VeNCrypt Plain's username and password: a session id and a ticket are far shorter. */
const MAX_CREDENTIAL = 255;
/** What the filter would have seen of the handshake on the WebSocket route: 3.8, None. */
const FILTER_PRIMER = Buffer.concat([VERSION, Buffer.from([SECURITY_NONE])]);

interface ITicket {
  secret: Buffer;
  expires: number;
}

/** Single-use tickets, per session. No timer: expiry is checked when a ticket is used. */
export class TicketBook {
  private readonly _tickets = new Map<string, ITicket[]>();

  constructor(private readonly _ms = TICKET_MS) {}

  issue(id: string): string {
    const now = Date.now();
    const live = (this._tickets.get(id) ?? []).filter(t => t.expires > now);
    const secret = randomBytes(24);
    live.push({ secret, expires: now + this._ms });
    this._tickets.set(id, live.slice(-TICKETS_PER_SESSION));
    // Drop other sessions' expired ones too, so that ended sessions leave nothing behind.
    for (const [other, list] of this._tickets) {
      if (other !== id && !list.some(t => t.expires > now)) {
        this._tickets.delete(other);
      }
    }
    return secret.toString('base64url');
  }

  /** Whether `ticket` is a live ticket of session `id`; it is used up either way it matches. */
  take(id: string, ticket: string): boolean {
    const list = this._tickets.get(id);
    const given = Buffer.from(ticket, 'base64url');
    if (!list || given.length !== 24 || given.toString('base64url') !== ticket) {
      return false;
    }
    const now = Date.now();
    const i = list.findIndex(t => timingSafeEqual(t.secret, given));
    if (i < 0) {
      return false;
    }
    const [t] = list.splice(i, 1);
    if (!list.length) {
      this._tickets.delete(id);
    }
    return t.expires > now;
  }
}

/** The reason a connection is refused, told to the client in RFB's words. */
class Refusal extends Error {}

/**
 * A socket's bytes, read as a handshake asks for them, holding at most `max` unread. What
 * follows the handshake stays for the splice (`rest`). Fed by the socket's 'data' events, or
 * by `push` (a socket read through `onread`).
 */
class Incoming {
  private _buf: Buffer = Buffer.alloc(0);
  private _want?: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void };
  private _failed?: Error;
  private readonly _onEnd = (): void => this._fail(new Error('the connection closed'));

  constructor(
    private readonly _s: Socket,
    private readonly _max: number,
    events = true
  ) {
    if (events) {
      _s.on('data', this.push);
    }
    _s.on('close', this._onEnd);
    _s.on('end', this._onEnd);
  }

  readonly push = (chunk: Buffer): void => {
    if (this._failed) {
      return;
    }
    if (this._buf.length + chunk.length > this._max) {
      // Nothing more is kept: the connection is cut off.
      this._buf = Buffer.alloc(0);
      this._fail(new RfbProtocolError('too much before the handshake was over'));
      this._s.destroy();
      return;
    }
    this._buf = this._buf.length ? Buffer.concat([this._buf, chunk]) : chunk;
    this._serve();
  };

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this._want = { n, resolve, reject };
      this._serve();
    });
  }

  async u8(): Promise<number> {
    return (await this.read(1))[0];
  }

  async u32(): Promise<number> {
    return (await this.read(4)).readUInt32BE(0);
  }

  /** Stops reading; returns what came after the handshake. */
  rest(): Buffer {
    this._s.off('data', this.push);
    this._s.off('close', this._onEnd);
    this._s.off('end', this._onEnd);
    return this._buf;
  }

  private _fail(err: Error): void {
    this._failed ??= err;
    this._serve();
  }

  private _serve(): void {
    const w = this._want;
    if (!w) {
      return;
    }
    if (this._buf.length >= w.n) {
      this._want = undefined;
      const out = this._buf.subarray(0, w.n);
      this._buf = this._buf.subarray(w.n);
      w.resolve(out);
    } else if (this._failed) {
      this._want = undefined;
      w.reject(this._failed);
    }
  }
}

/**
 * The desktop's side, read into one buffer of READ_BUFFER bytes again and again (`onread`):
 * a 1080p stream is hundreds of MB/s, and a fresh 64 KiB buffer per read made most of the
 * daemon's work (allocation and garbage collection). A read goes to `to` at once; while the
 * kernel has not taken all of a write, the buffer is the write's, so reading stops until it
 * is done (which is also the back-pressure: a slow client slows the desktop, not our memory;
 * jupyter-server-proxy in front has none of its own).
 */
export class DesktopReader {
  private readonly _buf = Buffer.allocUnsafe(READ_BUFFER);
  private _to?: Socket;
  private _from?: Socket;
  private _waiting = false;
  /** Before the splice: where reads go (copied, as the buffer is read into again). */
  handshake?: (chunk: Buffer) => void;

  readonly onread: OnReadOpts = {
    buffer: this._buf,
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
      if (!this._to) {
        this.handshake?.(Buffer.from(chunk));
        return true;
      }
      this._to.write(chunk, this._written);
      if (this._to.writableLength > 0) {
        this._waiting = true;
        return false;
      }
      return true;
    }
  };

  private readonly _written = (): void => {
    if (this._waiting && this._to!.writableLength === 0) {
      this._waiting = false;
      this._from!.resume();
    }
  };

  /** From now on, what `desktop` sends goes to `to`. */
  pipe(desktop: Socket, to: Socket): void {
    this._from = desktop;
    this._to = to;
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** An RFB reason string: its length, then UTF-8. */
function reason(text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  return Buffer.concat([u32(t.length), t]);
}

export interface IRfbGateOptions {
  sessions: SessionManager;
  tickets: TicketBook;
  /** Largest single client message (as on the WebSocket route). */
  maxMessage: number;
  handshakeMs?: number;
}

/** A server for the raw RFB socket; the caller listens (server.ts). */
export function rfbGate(o: IRfbGateOptions): Server {
  return createServer(client => void admit(client, o));
}

/** One client: the handshake, then the splice. */
async function admit(client: Socket, o: IRfbGateOptions): Promise<void> {
  let desktop: Socket | undefined;
  let cancel: (() => void) | undefined;
  const drop = (): void => {
    cancel?.();
    client.destroy();
    desktop?.destroy();
  };
  client.on('error', drop);
  // A client gone while the desktop is being reached takes that connection with it.
  client.once('close', drop);
  const timer = setTimeout(drop, o.handshakeMs ?? HANDSHAKE_MS);
  const fromClient = new Incoming(client, 4096);
  // After the client picks VeNCrypt, a refusal is a SecurityResult with its reason (3.8).
  let picked = false;
  try {
    client.write(VERSION);
    if (!(await fromClient.read(12)).equals(VERSION)) {
      throw new Refusal('This socket speaks RFB 3.8 only');
    }
    client.write(Buffer.from([1, VENCRYPT]));
    const type = await fromClient.u8();
    picked = true;
    if (type !== VENCRYPT) {
      throw new Refusal('This socket asks for VeNCrypt Plain');
    }
    client.write(Buffer.from([0, 2]));
    const v = await fromClient.read(2);
    if (v[0] !== 0 || v[1] !== 2) {
      client.write(Buffer.from([1])); // VeNCrypt's own refusal: no reason
      throw new Refusal('VeNCrypt 0.2 only');
    }
    client.write(Buffer.concat([Buffer.from([0, 1]), u32(VENCRYPT_PLAIN)]));
    if ((await fromClient.u32()) !== VENCRYPT_PLAIN) {
      throw new Refusal('This socket asks for VeNCrypt Plain');
    }
    const userLength = await fromClient.u32();
    const passLength = await fromClient.u32();
    if (userLength > MAX_CREDENTIAL || passLength > MAX_CREDENTIAL) {
      throw new Refusal('The credentials are too long');
    }
    const id = (await fromClient.read(userLength)).toString('utf8');
    const ticket = (await fromClient.read(passLength)).toString('utf8');
    if (!o.tickets.take(id, ticket)) {
      throw new Refusal(
        'This connection to the desktop has no valid ticket (wrong, used or expired)'
      );
    }
    const path = o.sessions.rfbSocket(id);
    if (!path) {
      const s = o.sessions.get(id);
      throw new Refusal(s ? `${s.title} is not running (${s.state})` : 'No such desktop session');
    }
    const reader = new DesktopReader();
    desktop = await new Promise<Socket>((resolve, reject) => {
      cancel = connectDesktop(
        path,
        (err, s) => (err ? reject(new Refusal('The desktop is unreachable')) : resolve(s!)),
        reader.onread
      );
    });
    desktop.on('error', drop);
    const fromDesktop = new Incoming(desktop, 4096, false);
    reader.handshake = fromDesktop.push;
    if (!/^RFB 003\.00[89]\n$/.test((await fromDesktop.read(12)).toString('latin1'))) {
      throw new Refusal('The desktop does not speak RFB 3.8');
    }
    desktop.write(VERSION);
    const count = await fromDesktop.u8();
    if (count === 0) {
      throw new Refusal('The desktop refused the connection');
    }
    const types = await fromDesktop.read(count);
    if (!types.includes(SECURITY_NONE)) {
      throw new Refusal('The desktop asks for a password');
    }
    desktop.write(Buffer.from([SECURITY_NONE]));
    if ((await fromDesktop.u32()) !== 0) {
      throw new Refusal('The desktop refused the connection');
    }
    clearTimeout(timer);
    if (client.destroyed) {
      return drop();
    }
    client.off('close', drop);
    client.write(u32(0));
    o.sessions.noteConnectProblem(id, undefined);
    splice(client, desktop, reader, fromClient.rest(), fromDesktop.rest(), id, o);
  } catch (err) {
    clearTimeout(timer);
    cancel?.();
    desktop?.destroy();
    if (err instanceof Refusal && !client.destroyed) {
      // Nothing more is read from it. Before a security type is picked, a refusal is an
      // empty list of types and a reason; after, a SecurityResult and a reason.
      fromClient.rest();
      const head = picked ? u32(1) : Buffer.from([0]);
      client.end(Buffer.concat([head, reason(err.message)]), () => client.destroy());
    } else {
      drop();
    }
  }
}

/** From here on both sides are RFB messages: the client's filtered, the desktop's as they come. */
function splice(
  client: Socket,
  desktop: Socket,
  reader: DesktopReader,
  clientRest: Buffer,
  desktopRest: Buffer,
  id: string,
  o: IRfbGateOptions
): void {
  const { width, height } = o.sessions.maxGeometry;
  const filter = new RfbClientFilter({
    maxWidth: width,
    maxHeight: height,
    maxMessage: o.maxMessage,
    onInput: work => o.sessions.touch(id, work)
  });
  filter.push(FILTER_PRIMER);
  const end = (): void => {
    client.destroy();
    desktop.destroy();
  };
  const forward = (chunk: Buffer): void => {
    let out: Buffer;
    try {
      out = filter.push(chunk);
    } catch {
      // A client the filter cannot frame: that connection ends, nothing else.
      return end();
    }
    if (out.length && !desktop.write(out)) {
      client.pause();
    }
  };
  desktop.on('drain', () => client.resume());
  client.on('data', forward);
  client.on('close', end);
  desktop.on('close', end);
  if (desktopRest.length) {
    client.write(desktopRest);
  }
  reader.pipe(desktop, client);
  if (clientRest.length) {
    forward(clientRest);
  }
}
