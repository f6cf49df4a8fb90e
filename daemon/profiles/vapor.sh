#!/bin/sh
# NCAR VAPOR as an app-only session. DESKTOPS_APP is the vapor program the daemon found.
set -eu
exec "$(dirname -- "$0")/app-session.sh" "$DESKTOPS_APP"
