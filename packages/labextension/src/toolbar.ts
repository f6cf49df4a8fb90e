// The desktop tab's toolbar: its state, and buttons for the commands a desktop tab has. Every
// button runs a command, so the palette, menus and the toolbar do the same thing.
import type { MainAreaWidget } from '@jupyterlab/apputils';
import { CommandToolbarButton, Toolbar } from '@jupyterlab/ui-components';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import type { DesktopWidget } from './widget';

/** The state words the toolbar shows, by widget state. */
export function stateLabel(state: DesktopWidget.State, trans: TranslationBundle): string {
  switch (state) {
    case 'idle':
    case 'starting':
      return trans.__('Starting');
    case 'connecting':
      return trans.__('Connecting');
    case 'connected':
      return trans.__('Connected');
    case 'reconnecting':
      return trans.__('Reconnecting');
    case 'disconnected':
      return trans.__('Disconnected');
    case 'ended':
      return trans.__('Ended');
    case 'failed':
      return trans.__('Failed');
  }
}

/** A dot and a word that follow the desktop's state (announced to screen readers). */
class StateIndicator extends Widget {
  constructor(
    private readonly _desktop: DesktopWidget,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-Desktops-state');
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
    this._dot = document.createElement('span');
    this._dot.className = 'jp-Desktops-stateDot';
    this._label = document.createElement('span');
    this._label.className = 'jp-Desktops-stateLabel';
    this.node.append(this._dot, this._label);
    _desktop.stateChanged.connect(this._update, this);
    this._update();
  }

  private _update(): void {
    const state = this._desktop.state;
    this.node.dataset.state = state;
    this._label.textContent = stateLabel(state, this._trans);
    this.node.title = this._desktop.statusText || this._label.textContent;
  }

  private readonly _dot: HTMLSpanElement;
  private readonly _label: HTMLSpanElement;
}

/** Fills a desktop tab's toolbar. `commands` are ids taking `{ id: <tab id> }`. */
export function populateToolbar(
  tab: MainAreaWidget<DesktopWidget>,
  registry: CommandRegistry,
  commands: {
    fullscreen: string;
    clipboard: string;
    keys: string;
    reconnect: string;
    screenshot: string;
    quality: string;
    stop: string;
  },
  trans: TranslationBundle
): void {
  const args = { id: tab.id };
  // Icons with tooltips, except Stop, which says what it does.
  const button = (name: string, command: string): void => {
    tab.toolbar.addItem(
      name,
      new CommandToolbarButton({
        commands: registry,
        id: command,
        args,
        label: name === 'stop' ? undefined : ''
      })
    );
  };
  tab.toolbar.addItem('state', new StateIndicator(tab.content, trans));
  tab.toolbar.addItem('spacer', Toolbar.createSpacerItem());
  button('keys', commands.keys);
  button('clipboard', commands.clipboard);
  button('quality', commands.quality);
  button('screenshot', commands.screenshot);
  button('fullscreen', commands.fullscreen);
  button('reconnect', commands.reconnect);
  button('stop', commands.stop);
  // Buttons enable and disable with the state.
  tab.content.stateChanged.connect(() => {
    for (const id of Object.values(commands)) {
      registry.notifyCommandChanged(id);
    }
  });
}
