// How a desktop's X server is started: its argv, its MIT cookie file and the display number it
// reports back. Kept free of process management so the argv can be checked on its own.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';

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
    '-auth',
    o.authFile,
    '-nolisten',
    'tcp',
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
      if (err) reject(err);
      else resolve(n as number);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) {
        if (text.length > 16) done(new Error('Xtigervnc wrote an invalid display number'));
        return;
      }
      const n = Number(text.slice(0, nl));
      if (Number.isInteger(n) && n >= 0) done(null, n);
      else done(new Error('Xtigervnc wrote an invalid display number'));
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
