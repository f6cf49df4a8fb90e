// How a desktop's X server is started, by the session manager and by the doctor alike: its
// argv, its MIT cookie file, the display number it reports back and its RFB socket answering.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { findProgram } from '../profiles.js';
import { sleep } from './procs.js';

export interface IXvncOptions {
  /** Private directory (0700) holding the RFB socket. */
  rfbSocket: string;
  /** MIT-MAGIC-COOKIE file the server accepts. */
  authFile: string;
  width: number;
  height: number;
  /** Shown as the desktop name to RFB clients. */
  desktopName: string;
  /** Child fd on which Xtigervnc writes its display number. */
  displayFd: number;
}

/**
 * The Xtigervnc argv. No TCP anywhere: `-rfbport -1` turns the VNC TCP port off (without it
 * Xtigervnc listens on 5900+N next to the unix socket) and `-nolisten tcp` the X11 one.
 * `-SecurityTypes None` is safe only because the socket is 0600 inside a 0700 directory.
 */
export function xvncArgs(o: IXvncOptions): string[] {
  return [
    '-displayfd',
    String(o.displayFd),
    '-rfbunixpath',
    o.rfbSocket,
    '-rfbunixmode',
    '0600',
    '-rfbport',
    '-1',
    '-SecurityTypes',
    'None',
    // Its blacklist counts every unix-socket client as one address: five connections that
    // drop before the handshake (a reload storm, our own readiness probe) would refuse the
    // next real one for 10 s. Nothing can be guessed on a private socket.
    '-UseBlacklist=0',
    '-auth',
    o.authFile,
    '-nolisten',
    'tcp',
    // Only the abstract socket @/tmp/.X11-unix/X<n>: no file in the shared /tmp/.X11-unix,
    // which any local user can fill with names, and nothing left there when it is killed.
    // (With -displayfd, Xtigervnc writes no lock file either.)
    '-nolisten',
    'unix',
    '-geometry',
    `${o.width}x${o.height}`,
    '-depth',
    '24',
    '-desktop',
    o.desktopName,
    '-AlwaysShared'
  ];
}

/**
 * Writes an Xauthority file with one MIT-MAGIC-COOKIE-1 entry of family Wild and an empty
 * display number, so it matches whatever display Xtigervnc picks with -displayfd. The cookie
 * never appears in argv.
 */
export async function writeXauthority(path: string): Promise<void> {
  const field = (b: Buffer): Buffer => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const family = Buffer.from([0xff, 0xff]);
  const entry = Buffer.concat([
    family,
    field(Buffer.alloc(0)),
    field(Buffer.alloc(0)),
    field(Buffer.from('MIT-MAGIC-COOKIE-1')),
    field(randomBytes(16))
  ]);
  await writeFile(path, entry, { mode: 0o600, flag: 'wx' });
}

/** Resolves with the display number Xtigervnc writes to its -displayfd pipe. */
export function readDisplay(pipe: Readable, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err: Error | null, n?: number): void => {
      clearTimeout(timer);
      pipe.off('data', onData);
      pipe.off('end', onEnd);
      pipe.destroy();
      if (err) {
        reject(err);
      } else {
        resolve(n as number);
      }
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) {
        if (text.length > 16) {
          done(new Error('Xtigervnc wrote an invalid display number'));
        }
        return;
      }
      const n = Number(text.slice(0, nl));
      if (Number.isInteger(n) && n >= 0) {
        done(null, n);
      } else {
        done(new Error('Xtigervnc wrote an invalid display number'));
      }
    };
    const onEnd = (): void => done(new Error('Xtigervnc exited before reporting its display'));
    const timer = setTimeout(
      () => done(new Error(`Xtigervnc did not report a display within ${timeoutMs} ms`)),
      timeoutMs
    );
    pipe.on('data', onData);
    pipe.on('end', onEnd);
  });
}

export interface IStartXvncOptions {
  /** The Xtigervnc program. */
  xvnc: string;
  /** A private (0700) directory: the cookie file and the RFB socket go there. */
  dir: string;
  width: number;
  height: number;
  desktopName: string;
  env: NodeJS.ProcessEnv;
  /** Where its output goes: a log file's descriptor, or nowhere. */
  output: number | 'ignore';
  /** How long it may take to report its display. */
  timeoutMs: number;
  /** Its address-space limit in bytes (xvncMemoryLimit), set with util-linux's prlimit. */
  memoryLimit?: number;
}

/**
 * An X server's memory bound for desktops of at most `maxWidth` x `maxHeight`: room for its
 * framebuffers at that size (about 8 bytes a pixel: the screen and the copy it compares
 * updates with) twice over, plus 768 MiB for its code, fonts, OpenGL and the windows and
 * pixmaps of the desktop's programs. Past it, an X request fails (BadAlloc) and the server
 * lives on, instead of one desktop taking the host's memory.
 */
export function xvncMemoryLimit(maxWidth: number, maxHeight: number): number {
  return 768 * 1024 * 1024 + 16 * maxWidth * maxHeight;
}

let prlimit: Promise<string | undefined> | undefined;

export interface IXServer {
  child: ChildProcess;
  /** The display number once Xtigervnc reports it; rejects if it exits or stays silent. */
  display: Promise<number>;
  /** Rejects when Xtigervnc cannot be run or exits; never resolves. */
  died: Promise<never>;
  authFile: string;
  rfbSocket: string;
}

/**
 * Starts Xtigervnc in a process group of its own (end it with signalGroup), with a fresh
 * cookie, on a unix RFB socket in `dir`. The child is returned at once, so that a caller can
 * end it whatever happens next.
 */
export async function startXvnc(o: IStartXvncOptions): Promise<IXServer> {
  const authFile = join(o.dir, 'Xauthority');
  const rfbSocket = join(o.dir, 'rfb.sock');
  await writeXauthority(authFile);
  const args = xvncArgs({
    rfbSocket,
    authFile,
    width: o.width,
    height: o.height,
    desktopName: o.desktopName,
    displayFd: 3
  });
  prlimit ??= findProgram('prlimit', ['/usr/bin/prlimit', '/bin/prlimit']);
  const limiter = o.memoryLimit ? await prlimit : undefined;
  const argv = limiter
    ? [limiter, `--as=${o.memoryLimit}`, '--', o.xvnc, ...args]
    : [o.xvnc, ...args];
  const child = spawn(argv[0], argv.slice(1), {
    detached: true,
    env: o.env,
    cwd: o.dir,
    stdio: ['ignore', o.output, o.output, 'pipe']
  });
  const died = new Promise<never>((_, reject) => {
    child.once('error', err => reject(new Error(`Xtigervnc could not be run: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(new Error(`Xtigervnc exited (${signal ?? `status ${code}`}) while starting`))
    );
  });
  died.catch(() => undefined);
  const display = Promise.race([readDisplay(child.stdio[3] as Readable, o.timeoutMs), died]);
  display.catch(() => undefined);
  return { child, display, died, authFile, rfbSocket };
}

/** Resolves once the RFB socket accepts a connection and sends its version banner. */
export async function waitForRfb(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probeRfb(path)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`no answer on its RFB socket within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

/** Whether an RFB server answers on `path` with its version banner. */
export function probeRfb(path: string): Promise<boolean> {
  return new Promise(resolve => {
    const sock = connect(path);
    let got = '';
    const finish = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => finish(false));
    sock.on('error', () => finish(false));
    sock.on('data', d => {
      got += d.toString('latin1');
      if (got.length >= 12) {
        finish(/^RFB \d{3}\.\d{3}\n/.test(got));
      }
    });
    sock.on('end', () => finish(false));
  });
}
