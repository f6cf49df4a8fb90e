#!/usr/bin/env bash
# Installs everything the product and its tests need on Debian 12, as root, idempotently:
# system packages (apt), npm dependencies, the build, and a Python venv with the wheel.
# Usage: scripts/setup.sh [--no-wheel]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_RETRIES="${PIP_RETRIES:-0}" PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive

# What a server needs (deploy/debian-packages.txt, the one list), and the tools the tests use:
# the apps and lockers the desktop tests start or keep out, Chromium, shellcheck, and Debian's
# own tornado (the doctor is tested against it).
mapfile -t APT_PACKAGES < <(grep -v -e '^#' -e '^$' deploy/debian-packages.txt)
APT_PACKAGES+=(
  tigervnc-tools netcdf-bin ncview xclip
  mate-screensaver mate-power-manager xfce4-power-manager light-locker
  chromium shellcheck python3-tornado openssl
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
  # machines with only a local mirror) the wheel is installed without it and the nginx route
  # of DESIGN.md stands in for it.
  if ! .venv/bin/pip install -q build/wheel/*.whl 2>/dev/null; then
    echo "jupyter-server-proxy is not on this machine's package index: using the nginx route"
    .venv/bin/pip install -q "jupyterlab>=4.6,<5" "jupyter_server>=2" "jupyter_core>=5"
  fi
  # Same version number, new build: always replace the installed copy.
  .venv/bin/pip install -q --force-reinstall --no-deps build/wheel/*.whl
fi
