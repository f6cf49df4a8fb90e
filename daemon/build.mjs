// Bundles the daemon into one CommonJS file for the Node.js its package.json's `engines` names
// (no node_modules tree in the wheel) and lays out its assets beside it: dist/bin/,
// dist/profiles/, dist/icons/, and dist/package.json, from which the daemon's doctor and the
// Python side read that Node.js minimum.
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';

const out = new URL('./dist/', import.meta.url).pathname;
const pkg = JSON.parse(await readFile(new URL('./package.json', import.meta.url), 'utf8'));
const nodeMin = /^>=\s*(\d+)/.exec(pkg.engines.node)[1];
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: `${out}bin/jupyter-desktops-daemon.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${nodeMin}`,
  minify: true,
  legalComments: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning'
});
await cp(new URL('./profiles/', import.meta.url).pathname, `${out}profiles`, { recursive: true });
await cp(new URL('../icons/', import.meta.url).pathname, `${out}icons`, { recursive: true });
await writeFile(
  `${out}package.json`,
  JSON.stringify({ name: pkg.name, version: pkg.version, engines: pkg.engines }, null, 2) + '\n'
);
