# shellcheck shell=sh
# Sourced by the desktop xstartups: what every full desktop session needs in a browser tab.
# Screen lockers, screensavers and power managers are hidden through our own XDG config dir
# (first in XDG_CONFIG_DIRS, so only a user's own ~/.config/autostart entry can override it):
# a lock screen in a tab would ask for a password a JupyterHub user may not have.
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
XDG_CONFIG_DIRS="$here/xdg:${XDG_CONFIG_DIRS:-/etc/xdg}"
XDG_SESSION_TYPE=x11
export XDG_CONFIG_DIRS XDG_SESSION_TYPE
if command -v xset >/dev/null 2>&1; then
  xset s off -dpms || true
fi
