#!/bin/sh
# Runs one application as the whole session: a small window manager for its windows, the
# application in the foreground, and the session ends when the application does.
# usage: app-session.sh PROGRAM [ARG...]   (PROGRAM is an absolute path resolved by the daemon)
set -eu
if [ "$#" -lt 1 ] || [ ! -x "$1" ]; then
  echo "jupyter-desktops: no application to run (got '${1:-}')" >&2
  exit 2
fi
if command -v xset >/dev/null 2>&1; then
  xset s off -dpms || true
fi
for wm in xfwm4 marco openbox twm; do
  if command -v "$wm" >/dev/null 2>&1; then
    "$wm" >/dev/null 2>&1 &
    break
  fi
done
echo "jupyter-desktops: starting $1"
status=0
"$@" || status=$?
echo "jupyter-desktops: $1 exited with status $status"
exit "$status"
