#!/usr/bin/env bash
# The test command (README, .ci/run): sets everything up, then runs the linters, the unit and
# integration tests (vitest, real Xtigervnc), the pip package's tests (pytest), the browser
# tests (Playwright, real JupyterLab and Chromium), the multi-user ones (the deploy/ stack:
# JupyterHub, PAM users, nginx with TLS) and the single-user image's (built and run with
# podman). A skipped test counts as failed: nothing is skipped quietly. Ends with one
# "N passed, N failed" line.
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
check "stylelint" npx stylelint "packages/labextension/style/**/*.css"
check "shellcheck" bash scripts/shellcheck.sh
# The benchmarks' harness, once and briefly (its figures mean nothing; npm run bench measures).
check "bench harness (npm run bench -- --smoke)" \
  npm run bench --silent -- --smoke --out test-results/bench-smoke

printf '\n==> vitest (unit and integration, real Xtigervnc; the default and root projects)\n'
rm -f test-results/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
read -r p f < <(count_json test-results/vitest.json '"%d %d" % (d["numPassedTests"], d["numFailedTests"] + d["numPendingTests"] + d["numTodoTests"] + (0 if d["numTotalTests"] else 1))')
passed=$((passed + p))
failed=$((failed + f))

printf '\n==> pytest (the installed pip package and its entry point)\n'
rm -f test-results/pytest.xml
# The pytest script, not python -m pytest: the installed package must be tested, not the
# source tree in the current directory.
.venv/bin/pytest -p no:cacheprovider --import-mode=importlib --junitxml=test-results/pytest.xml tests
read -r p f < <(python3 - <<'PY'
import xml.etree.ElementTree as ET
try:
    s = ET.parse("test-results/pytest.xml").getroot()
    s = s if s.tag == "testsuite" else s.find("testsuite")
    t, bad, skip = int(s.get("tests")), int(s.get("failures")) + int(s.get("errors")), int(s.get("skipped"))
    print(t - bad - skip, bad + skip + (0 if t else 1))
except (OSError, ET.ParseError, AttributeError):
    print(0, 1)
PY
)
passed=$((passed + p))
failed=$((failed + f))

playwright() { # title, results file (under ui-tests/), playwright options...
  printf '\n==> %s\n' "$1"
  local results="ui-tests/$2"
  shift 2
  rm -f "$results"
  (cd ui-tests && npx playwright test "$@")
  read -r p f < <(count_json "$results" '"%d %d" % (d["stats"]["expected"], d["stats"]["unexpected"] + d["stats"]["flaky"] + d["stats"]["skipped"] + (0 if d["stats"]["expected"] else 1))')
  passed=$((passed + p))
  failed=$((failed + f))
}
playwright "playwright (JupyterLab + Chromium)" test-results/results.json
playwright "playwright on JupyterHub (deploy/: PAM users, nginx with TLS, Chromium over HTTPS)" \
  test-results/hub-results.json -c playwright.hub.config.ts
playwright "playwright in the single-user image (deploy/image: built and run with podman)" \
  test-results/image-results.json -c playwright.image.config.ts

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
