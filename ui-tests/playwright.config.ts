// End-to-end tests in real JupyterLab (the installed wheel) and Debian's Chromium, through the
// same {base_url}desktops/ URLs users use: jupyter-server-proxy when importable, else nginx.
// Every test runs in both of Lab's themes (tests/fixtures.ts sets the user's theme).
import { defineConfig } from '@playwright/test';

export default defineConfig<{ theme: string }>({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  projects: [
    { name: 'light', use: { theme: 'JupyterLab Light' } },
    { name: 'dark', use: { theme: 'JupyterLab Dark' } }
  ],
  use: {
    viewport: { width: 1400, height: 900 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run'
      ]
    }
  }
});
