#!/bin/sh
# MATLAB desktop as an app-only session. DESKTOPS_APP is the matlab program the daemon found.
set -eu
exec "$(dirname -- "$0")/app-session.sh" "$DESKTOPS_APP" -desktop
