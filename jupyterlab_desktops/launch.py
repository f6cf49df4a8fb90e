"""How the desktops service starts: the daemon's argv, and the checks that come first.

jupyter-server-proxy calls `daemon_command` each time it starts the service (the first request
to `{base_url}desktops/` after the Jupyter server starts). What would keep the daemon from
working (no Node.js, one too old, a tornado too old for jupyter-server-proxy's WebSockets, a
settings typo) is found here, and the service then starts as a small Python server that
answers every request with that sentence (`jupyterlab_desktops.unavailable`), so tabs and the
launcher say why at once instead of waiting for a proxy time-out.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from .config import FLAGS, ConfigProblem, Desktops, Setting, running_server, server_settings

HERE = Path(__file__).parent
DAEMON_DIR = HERE / "daemon"
DAEMON = DAEMON_DIR / "bin" / "jupyter-desktops-daemon.cjs"
DISTRIBUTION = "jupyterlab-desktops"
#: Declared dependencies that may be missing: without it, an nginx route can stand in.
OPTIONAL = {"jupyter-server-proxy"}


def _log() -> logging.Logger:
    """The Jupyter server's log inside a server (where the daemon's own output goes too)."""
    app = running_server()
    return app.log if app is not None else logging.getLogger("jupyterlab_desktops")


def node_minimum() -> tuple[int, ...]:
    """The oldest Node.js the bundled daemon runs on, e.g. (18, 20): its package.json's
    `engines.node` (">=18.20")."""
    engines = json.loads((DAEMON_DIR / "package.json").read_text())["engines"]["node"]
    m = re.fullmatch(r">=\s*(\d+(?:\.\d+){0,2})", engines.strip())
    if not m:
        raise ValueError(f"unexpected engines.node in the daemon's package.json: {engines!r}")
    return tuple(int(n) for n in m.group(1).split("."))


def find_node(desktops: Desktops) -> tuple[str | None, str]:
    """The Node.js program to use and a sentence on where it was looked for."""
    if desktops.node:
        found = shutil.which(desktops.node)
        return found, f"{desktops.node} (c.Desktops.node or JUPYTER_DESKTOPS_NODE)"
    return shutil.which("node"), f"node on the server's PATH ({os.environ.get('PATH', '')})"


@functools.lru_cache(maxsize=8)
def _node_version(path: str, _stamp: tuple[int, int]) -> str:
    # Asked as the daemon will run: the server's NODE_OPTIONS (never passed on) cannot fail it.
    r = subprocess.run(clean_env_argv([path, "--version"]), capture_output=True, text=True, timeout=30)
    return r.stdout.strip() if r.returncode == 0 else ""


def node_problem(desktops: Desktops) -> tuple[str | None, str | None]:
    """(node, None) when a usable Node.js was found, else (None or node, the sentence)."""
    minimum = node_minimum()
    need = ".".join(map(str, minimum))
    node, where = find_node(desktops)
    if not node:
        return None, (
            f"Node.js was not found: looked for {where}. The desktops service needs Node.js "
            f"{need} or newer: install it (Debian: apt-get install nodejs) or set "
            "c.Desktops.node to its path (under JupyterHub, c.Spawner.environment can set "
            "JUPYTER_DESKTOPS_NODE)."
        )
    try:
        st = os.stat(node)
        version = _node_version(node, (st.st_mtime_ns, st.st_size))
    except (OSError, subprocess.SubprocessError) as err:
        version, why = "", str(err)
    else:
        why = "it did not answer --version"
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+).*", version)
    if not m:
        return node, f"{node} is not a working Node.js ({why}). The desktops service needs Node.js {need} or newer."
    if tuple(int(n) for n in m.groups()) < minimum:
        return node, (
            f"{node} is Node.js {version}; the desktops service needs Node.js {need} or newer. "
            "Install a newer one and point c.Desktops.node (or JUPYTER_DESKTOPS_NODE) at it."
        )
    return node, None


def requirement_problems(optional: bool = False) -> list[str]:
    """Declared dependencies that are missing or too old, each a sentence with the fix.

    `optional`: report jupyter-server-proxy too (doctor); the service itself runs without it
    where an nginx route stands in.
    """
    try:
        from packaging.requirements import Requirement

        declared = metadata.requires(DISTRIBUTION) or []
    except (ImportError, metadata.PackageNotFoundError):
        return []  # a source checkout: nothing declared to check
    problems = []
    for spec in declared:
        req = Requirement(spec)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        if req.name in OPTIONAL and not optional:
            continue
        fix = f"{Path(sys.prefix) / 'bin' / 'python'} -m pip install '{req}'"
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name} is not installed; jupyterlab-desktops needs {req}: {fix}")
            continue
        if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
            where = dist.locate_file("")
            why = (
                " (jupyter-server-proxy needs it for WebSockets to the desktops service)"
                if req.name == "tornado"
                else ""
            )
            problems.append(
                f"{req.name} {dist.version} (in {where}) is too old or too new: "
                f"jupyterlab-desktops needs {req}{why}. Fix: {fix}"
            )
    return problems


def launch_problems() -> tuple[str | None, Desktops | None, dict[str, Setting], list[str]]:
    """What the service would start with: (node, settings, their sources, problems)."""
    problems = requirement_problems()
    try:
        desktops, settings = server_settings()
    except ConfigProblem as err:
        return None, None, {}, problems + [str(err)]
    if not os.access(DAEMON, os.R_OK):
        # (Its Node.js minimum is beside it, so Node.js is not checked either.)
        problems.append(
            f"{DAEMON} is missing or cannot be read by this user (an environment installed "
            f"with a private umask?). Fix: chmod -R a+rX {sys.prefix}, or reinstall jupyterlab-desktops"
        )
        return None, desktops, settings, problems
    node, why = node_problem(desktops)
    if why:
        problems.append(why)
    return node, desktops, settings, problems


def jupyter_root() -> str:
    """The running Jupyter server's root directory ("Open in" files must lie inside it).

    jupyter-server-proxy calls our entry point inside the server, after the server is
    configured; anywhere else (the `spec` command, scripts) it is the current directory.
    """
    app = running_server()
    return str(Path(app.root_dir).expanduser().resolve()) if app is not None else os.getcwd()


def profile_dirs() -> list[str]:
    """`desktops/` on Jupyter's config path, lowest priority first (later ones override)."""
    from jupyter_core.paths import jupyter_config_path

    return [str(Path(p) / "desktops") for p in reversed(jupyter_config_path())]


