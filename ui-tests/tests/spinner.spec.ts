// The start spinner: while a desktop starts, a small ring before the tab's message turns (a CSS
// animation on the message's ::before, in the theme's colour), it stands still for users who
// ask for reduced motion, and it is gone once the desktop shows.
import { type Locator } from '@playwright/test';
import { expect, test } from './fixtures';
import { desktopTab, openLab, stopAllDesktops, tile, waitForDesktop } from './helpers';

const SESSIONS_URL = /\/desktops\/api\/sessions(\?[^/]*)?$/;

test.beforeEach(async ({ request }) => {
  await stopAllDesktops(request);
});

/** The page's CSS animations of ours: name, play state and what they animate in `widget`. */
function animations(widget: Locator): Promise<{ name: string; state: string; on: string }[]> {
  return widget.evaluate(w =>
    document
      .getAnimations()
      .filter((a): a is CSSAnimation => a instanceof CSSAnimation)
      .filter(a => a.animationName.startsWith('jp-Desktops'))
      .map(a => {
        const effect = a.effect as KeyframeEffect | null;
        const target = effect?.target;
        const on =
          target && w.contains(target)
            ? `${target.className}${effect.pseudoElement ?? ''}`
            : 'outside the tab';
        return { name: a.animationName, state: a.playState, on };
      })
  );
}

/** The ring as the browser computes it: the message's ::before. */
function ring(
  message: Locator
): Promise<{ content: string; width: string; border: string; brand: string; transform: string }> {
  return message.evaluate(el => {
    const before = getComputedStyle(el, '::before');
    // The theme's brand colour, resolved the same way (a probe styled with the variable).
    const probe = document.createElement('span');
    probe.style.color = 'var(--jp-brand-color1)';
    el.parentElement!.append(probe);
    const brand = getComputedStyle(probe).color;
    probe.remove();
    return {
      content: before.content,
      width: before.width,
      border: before.borderRightColor,
      brand,
      transform: before.transform
    };
  });
}

test('a ring turns before the message while a desktop starts, and stands still with reduced motion', async ({
  page,
  request
}) => {
  // The start request is held in the browser until the ring has been looked at: the tab stays
  // in its starting state as long as the test needs, however fast the desktop would start.
  let release = (): void => undefined;
  const released = new Promise<void>(resolve => (release = resolve));
  let held = false;
  await page.route(SESSIONS_URL, async route => {
    if (route.request().method() !== 'POST') {
      return route.continue();
    }
    held = true;
    await released;
    // The page may be gone already if the test failed before releasing it.
    await route.continue().catch(() => undefined);
  });
  try {
    await openLab(page);
    await tile(page, 'XFCE').click();
    const { panel } = await desktopTab(page, 'XFCE');
    const widget = panel.locator('.jp-Desktops-widget');
    const message = panel.locator('.jp-Desktops-message');
    await expect.poll(() => held).toBe(true);
    await expect(widget).toHaveAttribute('data-state', 'starting');
    await expect(message).toHaveText(/^Starting XFCE… \d+ s$/);

    // The ring is there, in the theme's brand colour (its top side open)...
    const first = await ring(message);
    expect(first).toMatchObject({ content: '""', width: '12px' });
    expect(first.border).toBe(first.brand);
    expect(first.border).not.toBe('rgba(0, 0, 0, 0)');
    // ...it is the spin animation, running on the message's ::before...
    await expect
      .poll(() => animations(widget))
      .toEqual([{ name: 'jp-Desktops-spin', state: 'running', on: 'jp-Desktops-message::before' }]);
    // ...and it really turns: its rotation changes from one reading to the next. The message's
    // text changes every second (the start counter) without stopping it.
    expect(first.transform).toMatch(/^matrix\(/);
    await expect.poll(async () => (await ring(message)).transform).not.toBe(first.transform);
    const later = (await ring(message)).transform;
    await expect.poll(async () => (await ring(message)).transform).not.toBe(later);
    const text = await message.textContent();
    await expect(message).not.toHaveText(text!);
    expect(await animations(widget)).toEqual([
      { name: 'jp-Desktops-spin', state: 'running', on: 'jp-Desktops-message::before' }
    ]);

    // Reduced motion: the ring stays, still.
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await expect.poll(() => animations(widget)).toEqual([]);
    expect(await ring(message)).toMatchObject({ content: '""', width: '12px', transform: 'none' });
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    await expect
      .poll(() => animations(widget))
      .toEqual([{ name: 'jp-Desktops-spin', state: 'running', on: 'jp-Desktops-message::before' }]);
    await expect(widget).toHaveAttribute('data-state', 'starting');

    // Let the start through: the desktop shows, and nothing turns any more.
    release();
    await waitForDesktop(page, panel);
    await expect(widget).toHaveAttribute('data-state', 'connected');
    expect(await animations(widget)).toEqual([]);
  } finally {
    release();
    await page.unroute(SESSIONS_URL);
  }
  // Stop what the test started.
  await stopAllDesktops(request);
});
