// What the launcher (launcher.ts) did with the V8 code cache, for the doctor to report: the
// launcher and the daemon are separate bundles, so they meet on a registered symbol.

export interface ICodeCacheStatus {
  /**
   * used: the cache was read and V8 took it; rejected: V8 refused it (another Node.js or
   * bundle, or damaged), and it is written again; missing: none yet, written once the daemon
   * has served a few seconds; off: there is no private place for it (`why`).
   */
  state: 'used' | 'rejected' | 'missing' | 'off';
  file?: string;
  why?: string;
}

const KEY = Symbol.for('jupyter-desktops.code-cache');

export function setCodeCacheStatus(status: ICodeCacheStatus): void {
  (globalThis as Record<symbol, unknown>)[KEY] = status;
}

/** Undefined when the daemon was not started by its launcher (tests build it in-process). */
export function codeCacheStatus(): ICodeCacheStatus | undefined {
  return (globalThis as Record<symbol, unknown>)[KEY] as ICodeCacheStatus | undefined;
}
