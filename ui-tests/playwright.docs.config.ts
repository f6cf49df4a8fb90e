// Makes the documentation's screenshots (docs/screenshot-*.png) with the real stack:
// `npm run screenshots`. Not part of the test run.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: './screenshots',
  reporter: [['list']]
});
