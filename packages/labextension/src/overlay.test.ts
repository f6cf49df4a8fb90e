// The status overlay renders a connection's status as text, and keeps the message's element
// while only its words change (the start counter), so the spinner drawn on it keeps turning.
import { win } from './test-dom'; // first: the DOM
import { nullTranslator } from '@jupyterlab/translation';
import { afterAll, describe, expect, it } from 'vitest';
import { StatusOverlay } from './overlay';

afterAll(async () => {
  await win.happyDOM.close();
});

const trans = nullTranslator.load('jupyterlab_desktops');

describe('StatusOverlay', () => {
  it('a moving counter keeps its element; a new state, action or log draws afresh', () => {
    const o = new StatusOverlay(trans);
    expect(o.render({ state: 'starting', message: 'Starting XFCE… 1 s', actions: [] })).toBe(true);
    const p = o.node.querySelector('.jp-Desktops-message');
    // Only the words changed: no news for the toolbar (render says so).
    expect(o.render({ state: 'starting', message: 'Starting XFCE… 2 s', actions: [] })).toBe(false);
    expect(o.node.querySelector('.jp-Desktops-message')).toBe(p);
    expect(p?.textContent).toBe('Starting XFCE… 2 s');
    expect(o.message).toBe('Starting XFCE… 2 s');
    let retried = 0;
    const redrawn = o.render({
      state: 'starting',
      message: 'XFCE is taking longer than 60 s to start.',
      actions: [{ label: 'Retry', action: () => retried++ }],
      log: 'xfce4-session: <b>hello</b>'
    });
    expect(redrawn).toBe(true);
    expect(o.node.querySelector('.jp-Desktops-message')).not.toBe(p);
    expect([...o.node.querySelectorAll('button')].map(b => b.textContent)).toEqual(['Retry']);
    (o.node.querySelector('button') as unknown as HTMLButtonElement).click();
    expect(retried).toBe(1);
    // Text stays text: a log line is never markup.
    expect(o.node.querySelector('.jp-Desktops-log')?.textContent).toBe(
      'xfce4-session: <b>hello</b>'
    );
    expect(o.node.querySelector('.jp-Desktops-log b')).toBeNull();
    expect(o.node.hidden).toBe(false);
    o.render({ state: 'connected', message: '', actions: [] });
    expect(o.node.hidden).toBe(true);
    expect(o.node.children.length).toBe(0);
  });
});
