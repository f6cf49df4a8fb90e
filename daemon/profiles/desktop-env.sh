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

# Says why this session cannot start: in the log, and on file descriptor 3, from which the tab
# takes its message. Only these scripts hold fd 3 (the desktop's programs write to the log
# alone), so nothing a program prints can pose as the reason.
desktops_error() {
  echo "jupyter-desktops: error: $*" >&2
  { echo "$*" >&3; } 2>/dev/null || true
}

# Runs the session under its own session bus (ended with the display), whose configuration
# (dbus/session.conf) is the system's own plus services that stand in for screen lockers and
# power managers: D-Bus would otherwise start those on demand, whatever autostart says.
session_bus() {
  exec 3>&-
  if [ -r /usr/share/dbus-1/session.conf ]; then
    exec dbus-launch --exit-with-session --config-file="$here/dbus/session.conf" "$@"
  fi
  echo "jupyter-desktops: no /usr/share/dbus-1/session.conf: screen lockers that D-Bus starts on demand are not masked" >&2
  exec dbus-launch --exit-with-session "$@"
}

# A container may run its user as an arbitrary uid with no entry in /etc/passwd (OpenShift
# does): D-Bus, which both desktops need, then refuses to run. nss_wrapper (Debian:
# libnss-wrapper) gives the session an entry of its own, in the session's private directory
# (beside its cookie file, removed with it); without it, the tab says why.
if ! id -un >/dev/null 2>&1; then
  nss_wrapper=
  for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    if [ -r "$lib" ]; then
      nss_wrapper=$lib
      break
    fi
  done
  if [ -z "$nss_wrapper" ] || [ -z "${XAUTHORITY:-}" ]; then
    desktops_error "this user (uid $(id -u)) has no entry in /etc/passwd, and D-Bus, which the desktops need, does not run without one: run the server as a user the system knows, or install nss_wrapper (Debian: libnss-wrapper), which gives each desktop an entry of its own"
    exit 1
  fi
  name=${USER:-user}
  if getent passwd "$name" >/dev/null 2>&1; then
    name="user$(id -u)" # the image's own name belongs to another uid
  fi
  NSS_WRAPPER_PASSWD="$(dirname -- "$XAUTHORITY")/passwd"
  cat /etc/passwd >"$NSS_WRAPPER_PASSWD"
  printf '%s:x:%s:%s:%s:%s:%s\n' "$name" "$(id -u)" "$(id -g)" "$name" "${HOME:-/}" "${SHELL:-/bin/sh}" >>"$NSS_WRAPPER_PASSWD"
  NSS_WRAPPER_GROUP=/etc/group
  LD_PRELOAD="$nss_wrapper${LD_PRELOAD:+ $LD_PRELOAD}"
  USER=$name
  LOGNAME=$name
  export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD USER LOGNAME
fi
