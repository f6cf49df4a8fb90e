// The product's version. Its one source is packages/labextension/package.json: daemon/build.mjs
// puts it into the bundle (esbuild's `define`), vitest.config.ts into the tests (vite's).
declare const __JUPYTERLAB_DESKTOPS_VERSION__: string;

export const VERSION: string = __JUPYTERLAB_DESKTOPS_VERSION__;
