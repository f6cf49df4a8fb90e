// Executable entry: runs the daemon, exiting non-zero on any start-up failure.
import { main } from './server.js';

main().catch(err => {
  process.stderr.write(`jupyter-desktops-daemon: ${(err as Error).message}\n`);
  process.exit(1);
});