#: What the daemon is given of the Jupyter server's environment: what it reads itself (PATH to
#: find programs; the account, locale, time zone and XDG_RUNTIME_DIR it hands each desktop;
#: TMPDIR). Nothing else: it is every desktop's parent, and a program in a desktop can read
#: /proc/$PPID/environ.
DAEMON_ENV = ("HOME", "USER", "LOGNAME", "SHELL", "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "XDG_RUNTIME_DIR")
#: Never passed, whatever DAEMON_ENV says: secrets (JUPYTER_TOKEN, JUPYTERHUB_API_TOKEN,
#: JPY_API_TOKEN...), and what would make Node.js or the loader run other code in the daemon
#: (NODE_OPTIONS=--inspect opens a debugging port any local user can reach; LD_PRELOAD).
NEVER_PASSED = re.compile(r"TOKEN|SECRET|PASSWORD|KEY|NODE_OPTIONS|LD_|NODE_", re.IGNORECASE)


def daemon_env() -> list[str]:
    """The daemon's whole environment, as `NAME=value` arguments for `env -i`."""
    names = [n for n in DAEMON_ENV if n in os.environ]
    names += sorted(n for n in os.environ if n.startswith("LC_"))
    return [f"{n}={os.environ[n]}" for n in names if not NEVER_PASSED.search(n)]


def clean_env_argv(argv: list[str]) -> list[str]:
    """`argv` run by `env -i NAME=value...`, with daemon_env() as its whole environment.

    jupyter-server-proxy starts its command with the Jupyter server's whole environment (its
    tokens, NODE_OPTIONS, LD_PRELOAD...); `env -i` gives the daemon only what it needs. The
    pairs are in argv, which every user of the host can read in /proc/<pid>/cmdline while
    `env` runs: only names whose values are not secret may be in DAEMON_ENV (and NEVER_PASSED
    keeps secrets out should one be added).
    """
    return [shutil.which("env") or "/usr/bin/env", "-i", *daemon_env(), *argv]


def node_argv(node: str, desktops: Desktops, socket: str, rfb_socket: str | None = None) -> list[str]:
    """The daemon's argv, node first. Nothing secret goes into it."""
    cmd = [node, str(DAEMON), "--socket", socket, "--root-dir", jupyter_root()]
    if rfb_socket:
        cmd += ["--rfb-socket", rfb_socket]
    for d in profile_dirs():
        cmd += ["--profiles-dir", d]
    cmd += ["--runtime-dir", desktops.runtime_path()]
    # Each desktop runs under a small standard-library script (profiles/session-reaper.py):
    # the server's own Python is one that is surely there.
    cmd += ["--python", sys.executable]
    for name, flag in FLAGS.items():
        cmd += [flag, str(getattr(desktops, name))]
    return cmd


def unavailable_argv(socket: str, problems: list[str]) -> list[str]:
    """A stand-in service that answers every request with why the real one cannot run."""
    return [sys.executable, "-m", "jupyterlab_desktops.unavailable", "--socket", socket, "--", *problems]


def service_argv(socket: str, rfb_socket: str | None = None) -> list[str]:
    """The argv that serves `{base_url}desktops/` on `socket`: the daemon (with a clean
    environment: it is every desktop's parent), or the stand-in that says why it cannot run.
    With `rfb_socket`, the daemon also serves desktops' streams there (`desktops-rfb`).
    The settings behind it go to the server log."""
    node, desktops, settings, problems = launch_problems()
    log = _log()
    for s in settings.values():
        if s.overrides_site:
            log.warning("Desktops: %s", s.describe())
        elif s.source:
            log.info("Desktops: %s", s.describe())
    if problems or node is None or desktops is None:
        return unavailable_argv(socket, problems)  # it logs them
    return clean_env_argv(node_argv(node, desktops, socket, rfb_socket))


def daemon_command(unix_socket: str) -> list[str]:
    """jupyter-server-proxy's `command`, called each time it starts the service.

    The parameter's name is what jupyter-server-proxy passes the socket path by. It formats
    each string we return as a template, so literal braces are doubled.
    """
    argv = service_argv(unix_socket, rfb_socket_path())
    return [a.replace("{", "{{").replace("}", "}}") for a in argv]


@functools.cache
def rfb_socket_path() -> str:
    """Where this Jupyter server's daemon listens for desktops' streams as raw RFB.

    Both of our jupyter-server-proxy entry points ask for it in the server's process, so they
    agree: `desktops` passes it to the daemon, `desktops-rfb` proxies to it. The directory is
    made 0700 (`mkdtemp`) and removed as the server exits; the daemon makes the socket 0600.
    """
    d = tempfile.mkdtemp(prefix="jupyter-desktops-rfb-")
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return os.path.join(d, "rfb.sock")
