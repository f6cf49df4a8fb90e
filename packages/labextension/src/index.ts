// The JupyterLab plugin: a launcher tile per desktop profile, "Open in <app>" in the file
// browser, commands for desktop tabs (toolbar, palette, File > Close and Shut Down), desktops in
// the status bar and Lab's Running panel, the page's event stream, settings applied live, and
// tabs restored after a reload, attached to the same desktop. The tab itself is widget.ts and
// connection.ts.
import { isLive, matchesFileType, type Profile, type Session } from '@jupyterlab-desktops/protocol';
import {
  ILayoutRestorer,
  type ILabShell,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import {
  imageIcon,
  keyboardIcon,
  LabIcon,
  MenuSvg,
  pasteIcon,
  refreshIcon,
  settingsIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import type { Menu, Widget } from '@lumino/widgets';
import { DesktopsAPI } from './api';
import { showClipboardPanel } from './clipboard';
import { confirmEnd, replacedByStart, type EndAction } from './confirm';
import { findCombo, KEY_COMBOS } from './keys';
import { DEFAULT_SETTINGS, readSettings, type IDesktopSettings } from './settings';
import { Prestarter } from './prestart';
import { SessionStream } from './events';
import { desktopLabel, DesktopsRunning } from './running';
import { DesktopsStatus } from './statusbar';
import { populateToolbar } from './toolbar';
import { IDesktopTracker } from './tokens';
import { DesktopWidget } from './widget';

export { DesktopsAPI, DesktopsError } from './api';
export { IDesktopTracker } from './tokens';
export { DesktopWidget } from './widget';

const PLUGIN_ID = 'jupyterlab-desktops:plugin';
/** Lab's Running panel (its sidebar id). */
const RUNNING_PANEL = 'jp-running-sessions';

namespace CommandIDs {
  export const open = 'desktops:open';
  export const openFile = 'desktops:open-file';
  export const stop = 'desktops:stop';
  export const restart = 'desktops:restart';
  export const reconnect = 'desktops:reconnect';
  export const ctrlAltDel = 'desktops:send-ctrl-alt-del';
  export const sendKeys = 'desktops:send-keys';
  export const fullscreen = 'desktops:fullscreen';
  export const clipboard = 'desktops:clipboard';
  export const screenshot = 'desktops:screenshot';
  export const quality = 'desktops:quality';
  export const closeAndShutdown = 'desktops:close-and-shutdown';
}

type DesktopTab = MainAreaWidget<DesktopWidget>;

const plugin: JupyterFrontEndPlugin<IDesktopTracker> = {
  id: PLUGIN_ID,
  description: 'Linux desktops and GUI applications in JupyterLab tabs.',
  autoStart: true,
  provides: IDesktopTracker,
  optional: [
    ILauncher,
    ICommandPalette,
    ILayoutRestorer,
    ISettingRegistry,
    ITranslator,
    IStatusBar,
    IDefaultFileBrowser,
    IRunningSessionManagers,
    IMainMenu
  ],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    statusBar: IStatusBar | null,
    fileBrowser: IDefaultFileBrowser | null,
    runningManagers: IRunningSessionManagers | null,
    mainMenu: IMainMenu | null
  ): IDesktopTracker => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_desktops');
    const api = new DesktopsAPI();
    // One event stream for the page: every tab and the status bar follow it.
    const events = new SessionStream(() => api.eventsUrl());
    const tracker = new WidgetTracker<DesktopTab>({ namespace: 'desktops' });
    const profiles = new Map<string, Profile>();
    let settings: IDesktopSettings = { ...DEFAULT_SETTINGS };
    let saveSetting: ((key: keyof IDesktopSettings, value: unknown) => Promise<void>) | null = null;
    const category = trans.__('Desktops');
    const { commands } = app;

    // Settings are read once and followed: every open tab takes a change at once.
    const settingsLoaded = settingRegistry
      ? settingRegistry
          .load(PLUGIN_ID)
          .then(s => {
            const apply = (): void => {
              settings = readSettings(s.composite as Record<string, unknown>);
              tracker.forEach(tab => tab.content.setSettings(settings));
              commands.notifyCommandChanged(CommandIDs.quality);
            };
            apply();
            s.changed.connect(apply);
            saveSetting = (key, value) => s.set(key, value as never);
          })
          .catch(err => console.warn(`jupyterlab-desktops: settings: ${err}`))
      : Promise.resolve();

    /** The tab a command acts on: `args.id`, or the current desktop tab. */
    const tabOf = (args: Record<string, unknown>): DesktopTab | null =>
      typeof args.id === 'string'
        ? (tracker.find(w => w.id === args.id) ?? null)
        : tracker.currentWidget;
    const connected = (args: Record<string, unknown>): boolean =>
      tabOf(args)?.content.state === 'connected';

    /** Profiles, read again; returns whether an existing one changed. */
    const refresh = async (): Promise<boolean> => {
      let changed = false;
      for (const p of await api.profiles()) {
        const old = profiles.get(p.id);
        profiles.set(p.id, p);
        if (!old) {
          const args = { profile: p.id };
          launcher?.add({ command: CommandIDs.open, args, category: p.category, rank: p.rank });
          palette?.addItem({ command: CommandIDs.open, args, category });
          if (p.fileTypes.length) {
            app.contextMenu.addItem({
              command: CommandIDs.openFile,
              args,
              selector: '.jp-DirListing-item[data-isdir="false"]',
              rank: 3
            });
          }
        } else if (
          old.available !== p.available ||
          old.unavailableReason !== p.unavailableReason ||
          old.title !== p.title
        ) {
          changed = true;
        }
      }
      if (changed) {
        commands.notifyCommandChanged(CommandIDs.open);
        commands.notifyCommandChanged(CommandIDs.openFile);
      }
      return changed;
    };
    // The stream opens once the service answers: where it cannot run, nothing keeps knocking.
    const profilesLoaded = refresh()
      .then(changed => {
        void events.synced();
        return changed;
      })
      .catch(err => {
        // No tiles without the daemon: say why, rather than leave the launcher silently empty.
        const why = (err as Error).message;
        console.warn(`jupyterlab-desktops: no desktop profiles: ${why}`);
        Notification.warning(trans.__('Desktops are not available: %1', why), {
          autoClose: false
        });
        return false;
      });

    const status = statusBar
      ? new DesktopsStatus({
          // The Running panel lists them, with their icons, Show and Stop.
          open: () => app.shell.activateById(RUNNING_PANEL),
          // The stream's list; asked for only while the stream is not in step.
          sessions: async () => (events.connected ? events.sessions : api.sessions()),
          trans
        })
      : null;
    const updateStatus = (): void => status?.refresh();
    if (status && statusBar) {
      statusBar.registerStatusItem('jupyterlab-desktops:status', {
        item: status,
        align: 'left',
        rank: 50
      });
      events.changed.connect(updateStatus);
      events.connectionChanged.connect(updateStatus);
    }

    const unavailable = async (p: Profile): Promise<void> => {
      // The launcher runs disabled commands too: say why instead of starting anything.
      await showDialog({
        title: trans.__('%1 is not available', p.title),
        body: p.unavailableReason ?? '',
        buttons: [Dialog.okButton()]
      });
    };

    const createTab = (
      p: Pick<Profile, 'id' | 'title' | 'description'> & Partial<Profile>,
      opts: { session?: string; open?: string; key?: string }
    ): DesktopTab => {
      const content = new DesktopWidget({
        key: opts.key,
        api,
        events,
        profile: p,
        settings,
        translator: translator ?? undefined,
        session: opts.session,
        open: opts.open
      });
      const tab = new MainAreaWidget({ content, reveal: content.ready });
      tab.title.icon = Private.iconOf(api, p as Profile);
      // Two tabs of one profile are told apart: "XFCE", "XFCE (2)".
      tab.title.label = Private.unusedLabel(
        desktopLabel(p.title, opts.open),
        tracker.filter(() => true).map(t => t.title.label)
      );
      populateToolbar(
        tab,
        commands,
        {
          keys: CommandIDs.sendKeys,
          clipboard: CommandIDs.clipboard,
          quality: CommandIDs.quality,
          screenshot: CommandIDs.screenshot,
          fullscreen: CommandIDs.fullscreen,
          reconnect: CommandIDs.reconnect,
          stop: CommandIDs.stop
        },
        trans
      );
      content.sessionChanged.connect(() => void tracker.save(tab));
      content.goTo.connect((_, target) => void commands.execute(CommandIDs.open, target));
      void tracker.add(tab);
      app.shell.add(tab, 'main');
      app.shell.activateById(tab.id);
      return tab;
    };

    /** Whether the user lets `action` end the tab's desktop (asked if it was used). */
    const mayEnd = async (s: Session | null, action: EndAction): Promise<boolean> => {
      if (!settings.confirmEnd || !s) {
        return true;
      }
      // Input is not a state change, so no copy here knows of it: the daemon does.
      const now = await api.session(s.id).catch(() => s);
      return confirmEnd(trans, action, [now], undefined, events);
    };

    commands.addCommand(CommandIDs.open, {
      label: args => {
        const p = Private.profileOf(profiles, args);
        const title = p?.title ?? (typeof args.profile === 'string' ? args.profile : '');
        return title || trans.__('Open Desktop');
      },
      caption: args => {
        const p = Private.profileOf(profiles, args);
        if (!p) {
          return '';
        }
        return p.available
          ? p.description || p.title
          : trans.__('Unavailable: %1', p.unavailableReason ?? '');
      },
      icon: args => Private.iconOf(api, Private.profileOf(profiles, args)),
      isEnabled: args =>
        typeof args.session === 'string' || (Private.profileOf(profiles, args)?.available ?? false),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            profile: { type: 'string', description: 'the profile id (xfce, mate, …)' },
            session: { type: 'string', description: 'attach to this running session' },
            open: { type: 'string', description: 'a file for the application, in the Jupyter root' }
          },
          required: ['profile']
        }
      },
      execute: async args => {
        const session = typeof args.session === 'string' ? args.session : undefined;
        const open = typeof args.open === 'string' ? args.open : undefined;
        const id = typeof args.profile === 'string' ? args.profile : '';
        if (args.restored && !session) {
          return;
        } // Saved before its desktop started: nothing to attach to.
        await settingsLoaded;
        if (session) {
          // Already shown here: go to that tab.
          const shown = tracker.find(w => w.content.session?.id === session);
          if (shown) {
            app.shell.activateById(shown.id);
            return shown;
          }
          // Not waiting for the profiles: Lab's start-up waits for restored tabs, and a
          // service that is slow to answer must not hold it. The tab asks for its desktop.
          const title = typeof args.title === 'string' ? args.title : id;
          const p = profiles.get(id) ?? { id, title, description: '' };
          const key = typeof args.key === 'string' ? args.key : undefined;
          return createTab(p, { session, key });
        }
        await profilesLoaded;
        const p = profiles.get(id);
        if (!p) {
          return;
        }
        if (!p.available) {
          return unavailable(p);
        }
        if (settings.confirmEnd) {
          // A list that cannot be had asks nothing: the tab then says what is wrong.
          const list = await api.sessionList().catch(() => undefined);
          if (
            list &&
            !(await confirmEnd(trans, 'replace', replacedByStart(list), p.title, events))
          ) {
            return;
          }
        }
        return createTab(p, { open });
      }
    });

    commands.addCommand(CommandIDs.openFile, {
      label: args =>
        trans.__('Open in %1', Private.profileOf(profiles, args)?.title ?? trans.__('Desktop')),
      caption: args => {
        const p = Private.profileOf(profiles, args);
        return p && !p.available ? trans.__('Unavailable: %1', p.unavailableReason ?? '') : '';
      },
      icon: args => Private.iconOf(api, Private.profileOf(profiles, args)),
      isVisible: args => {
        const p = Private.profileOf(profiles, args);
        const file = Private.selectedFile(fileBrowser);
        // Only applications that can start: the launcher tile says why the others cannot.
        return !!p?.available && !!file && matchesFileType(file, p.fileTypes);
      },
      execute: async args => {
        const p = Private.profileOf(profiles, args);
        const file = Private.selectedFile(fileBrowser);
        if (!p || !file) {
          return;
        }
        if (!p.available) {
          return unavailable(p);
        }
        return commands.execute(CommandIDs.open, { profile: p.id, open: file });
      }
    });

    commands.addCommand(CommandIDs.stop, {
      label: trans.__('Stop Desktop'),
      caption: trans.__('End the desktop session of the current tab and close it'),
      icon: stopIcon,
      // A tab whose desktop has ended has nothing to stop (its tab closes as any tab does).
      isEnabled: args => {
        const s = tabOf(args)?.content.session;
        return !!s && isLive(s);
      },
      execute: async args => {
        const tab = tabOf(args);
        if (!tab) {
          return;
        }
        if (!(await mayEnd(tab.content.session, 'stop'))) {
          return;
        }
        try {
          await tab.content.stop();
          tab.dispose();
        } catch (err) {
          await showErrorMessage(trans.__('The desktop could not be stopped'), err as Error);
        }
      }
    });

    commands.addCommand(CommandIDs.restart, {
      label: trans.__('Restart Desktop'),
      caption: trans.__('End this desktop and start a new one of the same kind'),
      icon: refreshIcon,
      isEnabled: args => !!tabOf(args),
      execute: async args => {
        const tab = tabOf(args);
        if (!tab) {
          return;
        }
        app.shell.activateById(tab.id);
        if (!(await mayEnd(tab.content.session, 'restart'))) {
          return;
        }
        tab.content.restart();
      }
    });

    commands.addCommand(CommandIDs.reconnect, {
      label: trans.__('Reconnect Desktop'),
      caption: trans.__('Connect to the same desktop again'),
      icon: refreshIcon,
      isEnabled: args => {
        const state = tabOf(args)?.content.state;
        return state === 'connected' || state === 'reconnecting' || state === 'disconnected';
      },
      execute: args => tabOf(args)?.content.reconnect()
    });

    commands.addCommand(CommandIDs.ctrlAltDel, {
      label: trans.__('Send Ctrl+Alt+Del to Desktop'),
      caption: trans.__('Send Ctrl+Alt+Del to the desktop'),
      icon: keyboardIcon,
      isEnabled: connected,
      execute: args => tabOf(args)?.content.sendKeys(findCombo('ctrl-alt-del')!)
    });

    commands.addCommand(CommandIDs.sendKeys, {
      label: args => {
        const combo = findCombo(args.combo);
        return combo ? trans.__('Send %1', combo.label) : trans.__('Send Keys to Desktop…');
      },
      caption: trans.__('Send keys the browser keeps for itself (Ctrl+W, Alt+Tab, …)'),
      icon: args => (args.combo ? undefined : keyboardIcon),
      isEnabled: connected,
      execute: args => {
        const tab = tabOf(args);
        if (!tab) {
          return;
        }
        const combo = findCombo(args.combo);
        if (combo) {
          return tab.content.sendKeys(combo);
        }
        const menu = new MenuSvg({ commands });
        for (const c of KEY_COMBOS) {
          menu.addItem({ command: CommandIDs.sendKeys, args: { id: tab.id, combo: c.id } });
        }
        Private.openBelow(menu, tab, CommandIDs.sendKeys);
      }
    });

    commands.addCommand(CommandIDs.fullscreen, {
      label: trans.__('Desktop Full Screen'),
      caption: trans.__(
        'Show the desktop on the whole screen; there it also gets keys like Ctrl+W (Esc held leaves)'
      ),
      icon: Private.fullscreenIcon,
      isToggled: args => !!tabOf(args)?.content.isFullscreen,
      isEnabled: connected,
      execute: args => tabOf(args)?.content.toggleFullscreen()
    });

    commands.addCommand(CommandIDs.clipboard, {
      label: trans.__('Desktop Clipboard…'),
      caption: trans.__('See what was copied in the desktop, and send text to it'),
      icon: pasteIcon,
      isEnabled: connected,
      execute: async args => {
        const tab = tabOf(args);
        if (tab) {
          await showClipboardPanel(tab.content, trans);
        }
      }
    });

    commands.addCommand(CommandIDs.screenshot, {
      label: trans.__('Save Desktop Picture'),
      caption: trans.__('Download a PNG of the desktop as it is now'),
      icon: imageIcon,
      isEnabled: connected,
      execute: async args => {
        const tab = tabOf(args);
        if (!tab) {
          return;
        }
        try {
          const blob = await tab.content.screenshot();
          Private.download(blob, Private.pictureName(tab.content.profile.id));
        } catch (err) {
          await showErrorMessage(trans.__('No picture'), err as Error);
        }
      }
    });

    // The toolbar's quality menu: JPEG quality levels (0-9) for slow to fast networks.
    const qualityPresets = [
      { label: trans.__('Low Quality (fastest)'), quality: 2 },
      { label: trans.__('Medium Quality'), quality: 5 },
      { label: trans.__('High Quality'), quality: 7 },
      { label: trans.__('Best Quality'), quality: 9 }
    ];
    commands.addCommand(CommandIDs.quality, {
      label: args => {
        const preset = qualityPresets.find(q => q.quality === args.quality);
        return preset?.label ?? trans.__('Picture Quality…');
      },
      caption: trans.__('Picture quality: lower is faster on slow networks'),
      icon: args => (typeof args.quality === 'number' ? undefined : settingsIcon),
      isToggled: args => typeof args.quality === 'number' && settings.quality === args.quality,
      isEnabled: args => typeof args.quality === 'number' || connected(args),
      execute: async args => {
        if (typeof args.quality === 'number') {
          // A quick setting is the user's setting: every tab and the next session keep it.
          if (saveSetting) {
            await saveSetting('quality', args.quality);
          } else {
            settings = { ...settings, quality: args.quality };
            tracker.forEach(t => t.content.setSettings(settings));
          }
          return;
        }
        const tab = tabOf(args);
        if (!tab) {
          return;
        }
        const menu = new MenuSvg({ commands });
        for (const q of qualityPresets) {
          menu.addItem({ command: CommandIDs.quality, args: { quality: q.quality } });
        }
        Private.openBelow(menu, tab, CommandIDs.quality);
      }
    });

    for (const command of [
      CommandIDs.stop,
      CommandIDs.restart,
      CommandIDs.reconnect,
      CommandIDs.ctrlAltDel,
      CommandIDs.sendKeys,
      CommandIDs.fullscreen,
      CommandIDs.clipboard,
      CommandIDs.screenshot
    ]) {
      palette?.addItem({ command, category });
    }

    tracker.currentChanged.connect(() => {
      for (const id of Object.values(CommandIDs)) {
        commands.notifyCommandChanged(id);
      }
    });

    // After a reload, each desktop tab comes back attached to the same session.
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.open,
        args: tab => ({
          profile: tab.content.profile.id,
          title: tab.content.profile.title,
          session: tab.content.session?.id ?? null,
          key: tab.content.key,
          restored: true
        }),
        // Fixed for the tab's life, so the saved layout finds the restored tab again.
        name: tab => tab.content.key
      });
    }

    // An X server of the next tab's size, ready before the click, while the launcher shows
    // tiles that can start (the site may turn this off: c.Desktops.prestart_minutes = 0).
    const prestart = new Prestarter(size => api.prepare(size));
    const prestartFor = async (area: MainAreaWidget): Promise<void> => {
      await profilesLoaded;
      if ([...profiles.values()].some(p => p.available) && area.isVisible) {
        await prestart.launcherShown(area);
      }
    };
    tracker.currentChanged.connect((_, tab) => tab && prestart.learn(tab));

    const launcherIn = (w: Widget | null): MainAreaWidget | null =>
      w instanceof MainAreaWidget && w.content.hasClass('jp-Launcher') ? w : null;
    (app.shell as ILabShell).currentChanged?.connect((_, change) => {
      const w = launcherIn(change.newValue);
      if (!w) {
        return;
      }
      void refresh()
        .then(changed => changed && w.content.update())
        .catch(() => undefined);
      void prestartFor(w);
    });
    // The launcher Lab opened with.
    void app.restored.then(() => {
      const w = launcherIn(app.shell.currentWidget);
      if (w) {
        void prestartFor(w);
      }
    });

    // A profile an admin added, or software installed, since Lab loaded: "Open in" offers it
    // once the user moves in the file browser or comes back to the page, as the launcher does
    // when it is shown. (Read on those moves, not on a timer; one read at a time, and one more
    // if asked meanwhile.)
    let reading: Promise<unknown> | null = null;
    let again = false;
    const reread = (): void => {
      if (reading) {
        again = true;
        return;
      }
      reading = refresh()
        .catch(() => undefined)
        .finally(() => {
          reading = null;
          if (again) {
            again = false;
            reread();
          }
        });
    };
    fileBrowser?.model.pathChanged.connect(reread);
    window.addEventListener('focus', reread);

    /** Shows a session: its tab, or a new one attached to it. */
    const show = (s: Session): void =>
      void commands.execute(CommandIDs.open, { profile: s.profile, session: s.id });

    /** Stops a session from outside its tab, asking first where it was used. */
    const stopSession = async (s: Session, o: { asked?: boolean } = {}): Promise<void> => {
      if (!o.asked && !(await mayEnd(s, 'stop'))) {
        return;
      }
      try {
        await api.stop(s.id);
      } catch (err) {
        await showErrorMessage(trans.__('The desktop could not be stopped'), err as Error);
      }
    };

    runningManagers?.add(
      new DesktopsRunning({
        events,
        trans,
        icon: id => Private.iconOf(api, profiles.get(id)),
        show,
        stop: stopSession
      })
    );

    // File > Close and Shut Down, for a desktop tab: Stop Desktop (which asks if it was used).
    commands.addCommand(CommandIDs.closeAndShutdown, {
      label: trans.__('Close and Shut Down Desktop'),
      caption: trans.__('End the desktop session of the current tab and close it'),
      isEnabled: () => !!tracker.currentWidget,
      execute: () => {
        const tab = tracker.currentWidget;
        const s = tab?.content.session;
        // Ended already: closing is all there is to do.
        return s && isLive(s) ? commands.execute(CommandIDs.stop) : tab?.dispose();
      }
    });
    mainMenu?.fileMenu.closeAndCleaners.add({
      id: CommandIDs.closeAndShutdown,
      isEnabled: w => !!w && tracker.has(w)
    });

    return tracker;
  }
};

