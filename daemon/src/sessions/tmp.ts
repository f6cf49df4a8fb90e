// A desktop's temporary files. Each session gets a private TMPDIR (0700, unpredictable name),
// removed with it: xfce4-session's ICE files and what applications leave in their TMPDIR go
// with the desktop instead of piling up in /tmp. Sockets that cannot move are swept once
// nothing listens on them.
import { constants } from 'node:fs';
import { access, lstat, mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const UID = process.getuid ? process.getuid() : -1;
/** `<tmpdir>/jupyter-desktops-tmp-<uid>-<session id>-<random>` */
const SESSION_TMP = /^jupyter-desktops-tmp-(\d+)-([A-Za-z0-9_-]{16})-/;

/**
 * Says in a sentence why desktops cannot keep temporary files here: a /tmp that cannot be
 * written (a read-only container without a /tmp of its own).
 */
export async function checkTmpDir(dir = tmpdir()): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  const usable =
    st?.isDirectory() &&
    (await access(dir, constants.W_OK | constants.X_OK).then(
      () => true,
      () => false
    ));
  if (!usable) {
    throw new Error(
      `desktops keep temporary files and sockets in ${dir}, and ${dir} cannot be written here ` +
        `(a read-only file system?): give this server a writable ${dir}, e.g. a tmpfs or an emptyDir`
    );
  }
}

/** Makes the private TMPDIR of session `id`. */
export async function makeSessionTmp(id: string): Promise<string> {
  await checkTmpDir();
  return mkdtemp(join(tmpdir(), `jupyter-desktops-tmp-${UID}-${id}-`));
}

/**
 * Removes the TMPDIRs this user's sessions left (a daemon killed before it could) for which
 * the test `gone()` gives holds. The directories are listed first and the test is made after:
 * a session's directory exists before its TMPDIR does, so one that starts meanwhile (in
 * another daemon of the user) is seen as live and keeps it.
 */
export async function sweepSessionTmps(
  gone: () => Promise<(id: string) => boolean>
): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  const isGone = await gone();
  for (const name of names) {
    const m = SESSION_TMP.exec(name);
    if (!m || Number(m[1]) !== UID || !isGone(m[2])) {
      continue;
    }
    const path = join(tmpdir(), name);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory() && st.uid === UID) {
      await rm(path, { recursive: true, force: true });
    }
  }
}

/**
 * Sockets desktops make in fixed places of the shared /tmp, whatever TMPDIR says: libICE's in
 * /tmp/.ICE-unix/<pid> (xfce4-session), and the accessibility bus's /tmp/dbus-* (at-spi's
 * `unix:dir=/tmp`). Killed, their servers leave them. Removes this user's that no process
 * listens on any more (a bound socket is listed in /proc/net/unix).
 */
export async function removeStaleSockets(tmp = '/tmp'): Promise<void> {
  // Listed before the listeners are read: a socket bound meanwhile (a desktop starting while
  // another one ends) is listed in /proc/net/unix by then, and kept.
  const candidates = [
    ...(await readdir(tmp).catch(() => [] as string[]))
      .filter(n => n.startsWith('dbus-'))
      .map(n => join(tmp, n)),
    ...(await readdir(join(tmp, '.ICE-unix')).catch(() => [] as string[])).map(n =>
      join(tmp, '.ICE-unix', n)
    )
  ];
  const listening = await readFile('/proc/net/unix', 'latin1').catch(() => undefined);
  if (listening === undefined) {
    return;
  }
  for (const path of candidates) {
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSocket() && st.uid === UID && !listening.includes(` ${path}\n`)) {
      await unlink(path).catch(() => undefined);
    }
  }
}
