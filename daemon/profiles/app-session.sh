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
  # Openbox runs its --startup command once its start-up is over; it marks the root window.
  openbox --config-file "$here/openbox-app.xml" \
    --startup 'xprop -root -f _JUPYTER_DESKTOPS_WM 8s -set _JUPYTER_DESKTOPS_WM ready' >/dev/null 2>&1 &
  # Wait (up to 5 s) for that mark. A window mapped before it would miss the maximize rule, or
  # (mapped while openbox starts) be shown without the keyboard focus: keys would go nowhere.
  # _NET_SUPPORTING_WM_CHECK is not enough: openbox sets it before its start-up is over.
  if command -v xprop >/dev/null 2>&1; then
    i=0
    while [ "$i" -lt 50 ] && ! xprop -root _JUPYTER_DESKTOPS_WM 2>/dev/null | grep -q '"ready"'; do
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
