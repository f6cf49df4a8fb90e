#!/bin/sh
# NCAR VAPOR as an app-only session. DESKTOPS_APP is the vapor program or AppImage the daemon
# found; the daemon has checked OpenGL 3.3 on this desktop (DESKTOPS_GL_*).
set -eu
here=$(dirname -- "$0")
case "$DESKTOPS_APP" in
  *.AppImage | *.appimage)
    # AppImages mount themselves with FUSE; without a usable FUSE, extract and run instead.
    if [ ! -c /dev/fuse ] || { ! command -v fusermount >/dev/null 2>&1 && ! command -v fusermount3 >/dev/null 2>&1; }; then
      APPIMAGE_EXTRACT_AND_RUN=1
      export APPIMAGE_EXTRACT_AND_RUN
      echo "jupyter-desktops: no usable FUSE here: running the VAPOR AppImage by extracting it"
    fi
    ;;
esac
set -- "$DESKTOPS_APP"
if [ -n "${DESKTOPS_OPEN:-}" ]; then
  set -- "$@" "$DESKTOPS_OPEN"
fi
if command -v vglrun >/dev/null 2>&1; then
  # VirtualGL renders on the server's GPU and hands the frames to this desktop.
  echo "jupyter-desktops: VirtualGL found: running VAPOR through vglrun"
  exec "$here/app-session.sh" "$(command -v vglrun)" "$@"
fi
if [ "${DESKTOPS_GL_SOFTWARE:-}" = 1 ]; then
  echo "jupyter-desktops: no GPU: VAPOR uses Mesa's software OpenGL ($DESKTOPS_GL_RENDERER)"
  LIBGL_ALWAYS_SOFTWARE=1
  GALLIUM_DRIVER=llvmpipe
  export LIBGL_ALWAYS_SOFTWARE GALLIUM_DRIVER
fi
exec "$here/app-session.sh" "$@"
