// The JupyterLab plugin: a launcher tile per desktop profile, commands to open and stop
// desktops, and a tracker of open desktop tabs. The widget itself lives in widget.ts.
import type { Profile } from '@jupyterlab-desktops/protocol';
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
  showDialog,
  showErrorMessage,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon, stopIcon } from '@jupyterlab/ui-components';
import { DesktopsAPI } from './api';
import { DesktopWidget } from './widget';

export { DesktopsAPI, DesktopsError } from './api';
export { DesktopWidget } from './widget';

const PLUGIN_ID = 'jupyterlab-desktops:plugin';

namespace CommandIDs {
  export const open = 'desktops:open';
  export const stop = 'desktops:stop';
}

type DesktopTab = MainAreaWidget<DesktopWidget>;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Linux desktops and GUI applications in JupyterLab tabs.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, ILayoutRestorer, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    _restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_desktops');
    const api = new DesktopsAPI();
    const tracker = new WidgetTracker<DesktopTab>({ namespace: 'desktops' });
    const profiles = new Map<string, Profile>();
    const options: Partial<DesktopWidget.IDisplayOptions> = {};
    const category = trans.__('Desktops');

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = (): void => {
          const resize = settings.get('resize')
            .composite as DesktopWidget.IDisplayOptions['resize'];
          options.resize = resize;
          tracker.forEach(tab => tab.content.setOption('resize', resize));
        };
        apply();
        settings.changed.connect(apply);
      });
    }

    app.commands.addCommand(CommandIDs.open, {
      label: args => Private.profileOf(profiles, args)?.title ?? trans.__('Open Desktop'),
      caption: args => {
        const p = Private.profileOf(profiles, args);
        if (!p) return '';
        return p.available
          ? p.description || p.title
          : trans.__('Unavailable: %1', p.unavailableReason ?? '');
      },
      icon: args => Private.iconOf(api, Private.profileOf(profiles, args)),
      isEnabled: args => Private.profileOf(profiles, args)?.available ?? false,
      execute: async args => {
        const p = Private.profileOf(profiles, args);
        if (!p) return;
        if (!p.available) {
          // The launcher runs disabled commands too: say why instead of starting anything.
          await showDialog({
            title: trans.__('%1 is not available', p.title),
            body: p.unavailableReason ?? '',
            buttons: [Dialog.okButton()]
          });
          return;
        }
        const content = new DesktopWidget({
          api,
          profile: p,
          options,
          translator: translator ?? undefined
        });
        const tab = new MainAreaWidget({ content, reveal: content.ready });
        tab.title.icon = Private.iconOf(api, p);
        tab.toolbar.addItem(
          'stop',
          new ToolbarButton({
            icon: stopIcon,
            label: trans.__('Stop'),
            tooltip: trans.__('Stop this desktop and close the tab'),
            onClick: () => void app.commands.execute(CommandIDs.stop, { id: tab.id })
          })
        );
        void tracker.add(tab);
        app.shell.add(tab, 'main');
        app.shell.activateById(tab.id);
        return tab;
      }
    });

    app.commands.addCommand(CommandIDs.stop, {
      label: trans.__('Stop Desktop'),
      caption: trans.__('End the desktop session of the current tab and close it'),
      isEnabled: () => !!tracker.currentWidget,
      execute: async args => {
        const tab =
          typeof args.id === 'string' ? tracker.find(w => w.id === args.id) : tracker.currentWidget;
        if (!tab) return;
        try {
          await tab.content.stop();
          tab.dispose();
        } catch (err) {
          await showErrorMessage(trans.__('The desktop could not be stopped'), err as Error);
        }
      }
    });
    palette?.addItem({ command: CommandIDs.stop, category });

    /**
     * Reads the profiles again: new ones get tiles, and tiles whose availability changed are
     * redrawn, so an application installed meanwhile shows up without restarting anything.
     */
    const refresh = async (): Promise<boolean> => {
      let changed = false;
      for (const p of await api.profiles()) {
        const old = profiles.get(p.id);
        profiles.set(p.id, p);
        if (!old) {
          const args = { profile: p.id };
          launcher?.add({ command: CommandIDs.open, args, category: p.category, rank: p.rank });
          palette?.addItem({ command: CommandIDs.open, args, category });
        } else if (
          old.available !== p.available ||
          old.unavailableReason !== p.unavailableReason ||
          old.title !== p.title
        ) {
          changed = true;
        }
      }
      if (changed) app.commands.notifyCommandChanged(CommandIDs.open);
      return changed;
    };
    refresh().catch(err => {
      // No tiles without the daemon; the console says why for admins.
      console.warn(`jupyterlab-desktops: no desktop profiles: ${(err as Error).message}`);
    });
    (app.shell as ILabShell).currentChanged?.connect((_, change) => {
      const w = change.newValue;
      const content = w instanceof MainAreaWidget ? w.content : w;
      if (!content?.hasClass('jp-Launcher')) return;
      void refresh()
        .then(changed => changed && content.update())
        .catch(() => undefined);
    });
  }
};

namespace Private {
  const icons = new Map<string, LabIcon>();

  export function profileOf(
    profiles: Map<string, Profile>,
    args: Record<string, unknown>
  ): Profile | undefined {
    return typeof args.profile === 'string' ? profiles.get(args.profile) : undefined;
  }

  const escapeXml = (s: string): string => s.replace(/[<>&"']/g, c => `&#${c.charCodeAt(0)};`);

  /**
   * The tile icon: the daemon's SVG drawn through an <image>, so an admin's SVG is shown as a
   * picture and never runs as a document. Unavailable tiles get a class the style greys out.
   */
  export function iconOf(api: DesktopsAPI, p: Profile | undefined): LabIcon | undefined {
    if (!p) return undefined;
    const key = `${p.id}:${p.available}`;
    let icon = icons.get(key);
    if (!icon) {
      // A profile without an icon of its own gets a plain monitor.
      const picture = p.icon
        ? `<image href="${escapeXml(api.url(p.icon))}" width="64" height="64"/>`
        : '<rect x="6" y="10" width="52" height="36" rx="3" fill="#616161"/>' +
          '<rect x="10" y="14" width="44" height="28" fill="#e0e0e0"/>' +
          '<rect x="24" y="48" width="16" height="6" fill="#616161"/>';
      const cls = p.available ? 'jp-Desktops-icon' : 'jp-Desktops-icon jp-Desktops-unavailable';
      icon = new LabIcon({
        name: `jupyterlab-desktops:${p.id}-${p.available ? 'on' : 'off'}`,
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
