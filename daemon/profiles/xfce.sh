#!/bin/sh
# XFCE desktop session for JupyterLab Desktops (no screen lock, no screensaver, no TCP).
set -eu
# shellcheck source=desktop-env.sh
. "$(dirname -- "$0")/desktop-env.sh"
XDG_CURRENT_DESKTOP=XFCE
export XDG_CURRENT_DESKTOP
echo "jupyter-desktops: starting XFCE on $DISPLAY"
session_bus xfce4-session --disable-tcp
