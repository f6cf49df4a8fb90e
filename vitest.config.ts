// One vitest run for every workspace: unit tests and the integration tests that drive real
// Xtigervnc sessions. Browser tests live in ui-tests/ (Playwright) and run separately.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      '@jupyterlab-desktops/protocol': fileURLToPath(
        new URL('./packages/protocol/src/index.ts', import.meta.url)
      )
    }
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'daemon/src/**/*.test.ts', 'daemon/test/**/*.test.ts'],
    testTimeout: 60000,
    hookTimeout: 60000,
    // Desktop sessions are heavy on two cores: one test file at a time.
    fileParallelism: false,
    reporters: ['default']
  }
});
