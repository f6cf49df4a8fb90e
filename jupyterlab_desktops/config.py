"""Site settings of the desktops service, configured as Jupyter admins configure servers.

`c.Desktops.max_sessions = 2` in `jupyter_server_config.py` (or `.json`) on Jupyter's config
path, read with Jupyter's own precedence: the command line; JUPYTER_CONFIG_PATH; in a virtual
environment, the environment's own `etc/jupyter/` (deploy/ puts a site's settings there); the
user's `~/.jupyter/`; then `/usr/local/etc/jupyter/` and `/etc/jupyter/`. These are site
defaults and policy, not security: the daemon runs as the user, who can change them. A user's
file never replaces a site value silently: `resolve()` names the file behind each value and
the site value it replaced, for the server log and `jupyter desktops doctor`.
"""

from __future__ import annotations

import copy
import difflib
import os
import pwd
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_core.application import JupyterApp
from jupyter_core.paths import jupyter_config_dir, jupyter_config_path, jupyter_runtime_dir
from traitlets import Float, Integer, TraitError, Unicode, default, validate
from traitlets.config import Application, Config, Configurable

#: The config files Jupyter Server reads in each directory of its config path, in this order.
CONFIG_FILES = ("jupyter_config", "jupyter_server_config")


class Desktops(Configurable):
    """JupyterLab Desktops: site settings for each user's desktops service.

    Read when a user's desktops service starts (their first desktop after their Jupyter server
    starts): a change needs each user's server restarted.
    """

    max_sessions = Integer(
        1,
        help="""Desktops a user may run at once (1-16). Starting one more ends the oldest first.
        A site default: the service runs as the user, who can change it. What protects the
        server (memory, CPU, processes) is the spawner's limits.""",
    ).tag(config=True)

    max_geometry = Unicode(
        "3840x2160",
        help="""Largest desktop a tab may ask for, as WIDTHxHEIGHT (up to 7680x4320). A bigger
        request is clamped to it. The X server's memory grows with it (about 130 MB at
        3840x2160, 320 MB at 7680x4320) and is bounded by it (docs/security.md).""",
    ).tag(config=True)

    idle_timeout = Float(
        0,
        help="""Minutes without keyboard, pointer or clipboard input from any tab after which a
        desktop is stopped; 0 never stops one. A tab that is only open is idle.""",
    ).tag(config=True)

    prestart_minutes = Float(
        3,
        help="""When a user's launcher shows the desktop tiles, an X server of their tab's size is
        started ahead, so that a click costs only the desktop's own start (docs/performance.md
        measures the first picture with and without). Unused, it ends after this many minutes; 0 never starts one. Each
        costs about 23 MB of memory at 1920x1080 while it waits (docs/deploy.md): a crowded hub
        may turn it off.""",
    ).tag(config=True)

    runtime_dir = Unicode(
        "",
        help="""Private directory for desktop sockets, cookies and logs; created 0700 and
        refused unless it belongs to the user. {uid} and {user} are replaced by the user's
        number and name, e.g. /run/desktops/{uid}. Default: $XDG_RUNTIME_DIR/jupyter-desktops,
        or, where XDG_RUNTIME_DIR is unset (as under JupyterHub's spawners), `desktops` in
        Jupyter's runtime directory (~/.local/share/jupyter/runtime), which other users cannot
        create for you. The service says so when the path is too long for its sockets.""",
    ).tag(config=True)

    xvnc = Unicode("Xtigervnc", help="The X server program (a name on PATH, or a path).").tag(config=True)

    node = Unicode(
        help="""The Node.js program that runs the desktops service. Default: the environment
        variable JUPYTER_DESKTOPS_NODE, else `node` on the server's PATH. Under a spawner whose
        PATH lacks it, set this (or c.Spawner.environment) to e.g. /usr/bin/node."""
    ).tag(config=True)

    @default("node")
    def _node_default(self) -> str:
        return os.environ.get("JUPYTER_DESKTOPS_NODE", "")

    @validate("max_sessions")
    def _check_sessions(self, proposal):
        if not 1 <= proposal.value <= 16:
            raise TraitError(f"'max_sessions' must be from 1 to 16, not {proposal.value}")
        return proposal.value

    @validate("max_geometry")
    def _check_geometry(self, proposal):
        if not re.fullmatch(r"\d{3,4}x\d{3,4}", proposal.value):
            raise TraitError(f"'max_geometry' must look like 3840x2160, not {proposal.value!r}")
        return proposal.value

    @validate("idle_timeout")
    def _check_idle(self, proposal):
        if not 0 <= proposal.value <= 525600:
            raise TraitError(f"'idle_timeout' must be minutes from 0 (never) to 525600, not {proposal.value}")
        return proposal.value

    @validate("prestart_minutes")
    def _check_prestart(self, proposal):
        if not 0 <= proposal.value <= 1440:
            raise TraitError(f"'prestart_minutes' must be minutes from 0 (never) to 1440, not {proposal.value}")
        return proposal.value

    @validate("runtime_dir")
    def _check_runtime(self, proposal):
        names = {f for _, f, _, _ in string.Formatter().parse(proposal.value) if f is not None}
        if names - {"uid", "user"}:
            raise TraitError(f"'runtime_dir' may use {{uid}} and {{user}} only, not {proposal.value!r}")
        if proposal.value and not proposal.value.startswith("/"):
            raise TraitError(f"'runtime_dir' must be an absolute path, not {proposal.value!r}")
        return proposal.value

    def runtime_path(self) -> str:
        """The runtime directory for this user, placeholders filled in."""
        if self.runtime_dir:
            uid = os.getuid()
            try:
                user = pwd.getpwuid(uid).pw_name
            except KeyError:
                user = str(uid)  # an arbitrary uid without a passwd entry (containers)
            return self.runtime_dir.format(uid=uid, user=user)
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        if xdg:
            return os.path.join(xdg, "jupyter-desktops")
        return os.path.join(jupyter_runtime_dir(), "desktops")


