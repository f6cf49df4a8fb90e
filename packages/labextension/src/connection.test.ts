// DesktopConnection without any widget (as Lab's terminal connection lives apart from its
// view): it starts a desktop, says each step as a status, resolves `ready` once, and its
// status is all a view needs. Real daemon, real Xtigervnc; noVNC in happy-dom opens nothing,
// so the last step seen is `connecting`.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import { nullTranslator } from '@jupyterlab/translation';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MINIMAL_SESSION,
  startDaemon,
  writeProfile,
  type ITestDaemon
} from '../../../daemon/test/helpers';
import { DesktopConnection } from './connection';
import { DEFAULT_SETTINGS } from './settings';
import { serve, TOKEN, type IServed } from './test-serve';

let d: ITestDaemon;
let served: IServed;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'desktops-connection-'));
  writeProfile(dir, 'test-min', MINIMAL_SESSION, { title: 'Minimal' });
  d = await startDaemon([dir], { token: TOKEN });
  served = await serve(d);
});
afterAll(async () => {
  await served?.dispose();
  await d?.close();
  await win.happyDOM.close();
});

function connection(session?: string): DesktopConnection {
  const c = new DesktopConnection({
    api: served.api,
    events: served.events,
    profile: { id: 'test-min', title: 'Minimal' },
    trans: nullTranslator.load('jupyterlab_desktops'),
    screen: document.createElement('div') as unknown as HTMLElement,
    size: () => ({ width: 640, height: 480 }),
    session
  });
  c.setSettings(DEFAULT_SETTINGS);
  return c;
}

describe('DesktopConnection, without a view', () => {
  it('starts: starting (not ready), then connecting (ready), with its session known throughout', async () => {
    const c = connection();
    const seen: string[] = [];
    c.statusChanged.connect((_, s) => seen.push(`${s.state}${s.actions.length ? '+' : ''}`));
    let ready = false;
    void c.ready.then(() => (ready = true));
    c.open();
    c.open(); // once only
    await expect.poll(() => c.session?.id).toBeTruthy();
    const id = c.session!.id;
    expect(ready).toBe(false);
    await c.ready;
    expect(d.sessions.get(id)?.state).toBe('running');
    expect(c.status.state).toBe('connecting');
    expect(seen[0]).toBe('starting');
    expect(seen.at(-1)).toBe('connecting');
    expect(d.sessions.live().map(s => s.id)).toEqual([id]);
    await c.stop();
    expect(c.status).toMatchObject({ state: 'ended', message: 'Minimal was stopped' });
    expect(c.status.actions.map(a => a.label)).toEqual(['Restart']);
    c.dispose();
  });

  it('dispose with "stop on close" ends the desktop; the status signal is quiet after it', async () => {
    const running = await d.sessions.start('test-min');
    const c = connection(running.id);
    c.setSettings({ ...DEFAULT_SETTINGS, stopOnClose: true });
    c.open();
    await c.ready;
    let after = 0;
    c.dispose();
    c.statusChanged.connect(() => after++);
    await expect.poll(() => d.sessions.get(running.id)?.state, { timeout: 10_000 }).toBe('exited');
    expect(after).toBe(0);
    expect(c.isDisposed).toBe(true);
  });
});
