// The status bar item: how many desktops run, and a menu of them; choosing one shows its tab
// (or opens one attached to it, for a desktop whose tab was closed).
import { isLive, type Session } from '@jupyterlab-desktops/protocol';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { Menu, Widget } from '@lumino/widgets';

export class DesktopsStatus extends Widget {
  constructor(
    private readonly _options: {
      commands: CommandRegistry;
      /** Command that shows a session: args `{ profile, session }`. */
      show: string;
      /** The running sessions (asked each time the menu opens). */
      sessions: () => Promise<Session[]>;
      trans: TranslationBundle;
    }
  ) {
    super({ node: document.createElement('button') });
    this.addClass('jp-Desktops-statusItem');
    this.addClass('jp-StatusBar-TextItem');
    this.node.setAttribute('type', 'button');
    this.node.addEventListener('click', () => void this.openMenu());
    this.setSessions([]);
  }

  /** Shows the count of running desktops; hidden when there are none. */
  setSessions(sessions: Session[]): void {
    const running = sessions.filter(isLive);
    const t = this._options.trans;
    this.node.textContent = t._n('%1 desktop', '%1 desktops', running.length);
    this.node.title = running.length
      ? t.__('Running desktops: %1', running.map(s => s.title).join(', '))
      : '';
    this.node.setAttribute('aria-label', this.node.title || this.node.textContent);
    this.setHidden(running.length === 0);
  }

  /** Asks the daemon again which desktops run. */
  refresh(): void {
    this._options
      .sessions()
      .then(s => this.setSessions(s))
      .catch(() => this.setSessions([]));
  }

  async openMenu(): Promise<void> {
    const { commands, show, trans } = this._options;
    let sessions: Session[];
    try {
      sessions = (await this._options.sessions()).filter(isLive);
    } catch {
      // The server is out of reach: no list to show (the desktop tabs say why).
      sessions = [];
    }
    this.setSessions(sessions);
    if (!sessions.length) {
      return;
    }
    const menu = new Menu({ commands });
    menu.addClass('jp-Desktops-statusMenu');
    menu.title.label = trans.__('Running desktops');
    for (const s of sessions) {
      menu.addItem({ command: show, args: { profile: s.profile, session: s.id } });
    }
    const box = this.node.getBoundingClientRect();
    menu.open(box.left, box.top, { forceY: false });
    // Above the status bar, not over it.
    const h = menu.node.getBoundingClientRect().height;
    menu.node.style.top = `${Math.max(0, box.top - h)}px`;
  }
}
