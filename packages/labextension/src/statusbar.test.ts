// The status bar item: its count and label follow the live sessions, and a server out of reach
// hides it instead of throwing.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import type { Session } from '@jupyterlab-desktops/protocol';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { afterAll, describe, expect, it } from 'vitest';

afterAll(async () => {
  await win.happyDOM.close();
});

const session = (id: string, title: string, state: Session['state']): Session =>
  ({ id, title, state, profile: id, startedAt: '' }) as Session;

async function statusItem(sessions: () => Promise<Session[]>) {
  const { DesktopsStatus } = await import('./statusbar');
  return new DesktopsStatus({
    commands: new CommandRegistry(),
    show: 'desktops:open',
    sessions,
    trans: nullTranslator.load('jupyterlab_desktops')
  });
}

describe('DesktopsStatus', () => {
  it('counts live desktops only, and names them', async () => {
    const item = await statusItem(async () => []);
    item.setSessions([
      session('a', 'XFCE', 'running'),
      session('b', 'MATE', 'starting'),
      session('c', 'Ncview', 'exited')
    ]);
    expect(item.node.textContent).toBe('2 desktops');
    expect(item.node.title).toBe('Running desktops: XFCE, MATE');
    expect(item.isHidden).toBe(false);
    item.setSessions([]);
    expect(item.isHidden).toBe(true);
    item.dispose();
  });

  it('a server out of reach hides the item; opening the menu does not throw', async () => {
    const item = await statusItem(async () => {
      throw new Error('The Jupyter server could not be reached');
    });
    item.setSessions([session('a', 'XFCE', 'running')]);
    await expect(item.openMenu()).resolves.toBeUndefined();
    expect(item.isHidden).toBe(true);
    item.dispose();
  });
});
