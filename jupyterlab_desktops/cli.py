"""`jupyter desktops` (also `jupyter-desktops`): admin helpers.

  jupyter desktops doctor      check everything the desktops service needs, say what to fix
  jupyter desktops spec        print the jupyter-server-proxy specs and the command it runs now
  jupyter desktops profiles    list each profile found: whether it is available, its file and
                               the files of the same id it replaces
  jupyter desktops --help-all  every setting (c.Desktops.*) with its type, default and help

Settings are read from the same files the Jupyter server reads (jupyter_server_config.py or
.json on Jupyter's config path), and `--Desktops.max_sessions=2` on the command line.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from jupyter_core.application import JupyterApp
from traitlets.config import Config

from . import __version__, setup_desktops, setup_desktops_rfb
from .config import ConfigProblem, Desktops, config_sources, resolve
from .launch import (
    DAEMON,
    HERE,
    OPTIONAL,
    clean_env_argv,
    node_argv,
    node_problem,
    profile_dirs,
    requirement_problems,
)


class _Sub(JupyterApp):
    """A subcommand: settings from the config files plus the command line."""

    classes = [Desktops]

    def settings(self):
        return resolve(config_sources(list(self.config_file_paths)), self.cli_config or Config())


class DoctorApp(_Sub):
    name = "jupyter-desktops-doctor"
    description = "Check everything the desktops service needs; exit 1 if something is missing."

    def start(self) -> None:
        self.exit(0 if doctor(self) else 1)


class SpecApp(_Sub):
    name = "jupyter-desktops-spec"
    description = (
        "Print the jupyter-server-proxy specs (the service, and its stream's raw socket entry), "
        "with the command it would run now."
    )

    def start(self) -> None:
        spec = setup_desktops()
        spec["command"] = spec["command"]("{unix_socket}")
        print(json.dumps({"desktops": spec, "desktops-rfb": setup_desktops_rfb()}, indent=2))


class ProfilesApp(_Sub):
    name = "jupyter-desktops-profiles"
    description = (
        "List each profile found (id, title, available or why not), the file that defines it "
        "and the files with the same id it replaces; exit 1 if they cannot be listed."
    )

    def start(self) -> None:
        self.exit(0 if list_profiles(self) else 1)


class DesktopsApp(JupyterApp):
    name = "jupyter-desktops"
    version = __version__
    description = __doc__
    classes = [Desktops]
    subcommands = {
        "doctor": (DoctorApp, DoctorApp.description),
        "spec": (SpecApp, SpecApp.description),
        "profiles": (ProfilesApp, ProfilesApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            print(__doc__.strip(), file=sys.stderr)
            self.exit(2)
        self.subapp.start()


def doctor(app: _Sub) -> bool:
    """Python's side of the report, then the daemon's own (Xtigervnc, profiles, OpenGL)."""
    say = functools.partial(print, flush=True)
    say(f"jupyterlab-desktops {__version__} in {sys.prefix} (Python {sys.version.split()[0]})")
    ok = True
    for p in requirement_problems(optional=True):
        if any(p.startswith(f"{name} is not installed") for name in OPTIONAL):
            say(
                f"warning: {p} (without it, the Jupyter server does not serve desktops/ itself: "
                "an nginx route must stand in; see the README)"
            )
        else:
            say(f"problem: {p}")
            ok = False
    unreadable = _unreadable_by_others()
    if unreadable:
        say(f"problem: {unreadable}")
        ok = False
    try:
        desktops, settings = app.settings()
    except ConfigProblem as err:
        say(f"problem: {err}")
        return False
    say("Settings (c.Desktops.*):")
    for s in settings.values():
        say(f"  {s.describe()}")
    if not os.access(DAEMON, os.R_OK):
        say(f"problem: {DAEMON} is missing or unreadable: reinstall jupyterlab-desktops")
        return False
    node, why = node_problem(desktops)
    if why or not node:
        say(f"problem: {why}")
        say("The daemon's own checks (Xtigervnc, profiles, OpenGL) need Node.js: not run.")
        return False
    cmd = node_argv(node, desktops, "{unix_socket}")
    i = cmd.index("--socket")
    cmd[i : i + 2] = ["--doctor"]
    # With the environment the service gets: the shell's NODE_OPTIONS or LD_PRELOAD would make
    # the report another program's.
    return subprocess.run(clean_env_argv(cmd)).returncode == 0 and ok


def _plain(text: object) -> str:
    """A value from a profile file or a path, printed as one plain line: control and other
    invisible characters (escape sequences, newlines, bidi overrides) are escaped."""
    return "".join(
        c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in str(text)
    )


def list_profiles(app: _Sub) -> bool:
    """The directories searched, then each profile found, as the daemon resolves them: its
    bundle's `--profiles` reads them with the ProfileStore the launcher is served from."""
    say = functools.partial(print, flush=True)

    def searched(dirs: list[str]) -> None:
        say(
            "Profile directories, lowest priority first (a file with the id of one in an earlier "
            "directory replaces it): " + ", ".join(_plain(d) for d in dirs)
        )

    def problem(why: object) -> bool:
        searched(profile_dirs())
        say(f"problem: {_plain(why)}")
        return False

    try:
        desktops, _ = app.settings()
    except ConfigProblem as err:
        return problem(err)
    if not os.access(DAEMON, os.R_OK):
        return problem(f"{DAEMON} is missing or unreadable: reinstall jupyterlab-desktops")
    node, why = node_problem(desktops)
    if why or not node:
        return problem(f"{why} Listing the profiles needs the daemon, which runs on Node.js.")
    cmd = node_argv(node, desktops, "{unix_socket}")
    i = cmd.index("--socket")
    cmd = [*cmd[:2], "--profiles", *cmd[2:i], *cmd[i + 2 :]]
    r = subprocess.run(clean_env_argv(cmd), capture_output=True, text=True, timeout=120)
    try:
        found = json.loads(r.stdout) if r.returncode == 0 else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        return problem(f"the daemon could not list the profiles (exit {r.returncode}): {r.stderr.strip()}")

    def source(p: dict) -> None:
        say(f"    file: {_plain(p['file'])}")
        for f in p["overrides"]:
            say(f"    overrides: {_plain(f)}")

    searched(found["dirs"])
    for p in found["profiles"]:
        prof = p["profile"]
        state = "available" if prof["available"] else f"unavailable: {prof.get('unavailableReason', '')}"
        say(f"{_plain(prof['id'])}  {_plain(prof['title'])}  {_plain(state)}")
        source(p)
    for p in found["disabled"]:
        say(f'{_plain(p["id"])}  disabled ("enabled": false)')
        source(p)
    for p in found["problems"]:
        say(f"not a profile (ignored): {_plain(p['file'])}: {_plain(p['message'])}")
    return True


def _unreadable_by_others() -> str | None:
    """Other users' servers run from this environment where root owns it or root runs this:
    every directory down to it must be searchable, and our files readable, by them."""
    prefix = Path(sys.prefix).resolve()
    if os.getuid() != 0 and prefix.stat().st_uid == os.getuid():
        return None  # the user's own environment
    for d in [*reversed(prefix.parents), prefix]:
        if not d.stat().st_mode & stat.S_IXOTH:
            return (
                f"{d} is not searchable by other users (mode {stat.filemode(d.stat().st_mode)}): "
                f"their Jupyter servers cannot start from {prefix}. Fix: chmod o+x {d}"
            )
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-desktops"
    for top in (t for t in (HERE, share) if t.exists()):
        for path in [top, *top.rglob("*")]:
            mode = path.lstat().st_mode
            need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
            if not stat.S_ISLNK(mode) and mode & need != need:
                return (
                    f"{path} cannot be read by other users (mode {stat.filemode(mode)}): the "
                    f"environment was installed with a private umask. Fix: chmod -R a+rX {prefix}"
                )
    return None


main = DesktopsApp.launch_instance

if __name__ == "__main__":
    main()
