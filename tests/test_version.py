"""One version, set in one place: packages/labextension/package.json. The installed wheel, its
labextension, the daemon bundle (its package.json and its /healthz answer) all carry it; the
other places that used to type it take it from there. And the Node.js version the daemon
needs, from its package.json's engines: Debian 12's own, 18.20."""

from __future__ import annotations

import json
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

import jupyterlab_desktops
from jupyterlab_desktops.config import Desktops
from jupyterlab_desktops.launch import DAEMON, node_minimum, node_problem

REPO = Path(__file__).resolve().parents[1]
VERSION = json.loads((REPO / "packages" / "labextension" / "package.json").read_text())["version"]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_the_installed_wheel_has_the_labextensions_version():
    assert Version(metadata.version("jupyterlab-desktops")) == Version(VERSION)
    assert jupyterlab_desktops.__version__ == metadata.version("jupyterlab-desktops")


def test_the_installed_labextension_and_daemon_bundle_carry_it():
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-desktops"
    assert read_json(share / "package.json")["version"] == VERSION
    assert read_json(share / "install.json")["packageName"] == "jupyterlab-desktops"
    assert read_json(DAEMON.parent.parent / "package.json")["version"] == VERSION
    assert read_json(REPO / "daemon" / "dist" / "package.json")["version"] == VERSION


def test_the_private_workspaces_carry_no_version_of_their_own():
    lock = read_json(REPO / "package-lock.json")["packages"]
    for where, lock_key in [(".", ""), ("packages/protocol", "packages/protocol"), ("daemon", "daemon")]:
        pkg = read_json(REPO / where / "package.json")
        assert pkg["private"] is True
        assert "version" not in pkg, f"{where}/package.json has a version"
        assert "version" not in lock[lock_key], f"package-lock.json gives {where} a version"
    assert lock["packages/labextension"]["version"] == VERSION
    for where in ("daemon", "packages/labextension"):
        assert read_json(REPO / where / "package.json")["dependencies"]["@jupyterlab-desktops/protocol"] == "*"


def test_no_other_source_types_a_version():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert not re.search(r"^version\s*=", pyproject, re.M)
    for path in ("daemon/src/version.ts", "jupyterlab_desktops/__init__.py"):
        text = (REPO / path).read_text()
        assert not re.search(r"['\"]\d+\.\d+\.\d+", text), f"{path} types a version"


NODE18 = REPO / ".cache" / "node18" / "bin" / "node"


def test_the_node_minimum_is_debian_12s_node_18_20_and_it_is_accepted():
    assert node_minimum() == (18, 20)
    assert NODE18.is_file(), f"{NODE18} is missing: scripts/setup.sh unpacks Debian's Node.js 18.20 there"
    assert node_problem(Desktops(node=str(NODE18))) == (str(NODE18), None)


@pytest.mark.parametrize("answer", ["v18.19.1", "v16.20.2"])
def test_FAKE_a_node_older_than_18_20_is_named_with_the_version_needed(tmp_path, answer):
    """FAKE: Node.js 18.19 cannot be installed here (Debian's is 18.20); a script answers
    --version as it would."""
    fake = tmp_path / "FAKE-node"
    fake.write_text(f"#!/bin/sh\necho {answer}\n")
    fake.chmod(0o755)
    node, why = node_problem(Desktops(node=str(fake)))
    assert node == str(fake)
    assert why.startswith(f"{fake} is Node.js {answer}; the desktops service needs Node.js 18.20 or newer. ")
