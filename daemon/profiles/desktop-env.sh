# shellcheck shell=sh
# Sourced by the desktop xstartups and app-session.sh: what every session needs in a browser tab.
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

# Runs the session under its own session bus (ended with the display), whose configuration
# (dbus/session.conf) is the system's own plus services that stand in for screen lockers and
# power managers: D-Bus would otherwise start those on demand, whatever autostart says.
session_bus() {
  if [ -r /usr/share/dbus-1/session.conf ]; then
    exec dbus-launch --exit-with-session --config-file="$here/dbus/session.conf" "$@"
  fi
  echo "jupyter-desktops: no /usr/share/dbus-1/session.conf: screen lockers that D-Bus starts on demand are not masked" >&2
  exec dbus-launch --exit-with-session "$@"
}
