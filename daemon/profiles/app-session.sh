#!/bin/sh
# Runs one application as the whole session: a small window manager that maximizes its
# windows, the application in the foreground, and the session ends when the application does
# (with its exit status).
# usage: app-session.sh PROGRAM [ARG...]   (PROGRAM is an absolute path resolved by the daemon)
set -eu
if [ "$#" -lt 1 ] || [ ! -x "$1" ]; then
  echo "jupyter-desktops: no application to run (got '${1:-}')" >&2
  exit 2
fi
# shellcheck source=desktop-env.sh
. "$(dirname -- "$0")/desktop-env.sh"
# The reason channel is the scripts' alone (desktop-env.sh): not the application's.
exec 3>&-
if command -v openbox >/dev/null 2>&1; then
  openbox --config-file "$here/openbox-app.xml" >/dev/null 2>&1 &
  # Wait (up to 5 s) until openbox manages the screen: a window mapped before that would not
  # get the maximize rule.
  if command -v xprop >/dev/null 2>&1; then
    i=0
    while [ "$i" -lt 50 ] && ! xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q 'window id'; do
      sleep 0.1
      i=$((i + 1))
    done
  fi
else
  # Windows are not maximized without openbox; any window manager beats none.
  for wm in xfwm4 marco twm; do
    if command -v "$wm" >/dev/null 2>&1; then
      "$wm" >/dev/null 2>&1 &
      break
    fi
  done
fi
echo "jupyter-desktops: starting $*"
status=0
"$@" || status=$?
echo "jupyter-desktops: $1 exited with status $status"
exit "$status"
