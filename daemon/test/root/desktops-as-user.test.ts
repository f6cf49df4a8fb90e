// The built-in full desktops run by an ordinary Linux user's daemon (the bundle, a process of
// its own, as on JupyterHub), which MATE treats differently from root: see desktop-checks.ts.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { checkDesktop, DESKTOPS, requireDesktopPrograms, SECRETS } from '../desktop-checks';
import { ensureUser, exited, readableBundle, userDaemon } from '../helpers';

describe('the built-in desktops, as an ordinary user', () => {
  const user = 'desktops-desk';
  let daemon: { proc: ChildProcess; socket: string };
  beforeAll(async () => {
    requireDesktopPrograms();
    ensureUser(user);
    // The daemon's environment holds what a Jupyter server's does.
    daemon = await userDaemon(user, readableBundle(), [], SECRETS);
  }, 60_000);
  afterAll(async () => {
    daemon?.proc.kill('SIGTERM');
    if (daemon) {
      await exited(daemon.proc);
    }
  });

  for (const desktop of DESKTOPS) {
    it(`${desktop.profile}: whole, each part once and staying up, no locker, no listener, no secret; nothing left after a stop`, async () => {
      await checkDesktop(daemon.socket, desktop, {
        daemonPid: daemon.proc.pid,
        uid: ensureUser(user).uid
      });
    });
  }
});
