#!/bin/sh
# Ncview as an app-only tile. Ncview needs a file to show: the tile is meant for the file
# browser's "Open in Ncview", which gives the file in DESKTOPS_OPEN (the profile's
# "fileRequired" makes the daemon refuse a start without one). It reaches ncview as one
# argument, never through a shell.
set -eu
if [ -z "${DESKTOPS_OPEN:-}" ]; then
  # The reason the tab shows goes to fd 3 (docs/apps.md), and to the log.
  echo "jupyter-desktops: error: Ncview was started without a file (DESKTOPS_OPEN is empty)" | tee /dev/fd/3
  exit 3
fi
exec "$DESKTOPS_APP_SESSION" "$DESKTOPS_APP" "$DESKTOPS_OPEN" 3>&-
