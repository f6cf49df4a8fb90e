#!/usr/bin/env bash
# The test command (README, .ci/run): sets everything up, then runs the linters, the unit and
# integration tests (vitest, real Xtigervnc) and the browser tests (Playwright, real
# JupyterLab and Chromium). Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PIP_RETRIES="${PIP_RETRIES:-0}"

if ! scripts/setup.sh; then
  echo "set-up failed: see above"
  echo "0 passed, 1 failed"
  exit 1
fi

mkdir -p test-results
passed=0
failed=0
check() { # name, command...: one pass or fail for a whole linter
  local name=$1
  shift
  printf '\n==> %s\n' "$name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
count_json() { # file, jq-like python expression printing "passed failed"
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("0 1")
    sys.exit()
print(eval(sys.argv[2], {"d": d}))
PY
}

check "eslint" npx eslint .
check "prettier" npx prettier --check .
check "shellcheck" bash scripts/shellcheck.sh

printf '\n==> vitest (unit and integration, real Xtigervnc)\n'
rm -f test-results/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
read -r p f < <(count_json test-results/vitest.json '"%d %d" % (d["numPassedTests"], d["numFailedTests"] + (0 if d["numTotalTests"] else 1))')
passed=$((passed + p))
failed=$((failed + f))

printf '\n==> playwright (JupyterLab + Chromium)\n'
rm -f ui-tests/test-results/results.json
(cd ui-tests && npx playwright test)
read -r p f < <(count_json ui-tests/test-results/results.json '"%d %d" % (d["stats"]["expected"], d["stats"]["unexpected"] + d["stats"]["flaky"] + (0 if d["stats"]["expected"] else 1))')
passed=$((passed + p))
failed=$((failed + f))

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
