// Desktops in Lab's Running panel (IRunningSessionManagers), beside kernels and terminals:
// every live desktop of the user, from the page's event stream. A click shows it (its tab, or
// a new one attached to it); shutting one down asks first if it was used; "Shut Down All"
// ends them all after Lab's own question.
import { isLive, type Session } from '@jupyterlab-desktops/protocol';
import type { IRunningSessions } from '@jupyterlab/running';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { LabIcon } from '@jupyterlab/ui-components';
import { Signal, type ISignal } from '@lumino/signaling';
import type { SessionStream } from './events';

/** A desktop's name in tabs and lists: "XFCE", or "Ncview: temperature.nc" for "Open in". */
export function desktopLabel(title: string, open?: string): string {
  return open ? `${title}: ${open.split('/').pop()}` : title;
}

export class DesktopsRunning implements IRunningSessions.IManager {
  constructor(private readonly _o: DesktopsRunning.IOptions) {
    const t = _o.trans;
    this.name = t.__('Desktops');
    this.shutdownLabel = t.__('Stop Desktop');
    this.shutdownAllLabel = t.__('Stop All');
    this.shutdownAllConfirmationText = () =>
      t.__('Stop all %1 desktops? Unsaved work in them is lost.', this._live().length);
    const changed = (): void => this._runningChanged.emit();
    _o.events.changed.connect(changed);
    _o.events.connectionChanged.connect(changed);
  }

  readonly name: string;
  readonly shutdownLabel: string;
  readonly shutdownAllLabel: string;
  readonly shutdownAllConfirmationText: () => string;

  get runningChanged(): ISignal<this, void> {
    return this._runningChanged;
  }

  running(): IRunningSessions.IRunningItem[] {
    const t = this._o.trans;
    return this._live().map(s => ({
      className: 'jp-Desktops-runningItem',
      context: s.id,
      icon: () => this._o.icon(s.profile) ?? '',
      label: () => desktopLabel(s.title, s.open),
      labelTitle: () =>
        t.__('%1, %2 since %3', s.title, Private.stateWord(s, t), Private.time(s.startedAt)),
      detail: () => (s.state === 'starting' ? t.__('starting') : ''),
      open: () => this._o.show(s),
      shutdown: () => void this._o.stop(s)
    }));
  }

  refreshRunning(): void {
    void this._o.events.synced();
  }

  shutdownAll(): void {
    // Lab has asked already ("Stop all N desktops?").
    for (const s of this._live()) {
      void this._o.stop(s, { asked: true });
    }
  }

  private _live(): Session[] {
    return this._o.events.sessions
      .filter(isLive)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  private readonly _runningChanged = new Signal<this, void>(this);
}

export namespace DesktopsRunning {
  export interface IOptions {
    events: SessionStream;
    trans: TranslationBundle;
    /** A profile's icon, as its tiles show it. */
    icon: (profile: string) => LabIcon | undefined;
    /** Shows a session: its tab, or a new one attached to it. */
    show: (s: Session) => void;
    /** Stops a session, asking first where it was used (unless `asked`). */
    stop: (s: Session, o?: { asked?: boolean }) => Promise<void>;
  }
}

namespace Private {
  export function stateWord(s: Session, t: TranslationBundle): string {
    return s.state === 'starting' ? t.__('starting') : t.__('running');
  }

  export function time(iso: string): string {
    const d = new Date(iso);
    return Number.isNaN(d.getTime())
      ? iso
      : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
}
