// Bundles the daemon into one CommonJS file for the oldest Node.js its package.json's `engines`
// names (no node_modules tree in the wheel) and lays out its assets beside it: dist/bin/,
// dist/profiles/, dist/icons/, and dist/package.json, from which the daemon's doctor and the
// Python side read that Node.js minimum. The version is the product's one version, from
// packages/labextension/package.json (src/version.ts).
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';

const readJson = async path => JSON.parse(await readFile(new URL(path, import.meta.url), 'utf8'));
const out = new URL('./dist/', import.meta.url).pathname;
const pkg = await readJson('./package.json');
const { version } = await readJson('../packages/labextension/package.json');
// ">=18.20" -> esbuild's "node18.20".
const nodeMin = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)?.[1];
if (!nodeMin) {
  throw new Error(`engines.node must read ">=N[.N]", not ${pkg.engines.node}`);
}
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: `${out}bin/jupyter-desktops-daemon.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${nodeMin}`,
  define: { __JUPYTERLAB_DESKTOPS_VERSION__: JSON.stringify(version) },
  minify: true,
  legalComments: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning'
});
await cp(new URL('./profiles/', import.meta.url).pathname, `${out}profiles`, { recursive: true });
await cp(new URL('../icons/', import.meta.url).pathname, `${out}icons`, { recursive: true });
await writeFile(
  `${out}package.json`,
  JSON.stringify({ name: pkg.name, version, engines: pkg.engines }, null, 2) + '\n'
);
