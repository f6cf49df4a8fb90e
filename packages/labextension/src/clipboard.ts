// The clipboard panel: the fallback for browsers (or sites) that do not let the page use the
// system clipboard. It shows what was last copied inside the desktop, ready to copy, and takes
// text to put on the desktop's clipboard.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import type { DesktopWidget } from './widget';

class ClipboardBody extends Widget {
  constructor(desktop: DesktopWidget, trans: TranslationBundle) {
    super();
    this.addClass('jp-Desktops-clipboard');
    const fromLabel = document.createElement('label');
    fromLabel.textContent = trans.__('Copied in the desktop');
    const from = document.createElement('textarea');
    from.readOnly = true;
    from.rows = 4;
    from.className = 'jp-Desktops-clipboardFrom';
    from.value = desktop.remoteClipboard;
    from.placeholder = trans.__('Copy something in the desktop and it appears here.');
    fromLabel.append(from);
    desktop.clipboardChanged.connect((_, text) => (from.value = text), this);

    const toLabel = document.createElement('label');
    toLabel.textContent = trans.__('Send to the desktop');
    this.to = document.createElement('textarea');
    this.to.rows = 4;
    this.to.className = 'jp-Desktops-clipboardTo';
    this.to.placeholder = trans.__('Paste text here, then choose Send.');
    toLabel.append(this.to);
    this.node.append(fromLabel, toLabel);
  }

  getValue(): string {
    return this.to.value;
  }

  readonly to: HTMLTextAreaElement;
}

/** Opens the panel for one desktop; "Send" puts the typed text on its clipboard. */
export async function showClipboardPanel(
  desktop: DesktopWidget,
  trans: TranslationBundle
): Promise<void> {
  const body = new ClipboardBody(desktop, trans);
  const result = await showDialog({
    title: trans.__('Clipboard of %1', desktop.profile.title),
    body,
    focusNodeSelector: '.jp-Desktops-clipboardTo',
    buttons: [
      Dialog.cancelButton({ label: trans.__('Close') }),
      Dialog.okButton({ label: trans.__('Send') })
    ]
  });
  if (result.button.accept && result.value) {
    desktop.pasteToDesktop(result.value);
  }
}
