import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILES, fakePath, ICONS, tmp, writeProfile } from '../test/helpers';
import { findProgram, missingReason, ProfileStore } from './profiles';

const BASE_PROGRAMS = ['Xtigervnc', 'dbus-launch', 'xfce4-session', 'mate-session', 'glxinfo'];

describe('ProfileStore with the built-in profiles', () => {
  it('lists the five tiles in launcher order', async () => {
    const store = new ProfileStore({
      dirs: [BUILTIN_PROFILES],
      iconDirs: [ICONS],
      xvnc: 'Xtigervnc',
      path: fakePath(...BASE_PROGRAMS)
    });
    const list = (await store.list()).map(r => r.profile);
    expect(list.map(p => p.id)).toEqual(['xfce', 'mate', 'vapor', 'panoply', 'matlab']);
    expect(list.map(p => p.title)).toEqual([
      'XFCE',
      'MATE',
      'NCAR VAPOR',
      'NASA Panoply',
      'MATLAB'
    ]);
    for (const p of list) {
      expect(p.icon).toBe(`api/profiles/${p.id}/icon`);
    }
  });

  it('disables the apps that are missing and says where they were looked for', async () => {
    const store = new ProfileStore({
      dirs: [BUILTIN_PROFILES],
      iconDirs: [ICONS],
      xvnc: 'Xtigervnc',
      path: fakePath(...BASE_PROGRAMS)
    });
    const byId = Object.fromEntries((await store.list()).map(r => [r.profile.id, r.profile]));
    expect(byId.xfce.available).toBe(true);
    expect(byId.mate.available).toBe(true);
    expect(byId.vapor.available).toBe(false);
    expect(byId.vapor.unavailableReason).toBe(
      'VAPOR is not installed: vapor not found at /opt/vapor/bin/vapor, /opt/vapor/vapor.AppImage, /usr/local/vapor/bin/vapor, /usr/local/bin/vapor or on PATH'
    );
    expect(byId.panoply.unavailableReason).toMatch(/^Panoply is not installed: panoply not found/);
    expect(byId.panoply.unavailableReason).toMatch(
      /A Java runtime \(needed by Panoply\) is not installed/
    );
    expect(byId.matlab.unavailableReason).toMatch(/^MATLAB is not installed/);
  });

  it('enables an app tile as soon as its program appears, and hands its path to the xstartup', async () => {
    const path = fakePath(...BASE_PROGRAMS);
    const store = new ProfileStore({ dirs: [BUILTIN_PROFILES], xvnc: 'Xtigervnc', path });
    expect((await store.get('vapor'))?.profile.available).toBe(false);
    writeFileSync(join(path, 'vapor'), '#!/bin/sh\n');
    chmodSync(join(path, 'vapor'), 0o755);
    const vapor = await store.get('vapor');
    expect(vapor?.profile.available).toBe(true);
    expect(vapor?.env).toEqual({
      DESKTOPS_APP: join(path, 'vapor'),
      DESKTOPS_APP_SESSION: join(BUILTIN_PROFILES, 'app-session.sh')
    });
  });

  it('disables every tile when Xtigervnc is missing', async () => {
    const store = new ProfileStore({
      dirs: [BUILTIN_PROFILES],
      xvnc: 'Xtigervnc',
      path: fakePath('dbus-launch', 'xfce4-session')
    });
    const xfce = await store.get('xfce');
    expect(xfce?.profile.available).toBe(false);
    expect(xfce?.profile.unavailableReason).toMatch(/TigerVNC is not installed/);
  });
});

