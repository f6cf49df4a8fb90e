import type { Spare } from '@jupyterlab-desktops/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOOLBAR_PX, nextTabSize, Prestarter, type IAreaLike } from './prestart';
import type { ISize } from './resize';

/** An element whose layout reports the given sizes (no layout engine here). */
function box(width: number, height: number): HTMLElement {
  return { clientWidth: width, clientHeight: height, offsetHeight: height } as HTMLElement;
}

function area(outer: ISize, inner: ISize): IAreaLike {
  return {
    node: box(outer.width, outer.height),
    content: { node: box(inner.width, inner.height) }
  };
}

function rig(answer: () => Promise<Spare> = async () => ({ state: 'starting' })) {
  const asked: ISize[] = [];
  const p = new Prestarter(size => {
    asked.push(size);
    return answer();
  });
  return { p, asked };
}

describe('nextTabSize', () => {
  it('takes the frame off the area and keeps sizes even, as a tab asks', () => {
    expect(nextTabSize({ width: 1201, height: 801 }, { width: 0, height: 30 })).toEqual({
      width: 1200,
      height: 770
    });
  });

  it('says nothing for a hidden area', () => {
    expect(nextTabSize({ width: 0, height: 0 }, { width: 0, height: 30 })).toBeNull();
    expect(nextTabSize({ width: 800, height: 20 }, { width: 0, height: 30 })).toBeNull();
  });
});

describe('Prestarter', () => {
  it("asks for the launcher's size less a tab's usual toolbar until a tab was measured", async () => {
    const { p, asked } = rig();
    await p.launcherShown(area({ width: 1070, height: 811 }, { width: 1070, height: 803 }));
    expect(DEFAULT_TOOLBAR_PX).toBe(32);
    // As measured in JupyterLab 4.6: 811 less a 32 px toolbar, even.
    expect(asked).toEqual([{ width: 1070, height: 778 }]);
  });

  it('then takes off what a desktop tab really loses to its frame', async () => {
    const { p, asked } = rig();
    p.learn(area({ width: 1000, height: 700 }, { width: 998, height: 660 }));
    expect(p.chrome).toEqual({ width: 2, height: 40 });
    await p.launcherShown(area({ width: 1400, height: 900 }, { width: 1400, height: 892 }));
    expect(asked).toEqual([{ width: 1398, height: 860 }]);
  });

  it('learns nothing from a hidden tab', () => {
    const { p } = rig();
    p.learn(area({ width: 0, height: 0 }, { width: 0, height: 0 }));
    expect(p.chrome).toBeNull();
  });

  it('asks nothing for a hidden launcher, and a refusal is no error', async () => {
    const { p, asked } = rig(() => Promise.reject(new Error('start-failed')));
    expect(await p.launcherShown(area({ width: 0, height: 0 }, { width: 0, height: 0 }))).toBe(
      null
    );
    expect(asked).toEqual([]);
    expect(
      await p.launcherShown(area({ width: 800, height: 600 }, { width: 800, height: 592 }))
    ).toBeNull();
    expect(asked).toHaveLength(1);
  });
});
