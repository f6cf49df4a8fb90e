// Builds the single-user image once for the image tests, from this tree, and records how long
// that took and how big it is (test-results/image/build.json, printed by the tests).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BASE_IMAGE,
  BUILD_FILE,
  IMAGE,
  podman,
  ROOT,
  stageWheels,
  STATE,
  type IBuild
} from './podman';

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

function step(what: string): void {
  console.log(`\n==> image: ${what}`);
}

export default async function globalSetup(): Promise<void> {
  for (const bin of ['/usr/bin/podman', '/usr/sbin/debootstrap', '/usr/sbin/nginx']) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: scripts/setup.sh installs it`);
    }
  }
  mkdirSync(STATE, { recursive: true });
  const seconds_: IBuild['seconds'] = { base: 0, wheels: 0, image: 0 };

  // The base: Debian 12 from Debian's packages (no image registry is reachable here); kept
  // between runs, since it is what a site would pull.
  let t = Date.now();
  try {
    podman(['image', 'exists', BASE_IMAGE]);
    step(`base ${BASE_IMAGE}: already here`);
  } catch {
    step(`base ${BASE_IMAGE}: debootstrap --variant=minbase bookworm (about a minute)`);
    const root = join(STATE, 'base-root');
    rmSync(root, { recursive: true, force: true });
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', root], { stdio: 'inherit' });
    const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 2 ** 31 - 1 });
    podman(['import', '--change', 'CMD ["/bin/bash"]', '-', BASE_IMAGE], {
      input: tar as unknown as string
    });
    rmSync(root, { recursive: true, force: true });
    seconds_.base = seconds(t);
  }

  if (process.env.DESKTOPS_IMAGE_REUSE) {
    // For a local re-run of the tests alone: the image already built stays.
    step(`DESKTOPS_IMAGE_REUSE: ${IMAGE} is not rebuilt`);
    podman(['image', 'exists', IMAGE]);
    writeFigures(seconds_);
    return;
  }
  step("wheels: this tree's and its requirements, into deploy/image/wheels");
  t = Date.now();
  stageWheels();
  seconds_.wheels = seconds(t);

  step(`build ${IMAGE} from deploy/image/Containerfile`);
  t = Date.now();
  // The previous build goes first: each build would otherwise leave it behind, untagged, at
  // 1.7 GiB a time.
  podman(['rmi', '--force', '--ignore', IMAGE]);
  execFileSync(
    'podman',
    [
      '--runtime',
      'runc',
      'build',
      '--no-cache',
      '--pull=never',
      '--network=host',
      '--build-arg',
      `BASE=${BASE_IMAGE}`,
      '--file',
      join(ROOT, 'deploy', 'image', 'Containerfile'),
      '--tag',
      IMAGE,
      join(ROOT, 'deploy')
    ],
    { stdio: 'inherit', env: { ...process.env, CONTAINERS_CONF: join(STATE, 'containers.conf') } }
  );
  seconds_.image = seconds(t);
  writeFigures(seconds_);
}

function writeFigures(seconds_: IBuild['seconds']): void {
  const probe = (argv: string[]): string => {
    try {
      return podman(['run', '--rm', IMAGE, ...argv]).trim();
    } catch {
      return '';
    }
  };
  const figures: IBuild = {
    seconds: seconds_,
    bytes: Number(podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE]).trim()),
    jsp: probe(['python', '-c', 'import jupyter_server_proxy; print("yes")']) === 'yes',
    node: probe(['node', '--version'])
  };
  writeFileSync(BUILD_FILE, JSON.stringify(figures, null, 2));
  console.log(
    `image: built in ${figures.seconds.image} s (base ${figures.seconds.base} s, wheels ${figures.seconds.wheels} s), ` +
      `${(figures.bytes / 2 ** 20).toFixed(0)} MiB, Node ${figures.node}, ` +
      `jupyter-server-proxy ${figures.jsp ? 'installed' : 'missing: the TEST STAND-IN route'}`
  );
}
