import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { matchesFileType } from '@jupyterlab-desktops/protocol';
import { resolveOpen } from './open';

const PANOPLY = { title: 'NASA Panoply', fileTypes: ['.nc', '.nc4', '.hdf'] };

describe('matchesFileType', () => {
  it('matches a declared extension without case, and not a bare extension', () => {
    expect(matchesFileType('data/run.NC', ['.nc'])).toBe(true);
    expect(matchesFileType('a.tar.nc4', ['.nc', '.nc4'])).toBe(true);
    expect(matchesFileType('run.ncx', ['.nc'])).toBe(false);
    expect(matchesFileType('.nc', ['.nc'])).toBe(false);
    expect(matchesFileType('run.nc', [])).toBe(false);
  });
});

describe('resolveOpen', () => {
  let base: string;
  let root: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'desktops-open-')));
    root = join(base, 'root');
    mkdirSync(join(root, 'data', 'dir.nc'), { recursive: true });
    writeFileSync(join(root, 'data', 'run 1 $(touch x) `id`.nc'), 'CDF');
    writeFileSync(join(root, 'notes.txt'), 'x');
    writeFileSync(join(base, 'secret.nc'), 'CDF');
    symlinkSync(join(base, 'secret.nc'), join(root, 'escape.nc'));
    symlinkSync(join(root, 'data', 'run 1 $(touch x) `id`.nc'), join(root, 'link.nc'));
  });

  it('gives the absolute path of a file inside the root, any characters in its name', async () => {
    const f = await resolveOpen(PANOPLY, root, 'data/run 1 $(touch x) `id`.nc');
    expect(f).toEqual({
      absolute: join(root, 'data', 'run 1 $(touch x) `id`.nc'),
      path: 'data/run 1 $(touch x) `id`.nc'
    });
  });

  it('takes a root-relative path with a leading slash, as the contents API may write it', async () => {
    const f = await resolveOpen(PANOPLY, root, '/data/run 1 $(touch x) `id`.nc');
    expect(f.path).toBe('data/run 1 $(touch x) `id`.nc');
  });

  it('follows a symlink that stays inside the root to its target', async () => {
    const f = await resolveOpen(PANOPLY, root, 'link.nc');
    expect(f.absolute).toBe(join(root, 'data', 'run 1 $(touch x) `id`.nc'));
  });

  it.each([
    ['../secret.nc', /"..\/secret.nc" lies outside your Jupyter root/],
    ['data/../../secret.nc', /lies outside your Jupyter root/],
    ['escape.nc', /"escape.nc" lies outside your Jupyter root/],
    ['data/dir.nc', /"data\/dir.nc" is not a regular file/],
    ['missing.nc', /There is no file "missing.nc" in your Jupyter root/],
    ['notes.txt', /NASA Panoply opens .nc, .nc4, .hdf files, not .txt \("notes.txt"\)/],
    ['README', /files, not a file without an extension \("README"\)/],
    ['', /"" is not a file path in your Jupyter root/],
    ['a\0.nc', /is not a file path in your Jupyter root/]
  ])('refuses %j with a sentence', async (path, message) => {
    await expect(resolveOpen(PANOPLY, root, path)).rejects.toThrow(message);
  });

  it('refuses any file for a profile that declares no file types', async () => {
    await expect(
      resolveOpen({ title: 'XFCE', fileTypes: [] }, root, 'data/run 1 $(touch x) `id`.nc')
    ).rejects.toThrow('XFCE does not open files');
  });

  it('uses the code the HTTP layer maps to 404 only for a missing file', async () => {
    await expect(resolveOpen(PANOPLY, root, 'missing.nc')).rejects.toMatchObject({
      code: 'not-found'
    });
    await expect(resolveOpen(PANOPLY, root, 'escape.nc')).rejects.toMatchObject({
      code: 'bad-request'
    });
  });
});
