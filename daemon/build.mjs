// Bundles the daemon into one CommonJS file for the host's Node >= 18 (no node_modules tree in
// the wheel) and lays out its assets beside it: dist/bin/, dist/profiles/, dist/icons/.
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';

const out = new URL('./dist/', import.meta.url).pathname;
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: `${out}bin/jupyter-desktops-daemon.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  minify: true,
  legalComments: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning'
});
await cp(new URL('./profiles/', import.meta.url).pathname, `${out}profiles`, { recursive: true });
await cp(new URL('../icons/', import.meta.url).pathname, `${out}icons`, { recursive: true });
