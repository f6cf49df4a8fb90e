"""`jupyter-desktops profiles` of the installed package: the directories searched, then each
profile found, as the daemon bundle itself resolves them (a user's file replacing a site's by
id, an unavailable one, one hidden, an invalid file), in plain, escaped text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jupyterlab_desktops

EXE = Path(sys.prefix) / "bin" / "jupyter-desktops"
BUILTIN = Path(jupyterlab_desktops.__file__).parent / "daemon" / "profiles"
#: The site's directory: below the user's own in Jupyter's precedence (JUPYTER_CONFIG_PATH
#: would rank above it).
SITE = Path("/etc/jupyter/desktops")


def write_profile(d: Path, pid: str, **extra) -> Path:
    (d / f"{pid}.json").write_text(json.dumps({"id": pid, "title": f"Test {pid}", "xstartup": f"{pid}.sh", **extra}))
    script = d / f"{pid}.sh"
    script.write_text("#!/bin/sh\nexec sleep 600\n")
    script.chmod(0o755)
    return d / f"{pid}.json"


@pytest.fixture
def dirs(tmp_path):
    """The site's /etc/jupyter/desktops (test-cli-* files only, removed afterwards) and the
    user's own config dir (JUPYTER_CONFIG_DIR)."""
    assert os.getuid() == 0, "writing /etc/jupyter/desktops needs root (CI runs as root)"
    made = [d for d in (SITE.parent, SITE) if not d.exists()]
    SITE.mkdir(parents=True, exist_ok=True)
    assert not list(SITE.glob("test-cli-*")), f"{SITE} holds test-cli-* files already"
    user = tmp_path / "user"
    (user / "desktops").mkdir(parents=True)
    try:
        yield SITE, user / "desktops", user
    finally:
        for f in SITE.glob("test-cli-*"):
            f.unlink()
        for d in reversed(made):
            d.rmdir()


def profiles(user_config: Path, **env) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    e.update(JUPYTER_CONFIG_DIR=str(user_config), **env)
    return subprocess.run([str(EXE), "profiles"], capture_output=True, text=True, timeout=120, env=e)


def test_each_profile_with_its_file_what_it_replaces_and_why_it_is_off(dirs):
    site, mine, user_config = dirs
    site_app = write_profile(site, "test-cli-app", title="App (site)")
    my_app = write_profile(mine, "test-cli-app", title="App (mine)")
    missing = write_profile(
        site,
        "test-cli-missing",
        title="Missing",
        requires=[{"command": "/nonexistent/test-cli-missing-app", "name": "The missing app"}],
    )
    (mine / "mate.json").write_text(json.dumps({"id": "mate", "title": "MATE", "xstartup": "x", "enabled": False}))
    (mine / "test-cli-broken.json").write_text("{ not json")

    r = profiles(user_config)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()

    header = "Profile directories, lowest priority first (a file with the id of one in an earlier directory replaces it): "
    assert lines[0].startswith(header), lines[0]
    searched = lines[0][len(header) :].split(", ")
    assert searched[0] == str(BUILTIN)
    assert searched.index(str(site)) < searched.index(str(mine))

    def block(first: str) -> list[str]:
        i = lines.index(first)
        end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith("    ")), len(lines))
        return lines[i:end]

    assert block("test-cli-app  App (mine)  available") == [
        "test-cli-app  App (mine)  available",
        f"    file: {my_app}",
        f"    overrides: {site_app}",
    ]
    assert block(
        "test-cli-missing  Missing  unavailable: The missing app is not installed: "
        "/nonexistent/test-cli-missing-app not found"
    )[1:] == [f"    file: {missing}"]
    assert block("xfce  XFCE  available")[1:] == [f"    file: {BUILTIN / 'xfce.json'}"]
    assert block('mate  disabled ("enabled": false)')[1:] == [
        f"    file: {mine / 'mate.json'}",
        f"    overrides: {BUILTIN / 'mate.json'}",
    ]
    assert any(
        line.startswith(f"not a profile (ignored): {mine / 'test-cli-broken.json'}: ") for line in lines
    ), r.stdout
    assert not any(line.startswith("mate  MATE") for line in lines)


def test_titles_and_reasons_are_printed_plain(dirs):
    """A profile file is data: its text cannot move the cursor, colour or add lines."""
    _, mine, user_config = dirs
    write_profile(mine, "test-cli-escape", title="Evil\x1b[2J\x1b[31mred\nsecond line\u202e")
    r = profiles(user_config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout
    assert "test-cli-escape  Evil\\x1b[2J\\x1b[31mred\\x0asecond line\\u202e  available" in r.stdout.splitlines()


def test_without_node_it_says_why_and_still_names_the_directories(dirs):
    _, mine, user_config = dirs
    r = profiles(user_config, PATH="/nonexistent")
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Profile directories, lowest priority first"), r.stdout
    assert str(mine) in lines[0]
    assert lines[1].startswith("problem: Node.js was not found"), r.stdout


def test_the_daemon_lists_them_with_the_services_environment_not_the_shells(dirs):
    """As the service's daemon would see them: the shell's NODE_OPTIONS does not reach it."""
    _, mine, user_config = dirs
    write_profile(mine, "test-cli-env", title="Env")
    r = profiles(user_config, NODE_OPTIONS="--no-such-flag")
    assert r.returncode == 0, r.stdout + r.stderr
    assert any(line.startswith("test-cli-env  Env") for line in r.stdout.splitlines()), r.stdout


def test_spec_prints_both_entry_points_and_the_socket_the_daemon_would_get():
    r = subprocess.run([str(EXE), "spec"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    specs = json.loads(r.stdout)
    assert sorted(specs) == ["desktops", "desktops-rfb"]
    cmd = specs["desktops"]["command"]
    assert cmd[cmd.index("--rfb-socket") + 1] == specs["desktops-rfb"]["unix_socket"]
    assert specs["desktops-rfb"]["raw_socket_proxy"] is True
    # Its directory was the command's own, removed as it exited.
    assert not Path(specs["desktops-rfb"]["unix_socket"]).parent.exists()
