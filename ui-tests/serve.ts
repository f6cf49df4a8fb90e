// Starts scripts/serve.py (JupyterLab + the installed wheel, isolated config in a state dir) on
// a free port and resolves once it is ready, with its URL and token and a way to stop it.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

export interface IServed {
  stack: { url: string; base: string; token: string; mode: 'jsp' | 'nginx' };
  /** Everything serve.py printed so far. */
  output: () => string;
  stop: () => Promise<void>;
}

export async function serve(
  venv: string,
  state: string,
  env: Record<string, string> = {}
): Promise<IServed> {
  const python = join(venv, 'bin', 'python');
  const urlFile = join(state, 'url');
  rmSync(urlFile, { force: true });
  const proc = spawn(
    python,
    [
      join(ROOT, 'scripts', 'serve.py'),
      '--venv',
      venv,
      '--port',
      '0',
      '--isolated',
      '--state-dir',
      state
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let output = '';
  proc.stdout.on('data', d => (output += d));
  proc.stderr.on('data', d => (output += d));
  const deadline = Date.now() + 120_000;
  while (!existsSync(urlFile)) {
    if (proc.exitCode !== null) {
      throw new Error(`serve.py exited:\n${output}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`serve.py not ready in 120 s:\n${output}`);
    }
    await new Promise(r => setTimeout(r, 250));
  }
  return {
    stack: JSON.parse(readFileSync(urlFile, 'utf8')),
    output: () => output,
    stop: async () => {
      if (proc.exitCode !== null) {
        return;
      }
      proc.kill('SIGTERM');
      await new Promise(r => proc.once('exit', r));
    }
  };
}
