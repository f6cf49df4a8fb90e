#!/bin/sh
# NASA Panoply as an app-only session. DESKTOPS_APP is Panoply's launcher (panoply.sh) the daemon
# found. Panoply 5 needs Java 11 or newer: check before starting, and say so if not.
set -eu
here=$(dirname -- "$0")
fail() { # the reason the tab shows: in the log and on fd 3 (desktop-env.sh)
  echo "jupyter-desktops: error: $1"
  { echo "$1" >&3; } 2>/dev/null || true
  exit 3
}
java=$(command -v java || true)
if [ -z "$java" ]; then
  fail "Panoply needs a Java 11+ runtime and none is on PATH"
fi
version=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9._]*\).*/\1/p' | head -n 1)
major=${version%%.*}
if [ "$major" = 1 ]; then
  # "1.8.0_392" is Java 8.
  rest=${version#1.}
  major=${rest%%.*}
fi
case "$major" in
  '' | *[!0-9]*)
    fail "Panoply needs Java 11 or newer; could not read the version of $java"
    ;;
esac
if [ "$major" -lt 11 ]; then
  fail "Panoply needs Java 11 or newer; $java is Java $major"
fi
set -- "$DESKTOPS_APP"
if [ -n "${DESKTOPS_OPEN:-}" ]; then
  set -- "$@" "$DESKTOPS_OPEN"
fi
exec "$here/app-session.sh" "$@"
