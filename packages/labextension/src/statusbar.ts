// The status bar item: how many desktops run. A click shows them in Lab's Running panel
// (their tabs, and Stop); it opens nothing of its own, so nothing moves the page.
import { isLive, type Session } from '@jupyterlab-desktops/protocol';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

export class DesktopsStatus extends Widget {
  constructor(
    private readonly _options: {
      /** Shows the running desktops (Lab's Running panel). */
      open: () => void;
      /** The running sessions. */
      sessions: () => Promise<Session[]>;
      trans: TranslationBundle;
    }
  ) {
    super({ node: document.createElement('button') });
    this.addClass('jp-Desktops-statusItem');
    this.addClass('jp-StatusBar-TextItem');
    this.node.setAttribute('type', 'button');
    this.node.addEventListener('click', () => this._options.open());
    this.setSessions([]);
  }

  /** Shows the count of running desktops; hidden when there are none. */
  setSessions(sessions: Session[]): void {
    const running = sessions.filter(isLive);
    const t = this._options.trans;
    this.node.textContent = t._n('%1 desktop', '%1 desktops', running.length);
    this.node.title = running.length
      ? t.__('Running desktops: %1 (click to show them)', running.map(s => s.title).join(', '))
      : '';
    this.node.setAttribute('aria-label', this.node.title || this.node.textContent);
    this.setHidden(running.length === 0);
  }

  /** Counts again (the event stream said something changed). */
  refresh(): void {
    this._options
      .sessions()
      .then(s => this.setSessions(s))
      .catch(() => this.setSessions([]));
  }
}