#: Each setting and the daemon flag it becomes.
FLAGS = {
    "max_sessions": "--max-sessions",
    "max_geometry": "--max-geometry",
    "idle_timeout": "--idle-timeout",
    "prestart_minutes": "--prestart",
    "xvnc": "--xvnc",
}


class ConfigProblem(Exception):
    """A setting that keeps the desktops service from starting; the message names the file."""


@dataclass
class Source:
    """Where a value came from: a config file, the command line, or the default."""

    where: str
    value: object
    users_own: bool = False


@dataclass
class Setting:
    name: str
    value: object
    source: Source | None  # None: the default
    replaced: list[Source] = field(default_factory=list)

    def describe(self) -> str:
        where = f"from {self.source.where}" if self.source else "default"
        line = f"{self.name} = {self.value!r} ({where})"
        site = [s for s in self.replaced if not s.users_own]
        if self.source and self.source.users_own and site:
            line += f"; replaces the site's {site[-1].value!r} from {site[-1].where}"
        return line

    @property
    def overrides_site(self) -> bool:
        return bool(self.source and self.source.users_own and any(not s.users_own for s in self.replaced))


def config_sources(paths: list[str] | None = None) -> list[tuple[str, Config]]:
    """Every config file Jupyter Server reads, lowest priority first, with what it sets."""
    paths = paths if paths is not None else _config_paths()
    found: list[tuple[str, Config]] = []
    # Jupyter Server loads jupyter_config from every directory, then jupyter_server_config from
    # every directory, each time from the lowest priority up: later files win.
    log = _Errors()
    for name in CONFIG_FILES:
        for cfg, filename in Application._load_config_files(name, path=paths, log=log):
            found.append((filename, cfg))
    if log.errors:
        raise ConfigProblem(
            f"{log.errors[0]}: fix that file (the Jupyter server skipped it too, so none of its "
            "settings apply)."
        )
    return found


