// ProfileStore.sources(): what `jupyter desktops profiles` lists (through the bundle's
// `--profiles`): each profile, the file that defines it and the files it replaces.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILES, fakePath, tmp, writeProfile } from '../test/helpers';
import { ProfileStore } from './profiles';

describe('ProfileStore.sources', () => {
  it('names the file each profile comes from and the files of the same id it replaces', async () => {
    const site = tmp();
    const user = tmp();
    writeProfile(site, 'test-app', 'exit 0', { title: 'App (site)' });
    writeProfile(user, 'test-app', 'exit 0', { title: 'App (mine)' });
    writeProfile(site, 'xfce', 'exit 0', { title: 'XFCE (site)' });
    writeProfile(site, 'test-missing', 'exit 0', {
      title: 'Missing',
      requires: [{ command: '/nonexistent/test-missing-app', name: 'The missing app' }]
    });
    writeFileSync(
      join(user, 'mate.json'),
      JSON.stringify({ id: 'mate', title: 'MATE', xstartup: 'x', enabled: false })
    );
    writeFileSync(join(user, 'broken.json'), '{ not json');
    const store = new ProfileStore({
      dirs: [BUILTIN_PROFILES, site, user],
      xvnc: 'Xtigervnc',
      path: fakePath('Xtigervnc', 'dbus-launch', 'xfce4-session', 'mate-session', 'glxinfo')
    });

    const report = await store.sources();
    expect(report.dirs).toEqual([BUILTIN_PROFILES, site, user]);
    const byId = Object.fromEntries(report.profiles.map(p => [p.profile.id, p]));

    expect(byId['test-app'].file).toBe(join(user, 'test-app.json'));
    expect(byId['test-app'].overrides).toEqual([join(site, 'test-app.json')]);
    expect(byId['test-app'].profile.title).toBe('App (mine)');
    expect(byId['test-app'].profile.available).toBe(true);

    expect(byId.xfce.file).toBe(join(site, 'xfce.json'));
    expect(byId.xfce.overrides).toEqual([join(BUILTIN_PROFILES, 'xfce.json')]);

    expect(byId.vapor.file).toBe(join(BUILTIN_PROFILES, 'vapor.json'));
    expect(byId.vapor.overrides).toEqual([]);

    expect(byId['test-missing'].profile.available).toBe(false);
    expect(byId['test-missing'].profile.unavailableReason).toBe(
      'The missing app is not installed: /nonexistent/test-missing-app not found'
    );

    // Hidden, but said where and what it hides.
    expect(byId.mate).toBeUndefined();
    expect(report.disabled).toEqual([
      {
        id: 'mate',
        file: join(user, 'mate.json'),
        overrides: [join(BUILTIN_PROFILES, 'mate.json')]
      }
    ]);
    expect(report.problems.map(p => p.file)).toEqual([join(user, 'broken.json')]);

    // The launcher's own order, and the same profiles the launcher gets.
    expect(report.profiles.map(p => p.profile)).toEqual((await store.list()).map(r => r.profile));
  });

  it('chains overrides across three directories, lowest priority first', async () => {
    const [a, b, c] = [tmp(), tmp(), tmp()];
    for (const dir of [a, b, c]) {
      writeProfile(dir, 'test-chain', 'exit 0');
    }
    const store = new ProfileStore({ dirs: [a, b, c], xvnc: 'Xtigervnc', path: fakePath() });
    const [only] = (await store.sources()).profiles;
    expect(only.file).toBe(join(c, 'test-chain.json'));
    expect(only.overrides).toEqual([join(a, 'test-chain.json'), join(b, 'test-chain.json')]);
  });
});
