// The pane over a desktop that says where its connection stands: the message, the actions and
// the end of the session's log. It renders a DesktopConnection's status and nothing else; text
// is set as text, never as markup. A message that only changes its words (the start counter)
// keeps its element, so the spinner drawn on it keeps turning.
import type { TranslationBundle } from '@jupyterlab/translation';
import type { DesktopConnection } from './connection';

const MESSAGE_CLASS = 'jp-Desktops-message';
const DETAIL_CLASS = 'jp-Desktops-detail';
const LOG_CLASS = 'jp-Desktops-log';
const ACTIONS_CLASS = 'jp-Desktops-actions';

export class StatusOverlay {
  constructor(private readonly _trans: TranslationBundle) {
    this.node = document.createElement('div');
    this.node.className = 'jp-Desktops-overlay';
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
  }

  readonly node: HTMLDivElement;

  /** The message shown now ("Reconnecting in 2 s…"), for toolbars. */
  get message(): string {
    return this._shown?.message ?? '';
  }

  /**
   * Shows `status`. Returns false when only the message's words changed (the start counter):
   * nothing a toolbar shows is new then.
   */
  render(status: DesktopConnection.IStatus): boolean {
    const old = this._shown;
    this._shown = status;
    this.node.hidden = status.state === 'connected';
    const sameFrame =
      old &&
      old.state === status.state &&
      (old.actions === status.actions || (!old.actions.length && !status.actions.length)) &&
      old.log === status.log &&
      !!old.message === !!status.message;
    if (sameFrame) {
      const p = this.node.querySelector(`.${MESSAGE_CLASS}`);
      if (p) {
        p.textContent = status.message;
      }
      return false;
    }
    this.node.replaceChildren();
    if (status.message) {
      const p = document.createElement('p');
      p.className = MESSAGE_CLASS;
      p.textContent = status.message;
      this.node.append(p);
    }
    if (status.actions.length) {
      const bar = document.createElement('div');
      bar.className = ACTIONS_CLASS;
      for (const a of status.actions) {
        const b = document.createElement('button');
        b.className = 'jp-mod-styled jp-mod-accept';
        b.textContent = a.label;
        b.addEventListener('click', a.action);
        bar.append(b);
      }
      this.node.append(bar);
    }
    if (status.log) {
      const label = document.createElement('p');
      label.className = DETAIL_CLASS;
      label.textContent = this._trans.__('The end of the session log:');
      const pre = document.createElement('pre');
      pre.className = LOG_CLASS;
      pre.textContent = status.log;
      this.node.append(label, pre);
      // The end is what tells: an X server's start-up warnings come first.
      pre.scrollTop = pre.scrollHeight;
    }
    return true;
  }

  private _shown: DesktopConnection.IStatus | null = null;
}
