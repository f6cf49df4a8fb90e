// One vitest run for every workspace, in two projects: `default` (unit tests and the
// integration tests that drive real Xtigervnc sessions, for any user) and `root` (suites that
// need root: other Linux users, small mounted file systems). `npm test` runs the first,
// `npm run test:root` the second, the test command both. Browser tests live in ui-tests/
// (Playwright) and run separately.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The product's version for daemon/src/version.ts, as daemon/build.mjs puts it in the bundle.
  define: {
    __JUPYTERLAB_DESKTOPS_VERSION__: JSON.stringify(
      JSON.parse(
        readFileSync(new URL('./packages/labextension/package.json', import.meta.url), 'utf8')
      ).version
    )
  },
  resolve: {
    alias: {
      '@jupyterlab-desktops/protocol': fileURLToPath(
        new URL('./packages/protocol/src/index.ts', import.meta.url)
      )
    }
  },
  test: {
    testTimeout: 60000,
    hookTimeout: 60000,
    // Desktop sessions are heavy on two cores: one test file at a time.
    fileParallelism: false,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: [
            'packages/*/src/**/*.test.ts',
            'daemon/src/**/*.test.ts',
            'daemon/test/**/*.test.ts'
          ],
          exclude: ['daemon/test/root/**']
        }
      },
      { extends: true, test: { name: 'root', include: ['daemon/test/root/**/*.test.ts'] } }
    ]
  }
});
