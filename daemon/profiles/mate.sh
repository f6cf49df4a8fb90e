#!/bin/sh
# MATE desktop session for JupyterLab Desktops (no screen lock, no screensaver).
set -eu
# shellcheck source=desktop-env.sh
. "$(dirname -- "$0")/desktop-env.sh"
XDG_CURRENT_DESKTOP=MATE
export XDG_CURRENT_DESKTOP
# As root (the quick start, containers run as root), caja declines to draw the desktop and
# quits at once, so mate-session restarts it without end; and mate-panel never registers, so
# the session waits 30 s for it before starting anything else. xdg-mate-root provides both
# components in a form that works as root: caja --force-desktop, and the panel started
# without a wait for its registration.
if [ "$(id -u)" -eq 0 ]; then
  XDG_CONFIG_DIRS="$here/xdg-mate-root:$XDG_CONFIG_DIRS"
fi
echo "jupyter-desktops: starting MATE on $DISPLAY"
session_bus mate-session
