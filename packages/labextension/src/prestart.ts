// Prestarter: while the launcher shows the desktop tiles, the daemon keeps an X server of the
// next desktop tab's size running, so that a click costs only the desktop's own start. A tab
// opens where the launcher is, at the launcher's size less the tab's toolbar: learned from the
// desktop tabs themselves, and until one has been seen, the height a desktop tab's toolbar has
// in JupyterLab 4 (the launcher's own, nearly empty, is shorter).
import type { Spare } from '@jupyterlab-desktops/protocol';
import { even, type ISize } from './resize';

/** What the prestarter needs of a main-area widget: its node and its content's. */
export interface IAreaLike {
  node: HTMLElement;
  content: { node: HTMLElement };
}

/** A desktop tab's toolbar height before one has been measured (JupyterLab 4.x: 32 px). */
export const DEFAULT_TOOLBAR_PX = 32;

/** The size a desktop tab opened in `area` will ask for, given what its frame takes. */
export function nextTabSize(area: ISize, chrome: ISize): ISize | null {
  const width = even(area.width - chrome.width);
  const height = even(area.height - chrome.height);
  // A hidden area (0x0) says nothing about the next tab.
  return area.width > 0 && area.height > 0 && width > 2 && height > 2 ? { width, height } : null;
}

export class Prestarter {
  constructor(private readonly _prepare: (size: ISize) => Promise<Spare>) {}

  /** What a desktop tab's frame (toolbar, borders) takes from its area, once one was seen. */
  get chrome(): ISize | null {
    return this._chrome;
  }

  /** Measures a shown desktop tab: its area less what its desktop gets. */
  learn(tab: IAreaLike): void {
    const inner = tab.content.node;
    if (inner.clientWidth > 0 && inner.clientHeight > 0) {
      this._chrome = {
        width: tab.node.clientWidth - inner.clientWidth,
        height: tab.node.clientHeight - inner.clientHeight
      };
    }
  }

  /**
   * The launcher (in `area`) is shown: asks for an X server of the size a tab opened there
   * will have. The answer is the daemon's business; a failure only means that a click starts
   * its own X server (and says why if that fails too).
   */
  async launcherShown(area: IAreaLike): Promise<Spare | null> {
    const size = nextTabSize(
      { width: area.node.clientWidth, height: area.node.clientHeight },
      this._chrome ?? { width: 0, height: DEFAULT_TOOLBAR_PX }
    );
    if (!size) {
      return null;
    }
    return this._prepare(size).catch(() => null);
  }

  private _chrome: ISize | null = null;
}
