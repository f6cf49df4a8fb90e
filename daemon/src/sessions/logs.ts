// A session's log (Xtigervnc and xstartup output, one file) and the sentences made from it and
// from file-system failures: what the tab shows when a desktop fails.
import { open } from 'node:fs/promises';

/** How much of a log's end is kept and shown. */
export const LOG_TAIL_BYTES = 16 * 1024;

/** The prefix of a line by which an xstartup reports, in a sentence, why it failed. */
export const ERROR_LINE = 'jupyter-desktops: error: ';

/** The last `maxBytes` of a file, from a line start; empty when it cannot be read. */
export async function readTail(
  file: string,
  maxBytes = LOG_TAIL_BYTES
): Promise<{ text: string; truncated: boolean }> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      let text = buf.toString('utf8');
      if (start > 0) {
        text = text.slice(text.indexOf('\n') + 1);
      }
      return { text, truncated: start > 0 };
    } finally {
      await fh.close();
    }
  } catch {
    return { text: '', truncated: false };
  }
}

/** The last sentence an xstartup reported with ERROR_LINE, if any. */
export async function reportedError(log: string): Promise<string | undefined> {
  const { text } = await readTail(log);
  const lines = text.split('\n').filter(l => l.startsWith(ERROR_LINE));
  const last = lines.at(-1)?.slice(ERROR_LINE.length).trim();
  return last ? last.slice(0, 500) : undefined;
}

/** "30 minutes", "90 seconds": for messages. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0 && s >= 3600) {
    return `${s / 3600} hour${s === 3600 ? '' : 's'}`;
  }
  if (s % 60 === 0 && s >= 60) {
    return `${s / 60} minute${s === 60 ? '' : 's'}`;
  }
  return `${s} second${s === 1 ? '' : 's'}`;
}

/** File-system failures as sentences that name the place and the cause. */
export function describeFsError(err: unknown, where: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOSPC':
      return `no space left on the device holding ${where}`;
    case 'EDQUOT':
      return `the disk quota is exhausted for ${where}`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write ${e.path ?? where}`;
    case 'EROFS':
      return `${where} is on a read-only file system`;
    case 'ENOENT':
      return e.path ? `${e.path} does not exist` : e.message;
    default:
      return e.message;
  }
}
