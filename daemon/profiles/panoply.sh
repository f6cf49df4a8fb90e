#!/bin/sh
# NASA Panoply as an app-only session. DESKTOPS_APP is Panoply's launcher the daemon found.
set -eu
exec "$(dirname -- "$0")/app-session.sh" "$DESKTOPS_APP"
