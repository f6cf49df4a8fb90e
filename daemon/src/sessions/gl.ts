// OpenGL capability of a desktop, read with glxinfo: what renderer it has, which core profile
// version it offers, and whether that is software rendering (Mesa llvmpipe and friends).
import { execFile } from 'node:child_process';

export interface IGlInfo {
  renderer: string;
  /** Highest OpenGL core profile version, e.g. [4, 5]; [0, 0] when none is reported. */
  core: [number, number];
  software: boolean;
}

/** Parses `glxinfo -B` output. */
export function parseGlxinfo(text: string): IGlInfo {
  const renderer = /OpenGL renderer string:\s*(.+)/.exec(text)?.[1].trim() ?? 'unknown';
  const core =
    /Max core profile version:\s*(\d+)\.(\d+)/.exec(text) ??
    /OpenGL core profile version string:\s*(\d+)\.(\d+)/.exec(text) ??
    /OpenGL version string:\s*(\d+)\.(\d+)/.exec(text);
  return {
    renderer,
    core: core ? [Number(core[1]), Number(core[2])] : [0, 0],
    software: /llvmpipe|softpipe|swrast|software rasterizer/i.test(renderer)
  };
}

/** Whether `info` offers at least the `required` version ("3.3"). */
export function meetsGl(required: string, info: IGlInfo): boolean {
  const [maj, min] = required.split('.').map(Number);
  return info.core[0] > maj || (info.core[0] === maj && info.core[1] >= min);
}

/** Runs glxinfo against a display; rejects with a sentence when it cannot. */
export function checkGl(
  glxinfo: string,
  env: Record<string, string>,
  timeoutMs = 15000
): Promise<IGlInfo> {
  return new Promise((resolve, reject) => {
    execFile(glxinfo, ['-B'], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n')[0];
        reject(new Error(`the OpenGL check (glxinfo) failed: ${why}`));
        return;
      }
      resolve(parseGlxinfo(stdout));
    });
  });
}
