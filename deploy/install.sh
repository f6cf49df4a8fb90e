#!/usr/bin/env bash
# Installs JupyterHub with JupyterLab Desktops on a Debian 12 server, as root: Debian's
# packages (deploy/debian-packages.txt, JupyterHub 3.0 among them, run by Debian's Python),
# one Python environment for every user's server (a venv with --system-site-packages:
# JupyterLab and this package from pip), the hub's configuration, its systemd units and the
# nginx site.
# Safe to run again (an upgrade): files an admin may have edited are never overwritten; the new
# version lands beside them as <file>.dist. Ends with `jupyter desktops doctor`.
#
# Usage: deploy/install.sh [--prefix DIR] [--destdir DIR] [--no-apt] [--env-only] [PACKAGE...]
#   PACKAGE       what pip installs (default: jupyterlab-desktops); a wheel file works too
#   --prefix DIR  the Python environment (default /opt/jupyterhub)
#   --destdir DIR put the configuration, units and nginx site under DIR instead of / (as
#                 DESTDIR does for `make install`), and start nothing: for checks and tests
#   --no-apt      the Debian packages are installed already
#   --env-only    the desktops and the Python environment only: no hub configuration, units,
#                 nginx site or server-only package (a container image runs no hub and no nginx)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX=/opt/jupyterhub
DESTDIR=
APT=1
SYSTEM=1
PACKAGES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --destdir) DESTDIR="$(realpath -m "$2")"; shift 2 ;;
    --no-apt) APT=0; shift ;;
    --env-only) SYSTEM=0; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) PACKAGES+=("$1"); shift ;;
  esac
done
[ "${#PACKAGES[@]}" -gt 0 ] || PACKAGES=(jupyterlab-desktops)
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n==> %s\n' "$*"; }
# Installs a file an admin may edit: a changed copy stays, the new one lands beside it.
place() { # source, destination, mode
  if [ -e "$2" ] && ! cmp -s "$1" "$2"; then
    install -m "$3" "$1" "$2.dist"
    echo "kept your $2; the new version is $2.dist"
  else
    install -D -m "$3" "$1" "$2"
  fi
}

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh must run as root: it installs Debian packages and a system-wide environment" >&2
  exit 1
fi

if [ "$APT" = 1 ]; then
  step "Debian packages"
  # One package a line; "# ..." is a comment. --env-only leaves out the "server-only" ones.
  skip='^$'
  [ "$SYSTEM" = 1 ] || skip='# server-only'
  mapfile -t debs < <(grep -v -e "$skip" "$HERE/debian-packages.txt" | sed -e 's/[[:space:]]*#.*//' -e '/^$/d')
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
fi

step "The users' Python environment $PREFIX (Debian's Python and JupyterHub, the rest from pip)"
# Debian's python3, not whichever is first on PATH: the single-user server is Debian's
# JupyterHub package's, seen through --system-site-packages.
[ -x "$PREFIX/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$PREFIX"
PIP=("$PREFIX/bin/python" -m pip)
if ! "${PIP[@]}" install -q --upgrade "${PACKAGES[@]}"; then
  # A package index without jupyter-server-proxy (a local mirror, an offline site): the
  # package, then every requirement it declares that the index has.
  echo "pip could not install everything: installing jupyterlab-desktops' requirements one by one"
  "${PIP[@]}" install -q --upgrade --no-deps "${PACKAGES[@]}"
  mapfile -t reqs < <("$PREFIX/bin/python" -c \
    'from importlib.metadata import requires; print("\n".join(requires("jupyterlab-desktops")))')
  for req in "${reqs[@]}"; do
    "${PIP[@]}" install -q "$req" || echo "NOT INSTALLED: $req (this machine's package index lacks it)"
  done
fi
# systemd's spawner (per-user limits) for the hub, which runs Debian's Python: beside the
# environment, not in it. Not every package index has it; the hub works without it.
if [ "$SYSTEM" = 0 ]; then
  : # no hub here
elif "${PIP[@]}" install -q --upgrade --no-deps --target "$PREFIX/hub-lib" jupyterhub-systemdspawner; then
  echo "jupyterhub-systemdspawner: in $PREFIX/hub-lib (per-user limits where systemd runs)"
else
  echo "jupyterhub-systemdspawner is not on this package index: the hub's own unit limits all users together"
fi
# A wheel file of the same version as the installed one (a rebuild) still replaces it.
for p in "${PACKAGES[@]}"; do
  if [ -f "$p" ]; then "${PIP[@]}" install -q --force-reinstall --no-deps "$p"; fi
done
# Users' servers run from here: it must be readable whatever umask root has.
chmod -R a+rX "$PREFIX"

if [ "$SYSTEM" = 1 ]; then
  step "Hub configuration, systemd units, nginx site${DESTDIR:+ (under $DESTDIR)}"
  tmp="$(mktemp)"
  sed -e "s|\"/opt/jupyterhub\"|\"$PREFIX\"|" "$HERE/jupyterhub_config.py" >"$tmp"
  place "$tmp" "$DESTDIR/etc/jupyterhub/jupyterhub_config.py" 0644
  rm -f "$tmp"
  place "$HERE/systemd/jupyterhub.service" "$DESTDIR/etc/systemd/system/jupyterhub.service" 0644
  place "$HERE/systemd/jupyterhub-users.slice" "$DESTDIR/etc/systemd/system/jupyterhub-users.slice" 0644
  place "$HERE/nginx/jupyterhub.conf" "$DESTDIR/etc/nginx/sites-available/jupyterhub" 0644
  install -d -m 0700 "$DESTDIR/var/lib/jupyterhub"
  if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable jupyterhub.service
    systemctl restart jupyterhub.service
  fi
  cat <<EOF

Next (docs/deploy.md): put your host name and certificate in
/etc/nginx/sites-available/jupyterhub, link it into /etc/nginx/sites-enabled/, run certbot,
reload nginx. The hub itself listens on 127.0.0.1:8000 only.
EOF
fi

step "jupyter desktops doctor"
"$PREFIX/bin/jupyter-desktops" doctor