namespace Private {
  const icons = new Map<string, LabIcon>();

  /**
   * Full screen: four corners, drawn like Lab's toolbar icons (jp-icon3), so it follows the
   * theme as they do. (Lab's expandIcon is an output-area icon, light grey on light themes,
   * and looked disabled.)
   */
  export const fullscreenIcon = new LabIcon({
    name: 'jupyterlab-desktops:fullscreen',
    svgstr:
      '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 16 16">' +
      '<path class="jp-icon3" fill="#616161" d="M2 2h5v2H4v3H2zm12 0v5h-2V4H9V2zM2 14V9h2v3h3v2z' +
      'm12 0H9v-2h3V9h2z"/></svg>'
  });

  export function profileOf(
    profiles: Map<string, Profile>,
    args: Record<string, unknown>
  ): Profile | undefined {
    return typeof args.profile === 'string' ? profiles.get(args.profile) : undefined;
  }

  /** The file selected in the file browser (the context menu's target). */
  export function selectedFile(browser: IDefaultFileBrowser | null): string | undefined {
    const item = browser?.selectedItems().next();
    return item && !item.done && item.value.type !== 'directory' ? item.value.path : undefined;
  }

  /** Opens a menu under the tab's toolbar button for `command`. */
  export function openBelow(menu: Menu, tab: DesktopTab, command: string): void {
    const button = tab.toolbar.node.querySelector(`[data-command="${command}"]`);
    const box = (button ?? tab.toolbar.node).getBoundingClientRect();
    tab.content.openMenu(menu, box.left, box.bottom);
  }

