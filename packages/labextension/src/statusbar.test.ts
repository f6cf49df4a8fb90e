// The status bar item: its count and label follow the live sessions, and a server out of reach
// hides it instead of throwing.
import { win } from './test-dom'; // first: Lumino reads the DOM as it loads
import type { Session } from '@jupyterlab-desktops/protocol';
import { nullTranslator } from '@jupyterlab/translation';
import { afterAll, describe, expect, it } from 'vitest';

afterAll(async () => {
  await win.happyDOM.close();
});

const session = (id: string, title: string, state: Session['state']): Session =>
  ({ id, title, state, profile: id, startedAt: '' }) as Session;

let opened = 0;

async function statusItem(sessions: () => Promise<Session[]>) {
  const { DesktopsStatus } = await import('./statusbar');
  return new DesktopsStatus({
    open: () => opened++,
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
    expect(item.node.title).toBe('Running desktops: XFCE, MATE (click to show them)');
    expect(item.isHidden).toBe(false);
    item.setSessions([]);
    expect(item.isHidden).toBe(true);
    item.dispose();
  });

  it('a server out of reach hides the item; a click shows the Running panel, nothing of its own', async () => {
    const item = await statusItem(async () => {
      throw new Error('The Jupyter server could not be reached');
    });
    item.setSessions([session('a', 'XFCE', 'running')]);
    item.refresh();
    await expect.poll(() => item.isHidden).toBe(true);
    const before = document.body.children.length;
    (item.node as HTMLButtonElement).click();
    expect(opened).toBe(1);
    expect(document.body.children.length).toBe(before);
    item.dispose();
  });
});
