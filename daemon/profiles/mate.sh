#!/bin/sh
# MATE desktop session for JupyterLab Desktops (no screen lock, no screensaver).
set -eu
# shellcheck source=desktop-env.sh
. "$(dirname -- "$0")/desktop-env.sh"
XDG_CURRENT_DESKTOP=MATE
export XDG_CURRENT_DESKTOP
echo "jupyter-desktops: starting MATE on $DISPLAY"
exec dbus-launch --exit-with-session mate-session
