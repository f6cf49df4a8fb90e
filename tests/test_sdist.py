"""The sdist, built from this source tree: it carries the sources and the built labextension and
daemon bundle (hatch `artifacts`, as JupyterLab's extension template has it), so pip builds and
installs the wheel from it on a machine without npm. The build hook refuses an sdist whose
built files are missing or were built for another version, and says to run `npm run build`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
VERSION = json.loads((REPO / "packages" / "labextension" / "package.json").read_text())["version"]
INSTALL_JSON = {
    "packageManager": "python",
    "packageName": "jupyterlab-desktops",
    "uninstallInstructions": "Use your Python package manager (pip, conda, etc.) to uninstall the package jupyterlab-desktops",
}
LABEXT = "share/jupyter/labextensions/jupyterlab-desktops"


def no_npm_env() -> dict[str, str]:
    """This environment's Python tools and nothing else on PATH: no node, no npm, no index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PATH=str(Path(sys.executable).parent), PIP_RETRIES="0", PIP_NO_INDEX="1")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    assert shutil.which("npm", path=env["PATH"]) is None and shutil.which("node", path=env["PATH"]) is None
    return env


def run(argv: list[str], cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, cwd=cwd, env=no_npm_env(), capture_output=True, text=True, timeout=300)
    if ok:
        assert r.returncode == 0, f"{argv} failed:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    """`hatchling build -t sdist` of the source tree (after `npm run build`, as scripts/setup.sh does)."""
    out = tmp_path_factory.mktemp("sdist")
    run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(out)], cwd=REPO)
    (found,) = out.glob("*.tar.gz")
    assert found.name == f"jupyterlab_desktops-{Version(VERSION)}.tar.gz"
    return found


def unpack(sdist: Path, dest: Path) -> Path:
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python before 3.11.4; the archive is our own, just built
            tar.extractall(dest)
    (top,) = dest.iterdir()
    return top


def test_the_sdist_carries_sources_and_built_files_and_no_node_modules(sdist):
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        pkg_info = tar.extractfile(f"{sdist.name[: -len('.tar.gz')]}/PKG-INFO").read().decode()
    for path in [
        # The sources, and what rebuilds them.
        "pyproject.toml",
        "hatch_build.py",
        "install.json",
        "package.json",
        "package-lock.json",
        "packages/labextension/package.json",
        "packages/labextension/src/index.ts",
        "packages/protocol/src/index.ts",
        "daemon/build.mjs",
        "daemon/src/main.ts",
        "daemon/src/version.ts",
        # The built files (gitignored in the tree).
        "jupyterlab_desktops/labextension/package.json",
        "jupyterlab_desktops/labextension/static/style.js",
        "daemon/dist/package.json",
        "daemon/dist/bin/jupyter-desktops-daemon.cjs",
        "daemon/dist/profiles/xfce.json",
    ]:
        assert path in names, f"{path} is not in the sdist"
    assert any(n.startswith("jupyterlab_desktops/labextension/static/remoteEntry.") for n in names)
    for unwanted in ("node_modules", ".venv", ".cache", ".git", "test-results"):
        assert not [n for n in names if unwanted in n.split("/")], f"{unwanted} is in the sdist"
    assert f"\nVersion: {Version(VERSION)}\n" in pkg_info
    # Exactly the source files git knows (npm's workspace links in node_modules/ once hid
    # packages/ from hatchling), plus the built ones.
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    sources = {n for n in listed if (REPO / n).is_file()}
    built = ("jupyterlab_desktops/labextension/", "daemon/dist/")
    assert {n for n in names if not n.startswith(built)} - {"PKG-INFO"} == sources


def test_pip_builds_the_wheel_from_the_unpacked_sdist_without_npm(sdist, tmp_path):
    src = unpack(sdist, tmp_path / "src")
    assert not list(src.rglob("node_modules"))
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "w"), str(src)]
    )
    (wheel,) = (tmp_path / "w").glob("*.whl")
    assert wheel.name == f"jupyterlab_desktops-{Version(VERSION)}-py3-none-any.whl"
    data = f"jupyterlab_desktops-{Version(VERSION)}.data/data"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())

        def read_json(name: str) -> dict:
            return json.loads(z.read(name))

        assert read_json(f"{data}/{LABEXT}/package.json")["version"] == VERSION
        assert read_json(f"{data}/{LABEXT}/install.json") == INSTALL_JSON
        assert f"{data}/{LABEXT}/static/style.js" in names
        assert [n for n in names if n.startswith(f"{data}/{LABEXT}/static/remoteEntry.")]
        daemon = read_json("jupyterlab_desktops/daemon/package.json")
        assert daemon["version"] == VERSION
        assert daemon["engines"] == json.loads((REPO / "daemon" / "package.json").read_text())["engines"]
        assert "jupyterlab_desktops/daemon/bin/jupyter-desktops-daemon.cjs" in names
        assert "jupyterlab_desktops/daemon/profiles/xfce.sh" in names
        metadata = z.read(f"jupyterlab_desktops-{Version(VERSION)}.dist-info/METADATA").decode()
    assert f"\nVersion: {Version(VERSION)}\n" in metadata
    # jupyter-server-proxy enables itself; the wheel no longer ships a server config of its own.
    assert not [n for n in names if "/etc/jupyter/" in n]


def test_pip_installs_the_sdist_file_without_npm(sdist, tmp_path):
    # --target: this environment's own installation (what the other tests test) stays as it is.
    target = tmp_path / "target"
    run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(sdist)]
    )
    share = target / LABEXT
    assert json.loads((share / "package.json").read_text())["version"] == VERSION
    assert json.loads((share / "install.json").read_text()) == INSTALL_JSON
    assert (share / "static" / "style.js").is_file()
    assert (target / "jupyterlab_desktops" / "daemon" / "bin" / "jupyter-desktops-daemon.cjs").is_file()
    probe = "import jupyterlab_desktops as j; print(j.__file__); print(j.__version__)"
    r = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=no_npm_env() | {"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    file, version = r.stdout.split()
    assert file.startswith(str(target)), file
    assert Version(version) == Version(VERSION)
    r = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "site-packages" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize(
    "change, said",
    [
        (
            lambda src: shutil.rmtree(src / "daemon" / "dist"),
            "the bundled daemon is missing (daemon/dist/bin/jupyter-desktops-daemon.cjs)",
        ),
        (
            lambda src: shutil.rmtree(src / "jupyterlab_desktops" / "labextension"),
            "the prebuilt labextension is missing (jupyterlab_desktops/labextension/static/style.js)",
        ),
        (
            # A bundle left from an earlier version (a version change without a rebuild).
            lambda src: (src / "daemon" / "dist" / "package.json").write_text(
                (src / "daemon" / "dist" / "package.json")
                .read_text()
                .replace(f'"version": "{VERSION}"', '"version": "0.0.1"', 1)
            ),
            f"the bundled daemon was built for version 0.0.1 (daemon/dist/package.json), not {Version(VERSION)}",
        ),
    ],
    ids=["no-daemon-bundle", "no-labextension", "stale-build"],
)
def test_the_build_refuses_without_the_built_files_and_names_npm_run_build(sdist, tmp_path, change, said):
    src = unpack(sdist, tmp_path / "src")
    change(src)
    r = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "w"), str(src)],
        ok=False,
    )
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert said in out, out
    assert "Run `npm install && npm run build` in the source tree first." in out
    assert not list((tmp_path / "w").glob("*.whl"))
