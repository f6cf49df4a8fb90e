// The multi-user tests: the reference deployment from deploy/ (JupyterHub, PAM users, nginx
// with TLS) in real Chromium, over HTTPS at hub.example.org (resolved to this machine).
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: './hub',
  globalSetup: './hub/global-setup.ts',
  timeout: 600_000,
  outputDir: './test-results/hub',
  reporter: [['list'], ['json', { outputFile: 'test-results/hub-results.json' }]],
  use: {
    ...base.use,
    ignoreHTTPSErrors: true,
    launchOptions: {
      ...base.use!.launchOptions,
      args: [
        ...base.use!.launchOptions!.args!,
        '--host-resolver-rules=MAP hub.example.org 127.0.0.1'
      ]
    }
  }
});
