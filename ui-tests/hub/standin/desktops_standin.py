"""TEST STAND-IN for jupyter-server-proxy, which no package index here has.

Loaded into each user's Jupyter server by the hub tests only when jupyter-server-proxy is not
installed. It does what jupyter-server-proxy's entry point would, as the README's nginx route
does for one user: starts the user's desktops service from the package's own command
(`service_argv`, the argv jupyter-server-proxy would run) on a socket nginx can reach, and stops
it with the server. nginx then routes {base_url}desktops/ there after an auth_request to the
user's own server (/user/<name>/api/me), so only that user gets through.
"""

from __future__ import annotations

import atexit
import os
import pwd
import subprocess

from jupyterlab_desktops.launch import service_argv


def _jupyter_server_extension_points():
    return [{"module": "desktops_standin"}]


def _load_jupyter_server_extension(serverapp) -> None:
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # an arbitrary uid without a passwd entry (a container): its USER
        user = os.environ.get("USER") or str(os.getuid())
    sock = os.path.join(os.environ["DESKTOPS_STANDIN_SOCKETS"], f"{user}.sock")
    # As jupyter-server-proxy: the server's environment, minus nothing (it passes it all).
    proc = subprocess.Popen(service_argv(sock), cwd=serverapp.root_dir)
    serverapp.log.info("TEST STAND-IN: desktops service for %s on %s (pid %d)", user, sock, proc.pid)

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    atexit.register(stop)
