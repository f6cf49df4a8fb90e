// The daemon's executable: loads the bundle (daemon.cjs, beside it) with a V8 code cache, so
// that a user's daemon answers its first request sooner (jupyter-server-proxy, and the user's
// first click, wait for that answer). Without a cache it compiles the bundle as Node would,
// and once the daemon has served a while it writes one for the next start.
//
// The cache is the user's own: `$XDG_CACHE_HOME/jupyter-desktops` (else ~/.cache/...), a 0700
// directory of theirs, or none. Its file is named after this Node.js and this bundle (size
// and time), and V8 itself refuses data made by another V8 or for another source.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  constants
} from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { setCodeCacheStatus } from './code-cache.js';

/** When to write a missing cache: once the first requests have compiled what they run. */
const WRITE_AFTER_MS = 5000;
const PREFIX = 'daemon-code-';

/** The cache directory if it is this user's alone, else why there is none. */
function cacheDir(): { dir?: string; why?: string } {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const dir = join(base, 'jupyter-desktops');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? -1)) {
      return { why: `${dir} is not a directory of this user's` };
    }
    if (st.mode & 0o077) {
      return {
        why: `${dir} is open to others (mode ${(st.mode & 0o777).toString(8)}; 700 needed)`
      };
    }
    return { dir };
  } catch (err) {
    return { why: `${dir}: ${(err as Error).message}` };
  }
}

/** The cache file's contents, if it is a regular file of this user's, not linked elsewhere. */
function readCache(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== (process.getuid?.() ?? -1) || st.mode & 0o022) {
      return undefined;
    }
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) {
      closeSync(fd);
    }
  }
}

/** Writes the cache whole or not at all, and removes those of other bundles. */
function writeCache(dir: string, file: string, data: Buffer): void {
  const tmp = join(dir, `.${PREFIX}${randomBytes(6).toString('hex')}`);
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    for (const name of readdirSync(dir)) {
      if (name.startsWith(PREFIX) && join(dir, name) !== file) {
        unlinkSync(join(dir, name));
      }
    }
  } catch {
    // A cache is a help: a full or read-only home only makes the next start slower.
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
  }
}

const bundle = join(__dirname, 'daemon.cjs');
const st = statSync(bundle);
const { dir, why } = cacheDir();
const file = dir
  ? join(
      dir,
      `${PREFIX}${process.version}-${process.arch}-${st.size}-${Math.floor(st.mtimeMs)}.bin`
    )
  : undefined;
const cachedData = file ? readCache(file) : undefined;
// V8 keeps the wrapped source (lazy functions compile from it); nothing keeps the file's text.
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), {
  filename: bundle,
  cachedData
});
setCodeCacheStatus(
  !file
    ? { state: 'off', why }
    : { state: !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used', file }
);
const run = script.runInThisContext() as (...args: unknown[]) => void;
const mod = { exports: {} };
run.call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
if (dir && file && (!cachedData || script.cachedDataRejected)) {
  setTimeout(() => writeCache(dir, file, script.createCachedData()), WRITE_AFTER_MS).unref();
}
