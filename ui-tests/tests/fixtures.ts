// The suite runs in each of Lab's themes (playwright.config.ts: one project per theme): before
// each test, the user's theme setting is the project's.
import { test as base } from '@playwright/test';
import { setTheme } from './helpers';

export const test = base.extend<{ theme: string; themed: void }>({
  theme: ['JupyterLab Light', { option: true }],
  themed: [
    async ({ theme, request }, use) => {
      await setTheme(request, theme);
      await use();
    },
    { auto: true }
  ]
});

export { expect } from '@playwright/test';
