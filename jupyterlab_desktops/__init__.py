"""JupyterLab Desktops: Linux desktops and GUI applications in JupyterLab tabs.

This package holds the prebuilt labextension, the bundled Node daemon, and the
jupyter-server-proxy entry point that starts the daemon on a private unix socket.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from jupyter_core.paths import jupyter_config_path

__version__ = "0.1.0"

HERE = Path(__file__).parent
DAEMON = HERE / "daemon" / "bin" / "jupyter-desktops-daemon.cjs"


def profile_dirs() -> list[str]:
    """`desktops/` on Jupyter's config path, lowest priority first (later ones override)."""
    return [str(Path(p) / "desktops") for p in reversed(jupyter_config_path())]


#: Site settings in `desktops/daemon.json` -> the daemon flag each one becomes.
SETTINGS = {
    "maxSessions": "--max-sessions",
    "maxGeometry": "--max-geometry",
    "idleTimeoutMinutes": "--idle-timeout",
    "runtimeDir": "--runtime-dir",
    "xvnc": "--xvnc",
}


def site_settings() -> dict:
    """`desktops/daemon.json` from every Jupyter config dir, higher priority winning.

    Unknown keys are an error (a typo must not silently do nothing); the daemon validates
    the values and refuses to start with a sentence if one is wrong.
    """
    merged: dict = {}
    for d in profile_dirs():
        f = Path(d) / "daemon.json"
        if not f.is_file():
            continue
        data = json.loads(f.read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{f}: expected a JSON object")
        unknown = sorted(set(data) - set(SETTINGS))
        if unknown:
            raise ValueError(f"{f}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
        merged.update(data)
    return merged


def jupyter_root() -> str:
    """The running Jupyter server's root directory ("Open in" files must lie inside it).

    jupyter-server-proxy calls our entry point inside the server, after the server is
    configured; anywhere else (the `spec` command, scripts) it is the current directory.
    """
    try:
        from jupyter_server.serverapp import ServerApp

        if ServerApp.initialized():
            return str(Path(ServerApp.instance().root_dir).expanduser().resolve())
    except ImportError:
        pass
    return os.getcwd()


def daemon_command(socket: str) -> list[str]:
    """The daemon's argv for a unix socket path. Nothing secret goes into it."""
    node = os.environ.get("JUPYTER_DESKTOPS_NODE") or shutil.which("node") or "node"
    cmd = [node, str(DAEMON), "--socket", socket, "--root-dir", jupyter_root()]
    for d in profile_dirs():
        cmd += ["--profiles-dir", d]
    for key, value in site_settings().items():
        cmd += [SETTINGS[key], str(value)]
    return cmd


def setup_desktops() -> dict:
    """jupyter-server-proxy's spec for `{base_url}desktops/`.

    The daemon listens on the unix socket jupyter-server-proxy creates; our own launcher
    tiles replace jupyter-server-proxy's launcher entry.
    """
    return {
        "command": daemon_command("{unix_socket}"),
        "unix_socket": True,
        "absolute_url": False,
        "timeout": 30,
        "new_browser_tab": False,
        "launcher_entry": {"enabled": False},
    }


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-desktops"}]
