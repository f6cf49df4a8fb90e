// The daemon's private runtime directory: where session sockets, cookies and logs live. It
// must be the user's alone (another user who could create it could reach the desktops in it),
// and short enough a path for the unix sockets below it.
import { chmod, lstat, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeFsError } from './sessions/logs.js';

/**
 * Creates (or checks) a directory that must be ours alone: not a symlink, owned by us, 0700.
 * Another user could otherwise pre-create it in /tmp and read our sockets.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await makeDirs(dir);
  const st = await lstat(dir);
  const uid = process.getuid ? process.getuid() : st.uid;
  if (!st.isDirectory()) {
    throw new Error(`${dir} is not a directory; refusing to use it`);
  }
  if (st.uid !== uid) {
    throw new Error(
      `${dir} belongs to another user (uid ${st.uid}), who could reach the desktops in it; ` +
        'refusing to use it'
    );
  }
  if ((st.mode & 0o077) !== 0) {
    await chmod(dir, 0o700);
  }
}

/**
 * `mkdir -p` with mode 0700 for what it creates. Not Node's `recursive: true`, which loops
 * forever where a file system refuses with ENOENT under an existing parent (/proc/x).
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) {
      throw err;
    }
    await makeDirs(parent);
    await mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') {
        throw e;
      }
    });
  }
}

/** Linux's limit for a unix socket's path (sun_path, less its NUL). */
const SOCKET_PATH_MAX = 107;
/** The longest path a session's RFB socket gets below a daemon's directory. */
const SESSION_SOCKET = `/${'x'.repeat(16)}/rfb.sock`;

/**
 * One of this user's earlier fallback roots (`<tmp>/jupyter-desktops-<uid>-XXXXXX`, made by
 * mkdtemp below) that is still ours alone: a directory, not a symlink, owned by us, 0700. The
 * most recently changed, where an earlier daemon's orphans would be. Others are left alone:
 * removed, their name could be taken by another user while a daemon still means to use it.
 */
async function earlierFallback(tmp: string, uid: number): Promise<string | undefined> {
  const name = new RegExp(`^jupyter-desktops-${uid}-[A-Za-z0-9]{6}$`);
  const ours: { path: string; mtimeMs: number }[] = [];
  for (const n of await readdir(tmp).catch(() => [] as string[])) {
    if (!name.test(n)) {
      continue;
    }
    const path = join(tmp, n);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory() && st.uid === uid && (st.mode & 0o777) === 0o700) {
      ours.push({ path, mtimeMs: st.mtimeMs });
    }
  }
  ours.sort((a, b) => b.mtimeMs - a.mtimeMs);
  return ours[0]?.path;
}

/**
 * This daemon's own directory, `<runtime dir>/d<pid>` (a user's second Jupyter server runs a
 * second daemon), made private; or an Error whose message says, in a sentence, why not.
 * `tmpDir` (default: os.tmpdir()) is where a fallback root goes.
 */
export async function prepareRuntimeDir(cfg: {
  runtimeDir: string;
  runtimeDirGiven: boolean;
  tmpDir?: string;
}): Promise<string> {
  let root = cfg.runtimeDir;
  const own = (r: string): string => join(r, `d${process.pid}`);
  const fix =
    'Set c.Desktops.runtime_dir (in jupyter_server_config.py) to a directory of your own, ' +
    'or ask your administrator to.';
  if (own(root).length + SESSION_SOCKET.length > SOCKET_PATH_MAX) {
    throw new Error(
      `The runtime directory ${root} is too long a path: desktop sockets under it would ` +
        `pass Linux's limit of ${SOCKET_PATH_MAX} characters for a socket path. ${fix}`
    );
  }
  try {
    await ensurePrivateDir(root);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code
      ? describeFsError(err, root)
      : (err as Error).message;
    if (cfg.runtimeDirGiven) {
      throw new Error(`The runtime directory ${root} cannot be used: ${why}. ${fix}`);
    }
    // The shared default in /tmp can be squatted by another user: use a private one, the same
    // one each start (a fresh one each time would pile up, and hide an earlier daemon's
    // orphans from the sweep, which looks beside this daemon's own directory only).
    const tmp = cfg.tmpDir ?? tmpdir();
    const uid = process.getuid?.() ?? 0;
    root =
      (await earlierFallback(tmp, uid)) ?? (await mkdtemp(join(tmp, `jupyter-desktops-${uid}-`)));
    process.stderr.write(
      `jupyter-desktops-daemon: ${why}; using ${root} instead ` +
        '(set XDG_RUNTIME_DIR or --runtime-dir to a directory of your own)\n'
    );
  }
  try {
    await ensurePrivateDir(own(root));
  } catch (err) {
    throw new Error(
      `The runtime directory ${root} cannot be used: ${describeFsError(err, own(root))}. ${fix}`
    );
  }
  cfg.runtimeDir = root;
  return own(root);
}
