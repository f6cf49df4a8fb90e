"""JupyterLab Desktops: Linux desktops and GUI applications in JupyterLab tabs.

This package holds the prebuilt labextension, the bundled Node daemon, and the
jupyter-server-proxy entry point that starts the daemon on a private unix socket.
"""

from __future__ import annotations

import importlib.metadata

from .launch import DAEMON, daemon_command, jupyter_root, profile_dirs, rfb_socket_path

# The installed distribution's, which hatchling took from packages/labextension/package.json.
__version__ = importlib.metadata.version("jupyterlab-desktops")
__all__ = ["DAEMON", "daemon_command", "jupyter_root", "profile_dirs", "setup_desktops", "setup_desktops_rfb"]


def setup_desktops() -> dict:
    """jupyter-server-proxy's spec for `{base_url}desktops/`.

    The daemon listens on the unix socket jupyter-server-proxy creates; its command is worked
    out when the service starts (settings, Node.js and the checks), not when Jupyter loads
    this entry point. Our own launcher tiles replace jupyter-server-proxy's launcher entry.
    """
    return {
        "command": daemon_command,
        "unix_socket": True,
        "absolute_url": False,
        "timeout": 30,
        "new_browser_tab": False,
        "launcher_entry": {"enabled": False},
    }


def setup_desktops_rfb() -> dict:
    """jupyter-server-proxy's spec for `{base_url}desktops-rfb/`: desktops' streams in one hop.

    `raw_socket_proxy` turns each WebSocket there into a plain stream to the daemon's raw RFB
    socket (no process of its own: `desktops` starts the daemon, which listens there too). The
    daemon answers it with RFB and lets a connection through only with a ticket for one of its
    desktops, which the labextension asks for through `desktops/` first.
    """
    return {
        "unix_socket": rfb_socket_path(),
        "raw_socket_proxy": True,
        "new_browser_tab": False,
        "launcher_entry": {"enabled": False},
    }


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-desktops"}]
