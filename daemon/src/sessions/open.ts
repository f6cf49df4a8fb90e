// "Open in <app>": which file a session may be given. The client names a file by its path in
// the Jupyter contents API (relative to the user's Jupyter root). The daemon resolves it itself,
// symlinks included, and hands the application the absolute path only when the file is a
// regular file inside that root with one of the profile's declared file types. The path then
// reaches the application as one argv element (through DESKTOPS_OPEN), never through a shell.
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { matchesFileType, type Profile } from '@jupyterlab-desktops/protocol';
import { SessionError } from './errors.js';

export interface IOpenFile {
  /** The absolute, symlink-free path the application gets. */
  absolute: string;
  /** The path as the user knows it (relative to the Jupyter root, `/`-separated). */
  path: string;
}

/**
 * Resolves `path` (relative to `root`, as the Jupyter contents API names files) for `profile`.
 * Throws SessionError with a sentence when the profile opens no files, the type is not one it
 * declares, or the file is missing, not a regular file, or outside the root.
 */
export async function resolveOpen(
  profile: Pick<Profile, 'title' | 'fileTypes'>,
  root: string,
  path: string
): Promise<IOpenFile> {
  // The contents API may write a root-relative path with a leading slash.
  const rel = path.replace(/^\/+/, '');
  const shown = JSON.stringify(rel);
  if (!profile.fileTypes.length) {
    throw new SessionError('bad-request', `${profile.title} does not open files`);
  }
  if (rel === '' || rel.includes('\0') || isAbsolute(rel)) {
    throw new SessionError('bad-request', `${shown} is not a file path in your Jupyter root`);
  }
  if (!matchesFileType(rel, profile.fileTypes)) {
    const ext = extname(rel) || 'a file without an extension';
    throw new SessionError(
      'bad-request',
      `${profile.title} opens ${profile.fileTypes.join(', ')} files, not ${ext} (${shown})`
    );
  }
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    throw new SessionError('not-found', `The Jupyter root ${root} does not exist`);
  }
  let absolute: string;
  try {
    absolute = await realpath(join(realRoot, rel));
  } catch {
    throw new SessionError('not-found', `There is no file ${shown} in your Jupyter root`);
  }
  const inside = relative(realRoot, absolute);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new SessionError('bad-request', `${shown} lies outside your Jupyter root`);
  }
  const st = await stat(absolute);
  if (!st.isFile()) {
    throw new SessionError('bad-request', `${shown} is not a regular file`);
  }
  return { absolute, path: rel };
}
