#!/usr/bin/env bash
# Lints every shell script we ship or run: xstartups, set-up and CI scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck is missing: apt-get install shellcheck (scripts/setup.sh does)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.sh' '.ci/run' | sort -u)
shellcheck -x -P SCRIPTDIR "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
