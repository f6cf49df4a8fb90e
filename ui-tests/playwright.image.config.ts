// The single-user image (deploy/image/Containerfile): built from this tree with podman, run as
// a spawner runs it, and used in Chromium (ui-tests/image/).
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: './image',
  globalSetup: './image/global-setup.ts',
  timeout: 300_000,
  outputDir: './test-results/image',
  reporter: [['list'], ['json', { outputFile: 'test-results/image-results.json' }]]
});
