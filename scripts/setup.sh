#!/usr/bin/env bash
# Installs everything the product and its tests need on Debian 12, as root, idempotently:
# system packages (apt), npm dependencies, the build, and a Python venv with the wheel.
# Usage: scripts/setup.sh [--no-wheel]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_RETRIES="${PIP_RETRIES:-0}" PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive

# What a server needs (deploy/debian-packages.txt, the one list), and the tools the tests use:
# the apps and lockers the desktop tests start or keep out, Chromium, shellcheck, Debian's
# own tornado (the doctor is tested against it), and podman with runc and debootstrap (the
# image tests build and run the single-user image; runc and the network plugins are named, or
# apt would pick crun, which this host's cgroups refuse).
mapfile -t APT_PACKAGES < <(sed -e 's/[[:space:]]*#.*//' -e '/^$/d' deploy/debian-packages.txt)
APT_PACKAGES+=(
  tigervnc-tools netcdf-bin ncview xclip
  mate-screensaver mate-power-manager xfce4-power-manager light-locker
  chromium shellcheck python3-tornado openssl
  podman runc containernetworking-plugins debootstrap
  websockify # npm run bench: the reference deployment's path, measured beside ours
)

step() { printf '\n==> %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "These Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The oldest Node.js the daemon supports (daemon/package.json's engines) is Debian 12's own,
# 18.20: daemon/test/node18.test.ts runs the bundle on it. This machine's apt may hold a newer
# nodejs (NodeSource's, pinned), so Debian's nodejs and libnode108 are unpacked into .cache/node18
# rather than installed, and .cache/node18/bin/node runs them (LD_LIBRARY_PATH for libnode); the
# libraries and JavaScript they load from the system (libnode108's Depends) come from apt.
NODE18=.cache/node18
if ! "$NODE18/bin/node" -e 'process.exit(/^v18\.20\./.test(process.version) ? 0 : 1)' 2>/dev/null; then
  step "Node.js 18.20: Debian's nodejs and libnode108, unpacked into $NODE18"
  # The newest Debian 12 build (18.20.4+dfsg-1~deb12uN, from bookworm or bookworm-security).
  debian_node18() {
    apt-cache madison nodejs |
      awk -F'|' '{ gsub(/ /, "", $2) } $2 ~ /^18\.20\..*~deb12u[0-9]+$/ { print $2 }' | sort -V | tail -n 1
  }
  rm -rf "$NODE18"
  mkdir -p "$NODE18/debs" "$NODE18/bin"
  chown _apt "$NODE18/debs" 2>/dev/null || true # apt-get download writes as _apt where it can
  deb_version="$(debian_node18)"
  if [ -z "$deb_version" ] || ! (cd "$NODE18/debs" &&
    apt-get download -qq "nodejs=$deb_version" "libnode108=$deb_version" 2>/dev/null); then
    apt-get update -qq # package lists older than the archive (a security update replaced the build)
    deb_version="$(debian_node18)"
    if [ -z "$deb_version" ]; then
      echo "apt knows no Debian 12 nodejs 18.20 (apt-cache madison nodejs)" >&2
      exit 1
    fi
    (cd "$NODE18/debs" && apt-get download -qq "nodejs=$deb_version" "libnode108=$deb_version")
  fi
  for deb in "$NODE18"/debs/*.deb; do dpkg-deb -x "$deb" "$NODE18/root"; done
  mapfile -t node18_deps < <(
    for deb in "$NODE18"/debs/*.deb; do dpkg-deb -f "$deb" Depends; done | tr ',' '\n' |
      sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -v -e '^$' -e '^libnode' | sort -u
  )
  node18_missing=()
  for p in "${node18_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || node18_missing+=("$p")
  done
  if [ "${#node18_missing[@]}" -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${node18_missing[@]}" >/dev/null
  fi
  libnode="$(find "$NODE18/root" -name 'libnode.so.*' -print -quit)"
  libdir="${libnode#"$NODE18/"}"
  libdir="${libdir%/*}"
  cat >"$NODE18/bin/node" <<EOF
#!/bin/sh
# Debian 12's Node.js $deb_version, unpacked by scripts/setup.sh.
here="\$(dirname "\$(readlink -f "\$0")")/.."
LD_LIBRARY_PATH="\$here/$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/root/usr/bin/node" "\$@"
EOF
  chmod 755 "$NODE18/bin/node"
  rm -rf "$NODE18/debs"
  "$NODE18/bin/node" --version
fi

step "npm: installing dependencies"
# npm install, not npm ci: npm 11 leaves other platforms' optional packages out of the lock
# file and npm ci then refuses it. The lock file still pins every version installed here.
npm install --no-audit --no-fund

step "build: protocol, daemon, labextension"
npm run build

step "npm: installing the browser-test project (ui-tests)"
(cd ui-tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)

if [ "${1:-}" != "--no-wheel" ]; then
  step "python: venv .venv with JupyterLab and the jupyterlab-desktops wheel"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q hatchling pytest
  rm -rf build/wheel
  .venv/bin/pip wheel -q --no-deps --no-build-isolation -w build/wheel .
  # jupyter-server-proxy is a declared dependency; where the package index lacks it (as on
  # machines with only a local mirror) the wheel's other requirements, JupyterLab among them,
  # are installed as the wheel declares them, and the README's nginx route stands in for it.
  if ! .venv/bin/pip install -q build/wheel/*.whl 2>/dev/null; then
    echo "jupyter-server-proxy is not on this machine's package index: using the nginx route"
    mapfile -t requirements < <(.venv/bin/python scripts/wheel_requirements.py build/wheel/*.whl --without jupyter-server-proxy)
    .venv/bin/pip install -q "${requirements[@]}"
  fi
  # Same version number, new build: always replace the installed copy.
  .venv/bin/pip install -q --force-reinstall --no-deps build/wheel/*.whl
fi
