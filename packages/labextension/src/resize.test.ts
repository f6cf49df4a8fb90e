import { describe, expect, it } from 'vitest';
import { RemoteResizer, targetSize, type ISize } from './resize';

const MIN = { width: 320, height: 200 };
const MAX = { width: 1920, height: 1080 };

describe('targetSize', () => {
  it('ignores a hidden (0x0) or collapsed tab', () => {
    expect(targetSize({ width: 0, height: 0 }, MIN, MAX)).toBeNull();
    expect(targetSize({ width: 1200, height: 40 }, MIN, MAX)).toBeNull();
  });

  it('clamps to the limits and drops fractions', () => {
    expect(targetSize({ width: 1023.7, height: 700.2 }, MIN, MAX)).toEqual({
      width: 1023,
      height: 700
    });
    expect(targetSize({ width: 5000, height: 3000 }, MIN, MAX)).toEqual(MAX);
    expect(targetSize({ width: 200, height: 150 }, MIN, MAX)).toEqual(MIN);
  });
});

/** A desktop whose framebuffer follows requests (or not), on a hand-driven clock. */
function rig(follow = true) {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 0;
  const state = {
    avail: { width: 800, height: 600 } as ISize,
    fb: { width: 800, height: 600 } as ISize | null
  };
  const requests: ISize[] = [];
  const checks: (ISize | null)[] = [];
  const resizer = new RemoteResizer(
    {
      available: () => state.avail,
      current: () => state.fb,
      request: size => {
        requests.push(size);
        if (follow) {
          state.fb = size;
        }
      },
      checked: asked => checks.push(asked)
    },
    {
      debounceMs: 300,
      retryMs: 1000,
      maxAttempts: 3,
      min: MIN,
      max: MAX,
      setTimeout: (fn, ms) => {
        const id = ++nextId;
        timers.push({ at: now + ms, fn, id });
        return id;
      },
      clearTimeout: id => {
        const i = timers.findIndex(t => t.id === id);
        if (i >= 0) {
          timers.splice(i, 1);
        }
      }
    }
  );
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > end) {
        break;
      }
      timers.shift();
      now = t.at;
      t.fn();
    }
    now = end;
  };
  return { resizer, state, requests, checks, advance };
}

describe('RemoteResizer', () => {
  it('asks once for the last size of a burst of changes (debounced)', () => {
    const { resizer, state, requests, advance } = rig();
    resizer.enabled = true;
    for (const w of [900, 1000, 1100, 1200]) {
      state.avail = { width: w, height: 700 };
      resizer.schedule();
      advance(100);
    }
    expect(requests).toEqual([]);
    advance(300);
    expect(requests).toEqual([{ width: 1200, height: 700 }]);
    advance(5000);
    expect(requests).toHaveLength(1);
  });

  it('does nothing while the tab is hidden, and catches up when it is shown', () => {
    const { resizer, state, requests, advance } = rig();
    resizer.enabled = true;
    state.avail = { width: 0, height: 0 };
    resizer.schedule();
    advance(2000);
    expect(requests).toEqual([]);
    state.avail = { width: 1000, height: 640 };
    resizer.schedule();
    advance(400);
    expect(requests).toEqual([{ width: 1000, height: 640 }]);
  });

  it('repeats a request the server did not follow, a few times only', () => {
    const { resizer, state, requests, advance } = rig(false);
    resizer.enabled = true;
    state.avail = { width: 1000, height: 640 };
    resizer.schedule();
    advance(10_000);
    expect(requests).toHaveLength(3);
  });

  it('sends nothing when disabled (scale or none), and nothing when the size already fits', () => {
    const { resizer, state, requests, advance } = rig();
    state.avail = { width: 1000, height: 640 };
    resizer.schedule();
    advance(1000);
    expect(requests).toEqual([]);
    state.avail = { width: 800, height: 600 };
    resizer.enabled = true;
    advance(1000);
    expect(requests).toEqual([]);
  });

  it('reports each look at a change, with what it asked for (nothing while hidden or disabled)', () => {
    const { resizer, state, checks, advance } = rig();
    resizer.enabled = true;
    state.avail = { width: 0, height: 0 };
    resizer.schedule();
    advance(400);
    expect(checks).toEqual([null]);
    state.avail = { width: 1000, height: 640 };
    resizer.schedule();
    advance(400);
    expect(checks).toEqual([null, { width: 1000, height: 640 }]);
    resizer.enabled = false;
    resizer.schedule();
    expect(checks).toEqual([null, { width: 1000, height: 640 }, null]);
  });
});