class _Errors:
    """A logger for traitlets' config loading that keeps the files it could not read."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, *args, **kwargs) -> None:
        pass

    warning = debug

    def error(self, msg: str, *args, **kwargs) -> None:
        # traitlets calls this inside its except block: the exception is the current one.
        err = sys.exc_info()[1]
        name = args[0] if args else "A config file"
        self.errors.append(f"{name} could not be read" + (f" ({type(err).__name__}: {err})" if err else ""))


def _config_paths() -> list[str]:
    # As JupyterApp.config_file_paths: Jupyter's config path with the user's dir first.
    paths = jupyter_config_path()
    if jupyter_config_dir() not in paths:
        paths.insert(0, jupyter_config_dir())
    return paths


def _users_own(where: str) -> bool:
    home = os.path.expanduser("~")
    p = os.path.realpath(where)
    for mine in (jupyter_config_dir(), home):
        mine = os.path.realpath(mine)
        if p == mine or p.startswith(mine + os.sep):
            return True
    return False


def resolve(
    sources: list[tuple[str, Config]], cli: Config | None = None
) -> tuple[Desktops, dict[str, Setting]]:
    """The settings as the server sees them, each with its source.

    Raises ConfigProblem naming the file and the key for an unknown setting or a bad value.
    """
    layers = [(where, cfg, _users_own(where)) for where, cfg in sources]
    if cli is not None:
        layers.append(("the command line", cli, False))
    known = set(Desktops.class_trait_names(config=True))
    merged = Config()
    for where, cfg, _ in layers:
        section = cfg.get("Desktops", {}) if "Desktops" in cfg else {}
        for key in section:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigProblem(
                    f"{where} sets Desktops.{key}, which is not a setting{hint}. "
                    f"The settings are: {', '.join(sorted(known))}."
                )
        # A copy: merge() adopts the sections it is given, and later merges would change them.
        merged.merge(copy.deepcopy(cfg))
    try:
        desktops = Desktops(config=merged)
    except TraitError as err:
        raise ConfigProblem(_explain(err, layers)) from None
    settings: dict[str, Setting] = {}
    for name in sorted(known):
        history = [
            Source(where, cfg.Desktops[name], own)
            for where, cfg, own in layers
            if "Desktops" in cfg and name in cfg.Desktops
        ]
        settings[name] = Setting(
            name, getattr(desktops, name), history[-1] if history else None, history[:-1]
        )
    return desktops, settings


def _explain(err: TraitError, layers: list[tuple[str, Config, bool]]) -> str:
    # traitlets: "The 'x' trait of a Desktops instance expected an int, not ..."; our
    # validators: "'x' must be ...". Either way the trait's name is the first quoted word.
    text = str(err)
    m = re.search(r"'(\w+)'(?: trait of a Desktops instance)? (.*)", text, re.S)
    if not m:
        return f"The Desktops settings are not valid: {text}"
    name, reason = m.groups()
    where = [w for w, cfg, _ in layers if "Desktops" in cfg and name in cfg.Desktops]
    origin = where[-1] if where else "The configuration"
    return f"{origin} sets Desktops.{name} wrongly: {reason.rstrip('.')}."


def running_server():
    """The Jupyter server this code runs in (jupyter-server-proxy calls us there), or None."""
    try:
        from jupyter_server.serverapp import ServerApp
    except ImportError:
        return None
    # Not ServerApp.initialized(): that is also true for any other Jupyter app's singleton.
    app = getattr(ServerApp, "_instance", None)
    return app if isinstance(app, ServerApp) else None


def server_settings() -> tuple[Desktops, dict[str, Setting]]:
    """The settings of the running Jupyter server (its config files and command line)."""
    app = running_server()
    if app is not None:
        return resolve(config_sources(_app_paths(app)), getattr(app, "cli_config", None))
    return resolve(config_sources())


def _app_paths(app: JupyterApp) -> list[str]:
    if getattr(app, "config_file", None):
        return [os.path.dirname(app.config_file)]
    return list(app.config_file_paths)