describe('ProfileStore with admin profiles', () => {
  it('adds, overrides and hides profiles from later directories', async () => {
    const admin = tmp();
    writeProfile(admin, 'test-extra', 'exit 0', { title: 'Extra' });
    writeProfile(admin, 'xfce', 'exit 0', { title: 'XFCE (site)' });
    writeFileSync(
      join(admin, 'mate.json'),
      JSON.stringify({ id: 'mate', title: 'MATE', xstartup: 'x', enabled: false })
    );
    const store = new ProfileStore({
      dirs: [BUILTIN_PROFILES, admin],
      xvnc: 'Xtigervnc',
      path: fakePath(...BASE_PROGRAMS)
    });
    const list = (await store.list()).map(r => r.profile);
    expect(list.find(p => p.id === 'xfce')?.title).toBe('XFCE (site)');
    expect(list.find(p => p.id === 'test-extra')?.available).toBe(true);
    expect(list.find(p => p.id === 'mate')).toBeUndefined();
  });

  it('reports invalid files and keeps serving the valid ones', async () => {
    const admin = tmp();
    writeFileSync(join(admin, 'broken.json'), '{ not json');
    writeFileSync(
      join(admin, 'evil.json'),
      JSON.stringify({ id: '../x', title: 'x', xstartup: 'x' })
    );
    const store = new ProfileStore({ dirs: [BUILTIN_PROFILES, admin], xvnc: 'Xtigervnc' });
    const { entries, problems } = await store.load();
    expect(entries.has('xfce')).toBe(true);
    expect(problems.map(p => p.file).sort()).toEqual([
      join(admin, 'broken.json'),
      join(admin, 'evil.json')
    ]);
    expect(problems.find(p => p.file.endsWith('evil.json'))?.message).toMatch(
      /^\/id: must match pattern/
    );
  });

  it('marks a profile whose start script is not executable as unavailable', async () => {
    const admin = tmp();
    writeProfile(admin, 'test-noexec', 'exit 0');
    chmodSync(join(admin, 'test-noexec.sh'), 0o644);
    const store = new ProfileStore({
      dirs: [admin],
      xvnc: 'Xtigervnc',
      path: fakePath('Xtigervnc')
    });
    expect((await store.get('test-noexec'))?.profile.unavailableReason).toMatch(
      /start script .* is missing or not executable/
    );
  });

  it('tells onProblem of a profile that breaks after it loaded, once per change', async () => {
    const dir = tmp();
    writeProfile(dir, 'test-a', 'exit 0');
    writeProfile(dir, 'test-b', 'exit 0');
    const told: string[] = [];
    const store = new ProfileStore({
      dirs: [dir],
      xvnc: 'Xtigervnc',
      path: fakePath('Xtigervnc'),
      onProblem: p => told.push(`${p.skipped ? 'skipped' : 'kept'} ${p.file}: ${p.message}`)
    });
    expect((await store.list()).map(r => r.profile.available)).toEqual([true, true]);
    expect(told).toEqual([]);

    writeFileSync(join(dir, 'test-a.json'), '{"id": "test-a", "title": ');
    chmodSync(join(dir, 'test-b.sh'), 0o644);
    await store.list();
    await store.get('test-b');
    await Promise.all([store.list(), store.list()]);
    expect(told).toEqual([
      expect.stringMatching(new RegExp(`^skipped ${join(dir, 'test-a.json')}: .*JSON`)),
      `kept ${join(dir, 'test-b.json')}: its start script ${join(dir, 'test-b.sh')} is ` +
        'missing or not executable'
    ]);

    // Mended, then broken in another way: that is a change, told again.
    writeProfile(dir, 'test-a', 'exit 0');
    expect((await store.list()).map(r => r.profile.id)).toContain('test-a');
    writeFileSync(join(dir, 'test-a.json'), JSON.stringify({ id: 'test-a', title: 'A' }));
    await store.list();
    expect(told).toHaveLength(3);
    expect(told[2]).toMatch(new RegExp(`^skipped ${join(dir, 'test-a.json')}: /: `));
  });

  it('ignores a missing admin directory', async () => {
    const store = new ProfileStore({
      dirs: [BUILTIN_PROFILES, '/nonexistent/desktops'],
      xvnc: 'Xtigervnc'
    });
    expect((await store.load()).problems).toEqual([]);
  });
});

describe('findProgram', () => {
  it('prefers listed paths to PATH and rejects relative paths and directories', async () => {
    const a = fakePath('tool');
    const b = fakePath('tool');
    mkdirSync(join(a, 'dir'));
    expect(await findProgram('tool', [join(b, 'tool')], a)).toBe(join(b, 'tool'));
    expect(await findProgram('tool', [], a)).toBe(join(a, 'tool'));
    expect(await findProgram('./tool', [], a)).toBeUndefined();
    expect(await findProgram('dir', [], a)).toBeUndefined();
  });

  it('phrases the reason for absolute and bare commands', () => {
    expect(missingReason({ command: '/opt/x/bin/x', name: 'X' })).toBe(
      'X is not installed: /opt/x/bin/x not found'
    );
    expect(missingReason({ command: 'x' })).toBe('x is not installed: x not found on PATH');
  });
});
