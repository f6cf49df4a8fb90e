// A session's log (Xtigervnc and xstartup output, one file) and the sentences made from it and
// from file-system failures: what the tab shows when a desktop fails.
import { open, stat, truncate, writeFile } from 'node:fs/promises';

/** How much of a log's end is kept and shown. */
export const LOG_TAIL_BYTES = 16 * 1024;

/**
 * The file behind an xstartup's file descriptor 3, on which its scripts report, in a sentence,
 * why a session failed. Only the scripts write there: they close it before starting the
 * desktop, whose programs write to the log.
 */
export const ERROR_FILE = 'error';

/** The prefix the scripts give the sentence (also in the log): dropped from what is shown. */
export const ERROR_LINE = 'jupyter-desktops: error: ';

/** Where a log's last part goes when the log is cut (capLog). */
const OLD_SUFFIX = '.old';

/**
 * Keeps a session log under `maxBytes`: every program of the desktop writes to it (O_APPEND),
 * and a chatty one would fill the runtime disk. Past the limit, its tail moves to `<log>.old`
 * and the log starts again (appending writers go on at its new end). Called every second or
 * so: the log can pass the limit by what is written in between. Returns whether it cut.
 */
export async function capLog(file: string, maxBytes: number): Promise<boolean> {
  const size = await stat(file).then(
    st => st.size,
    () => 0
  );
  if (size <= maxBytes) {
    return false;
  }
  const { text } = await readTail(file, LOG_TAIL_BYTES, false);
  await writeFile(file + OLD_SUFFIX, text, { mode: 0o600 });
  await truncate(file, 0);
  await writeFile(
    file,
    `jupyter-desktops: the log passed ${Math.round(maxBytes / 1024)} KiB: earlier output was dropped\n`,
    { flag: 'a' }
  );
  return true;
}

/**
 * The last `maxBytes` of a log, from a line start (with the end of `<log>.old` before a log
 * that was just cut); empty when it cannot be read.
 */
export async function readTail(
  file: string,
  maxBytes = LOG_TAIL_BYTES,
  withOld = true
): Promise<{ text: string; truncated: boolean }> {
  const now = await readEnd(file, maxBytes);
  if (!withOld || now.text.length >= maxBytes) {
    return now;
  }
  const old = await readEnd(file + OLD_SUFFIX, maxBytes - now.text.length);
  return old.text ? { text: old.text + now.text, truncated: true } : now;
}

async function readEnd(
  file: string,
  maxBytes: number
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

/** The last sentence an xstartup reported on its ERROR_FILE, if any. */
export async function reportedError(file: string): Promise<string | undefined> {
  const { text } = await readTail(file, 4096);
  const last = text
    .split('\n')
    .map(l => (l.startsWith(ERROR_LINE) ? l.slice(ERROR_LINE.length) : l).trim())
    .filter(Boolean)
    .at(-1);
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