  /** `base`, or `base (2)`, `base (3)` … whichever no other tab has. */
  export function unusedLabel(base: string, used: string[]): string {
    let label = base;
    for (let n = 2; used.includes(label); n++) {
      label = `${base} (${n})`;
    }
    return label;
  }

  export function pictureName(profile: string): string {
    const stamp = new Date()
      .toISOString()
      .replace(/\.\d+Z$/, '')
      .replace(/[:T]/g, '-');
    return `${profile}-${stamp}.png`;
  }

  export function download(blob: Blob, name: string): void {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const escapeXml = (s: string): string => s.replace(/[<>&"']/g, c => `&#${c.charCodeAt(0)};`);

  /**
   * The tile icon: the daemon's SVG drawn through an <image>, so an admin's SVG is shown as a
   * picture and never runs as a document. Unavailable tiles get a class the style greys out.
   */
  export function iconOf(api: DesktopsAPI, p: Profile | undefined): LabIcon | undefined {
    if (!p) {
      return undefined;
    }
    const available = p.available !== false;
    const key = `${p.id}:${available}`;
    let icon = icons.get(key);
    if (!icon) {
      // A profile without an icon of its own gets a plain monitor.
      const picture = p.icon
        ? `<image href="${escapeXml(api.url(p.icon))}" width="64" height="64"/>`
        : '<rect x="6" y="10" width="52" height="36" rx="3" fill="#616161"/>' +
          '<rect x="10" y="14" width="44" height="28" fill="#e0e0e0"/>' +
          '<rect x="24" y="48" width="16" height="6" fill="#616161"/>';
      const cls = available ? 'jp-Desktops-icon' : 'jp-Desktops-icon jp-Desktops-unavailable';
      icon = new LabIcon({
        name: `jupyterlab-desktops:${p.id}-${available ? 'on' : 'off'}`,
        svgstr:
          `<svg xmlns="http://www.w3.org/2000/svg" class="${cls}" viewBox="0 0 64 64">` +
          `${picture}</svg>`
      });
      icons.set(key, icon);
    }
    return icon;
  }
}

export default plugin;
