// Nothing is ended by surprise: before a start replaces desktops, or Stop or Restart ends one,
// the user is asked, naming it, if it had input (it may hold unsaved work). A desktop nobody
// used is ended without asking, and a setting (confirmEnd) turns the question off.
import { Dialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { isLive, type Session } from '@jupyterlab-desktops/protocol';
import { wasUsed } from './ending';
import type { SessionStream } from './events';

export { replacedByStart, wasUsed } from './ending';

export type EndAction = 'replace' | 'stop' | 'restart';

/**
 * Asks whether to end `sessions` (those that were used): "XFCE is running. Replace it with
 * MATE?", Keep or Replace. Resolves true when nothing needs asking. If they all end while the
 * question is open (the stream tells), it is moot and goes away: a start or restart goes on (it
 * ends nothing now); a stop does not happen (the tab shows why its desktop ended).
 */
export async function confirmEnd(
  trans: TranslationBundle,
  action: EndAction,
  sessions: Session[],
  replacement?: string,
  events?: SessionStream
): Promise<boolean> {
  const used = sessions.filter(wasUsed);
  if (used.length === 0) {
    return true;
  }
  const names = used.map(s => s.title).join(', ');
  const lost = trans.__('Unsaved work in %1 is lost.', names);
  const { title, body, accept } =
    action === 'replace'
      ? {
          title: trans._n('%2 is running', '%2 are running', used.length, names),
          body: `${trans._n('Replace it with %2?', 'Replace them with %2?', used.length, replacement ?? '')} ${lost}`,
          accept: trans.__('Replace')
        }
      : action === 'stop'
        ? { title: trans.__('Stop %1?', names), body: lost, accept: trans.__('Stop') }
        : { title: trans.__('Restart %1?', names), body: lost, accept: trans.__('Restart') };
  const dialog = new Dialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Keep') }),
      Dialog.warnButton({ label: accept })
    ],
    defaultButton: 0
  });
  const asked = new Set(used.map(s => s.id));
  const onChange = (_: SessionStream, c: SessionStream.IChange): void => {
    if (!asked.has(c.id) || (c.session && isLive(c.session))) {
      return;
    }
    asked.delete(c.id);
    if (asked.size === 0) {
      dialog.resolve(action === 'stop' ? 0 : 1);
    }
  };
  events?.changed.connect(onChange);
  try {
    return (await dialog.launch()).button.accept;
  } finally {
    events?.changed.disconnect(onChange);
    dialog.dispose();
  }
}
