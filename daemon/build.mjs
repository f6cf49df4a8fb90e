// Bundles the daemon into one CommonJS file for the oldest Node.js its package.json's `engines`
// names (no node_modules tree in the wheel), with the small executable that loads it, and lays
// out its assets beside them: dist/bin/, dist/profiles/, dist/icons/, and dist/package.json,
// from which the daemon's doctor and the Python side read that Node.js minimum. The version is the product's one version, from
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
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${nodeMin}`,
  minify: true,
  logLevel: 'warning'
};
// The daemon, and the executable that loads it with a V8 code cache (src/launcher.ts).
await build({
  ...common,
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: `${out}bin/daemon.cjs`,
  define: { __JUPYTERLAB_DESKTOPS_VERSION__: JSON.stringify(version) },
  // Fastify's default schema compilers (Ajv, fast-json-stringify): app.ts gives its own, so
  // they are never required; left in, their code was a third of the bundle.
  external: ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'],
  legalComments: 'linked'
});
await build({
  ...common,
  entryPoints: [new URL('./src/launcher.ts', import.meta.url).pathname],
  outfile: `${out}bin/jupyter-desktops-daemon.cjs`,
  banner: { js: '#!/usr/bin/env node' }
});
await cp(new URL('./profiles/', import.meta.url).pathname, `${out}profiles`, { recursive: true });
await cp(new URL('../icons/', import.meta.url).pathname, `${out}icons`, { recursive: true });
await writeFile(
  `${out}package.json`,
  JSON.stringify({ name: pkg.name, version, engines: pkg.engines }, null, 2) + '\n'
);
