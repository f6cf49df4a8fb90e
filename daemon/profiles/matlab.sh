#!/bin/sh
# The MATLAB desktop as an app-only session. DESKTOPS_APP is the matlab program the daemon
# found. Without a GPU, MATLAB is told to use software OpenGL. Licence failures in its output
# become the sentence the tab shows. A file from "Open in MATLAB" is opened with MATLAB's open().
set -eu
here=$(dirname -- "$0")
set -- "$DESKTOPS_APP" -desktop
if [ "${DESKTOPS_GL_SOFTWARE:-}" = 1 ]; then
  set -- "$@" -softwareopengl
fi
if [ -n "${DESKTOPS_OPEN:-}" ]; then
  # "Open in MATLAB": fixed MATLAB code that reads the path from the environment, so no file
  # name is ever parsed as MATLAB code.
  set -- "$@" -r "open(getenv('DESKTOPS_OPEN'))"
fi
status_file=$(mktemp)
{
  status=0
  "$here/app-session.sh" "$@" 2>&1 3>&- || status=$?
  echo "$status" >"$status_file"
} | while IFS= read -r line; do
  printf '%s\n' "$line"
  case $line in
    *"License checkout failed"* | *"License Manager Error"* | *"icense"*"xpired"* | *"No license"*)
      printf 'jupyter-desktops: error: MATLAB could not get a licence: %s\n' "$line"
      { printf 'MATLAB could not get a licence: %s\n' "$line" >&3; } 2>/dev/null || true
      ;;
  esac
done
status=$(cat "$status_file")
rm -f "$status_file"
exit "${status:-1}"
