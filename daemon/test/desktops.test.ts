// The built-in full desktops, XFCE and MATE, run by a daemon of the test's own user (root in
// CI: the quick start, containers): see desktop-checks.ts for what each must be. The same
// checks for another Linux user (JupyterHub) are in root/desktops-as-user.test.ts.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { checkDesktop, DESKTOPS, requireDesktopPrograms, SECRETS } from './desktop-checks';
import { startDaemon, type ITestDaemon } from './helpers';

describe("the built-in desktops, as the test's own user", () => {
  const token = 'daemon-secret-token-31b2';
  let d: ITestDaemon;
  beforeAll(async () => {
    requireDesktopPrograms();
    // In this process's environment, as they are in a Jupyter server's.
    Object.assign(process.env, SECRETS);
    d = await startDaemon([], { token });
  });
  afterAll(async () => {
    for (const k of Object.keys(SECRETS)) {
      delete process.env[k];
    }
    await d?.close();
  });

  for (const desktop of DESKTOPS) {
    it(`${desktop.profile}: whole, each part once and staying up, no locker, no listener, no secret; nothing left after a stop`, async () => {
      await checkDesktop(d.socket, desktop, { headers: { authorization: `token ${token}` } });
    });
  }
});
