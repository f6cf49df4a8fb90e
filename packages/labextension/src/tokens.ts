// What this extension offers other extensions.
import type { IWidgetTracker, MainAreaWidget } from '@jupyterlab/apputils';
import { Token } from '@lumino/coreutils';
import type { DesktopWidget } from './widget';

/** The desktop tabs: find them (by session or profile), follow the current one. */
export type IDesktopTracker = IWidgetTracker<MainAreaWidget<DesktopWidget>>;

export const IDesktopTracker = new Token<IDesktopTracker>(
  'jupyterlab-desktops:IDesktopTracker',
  'The desktop tabs: each one a MainAreaWidget whose content is a DesktopWidget.'
);
