"""The pip package as installed: its jupyter-server-proxy entry point (tested as data, since
jupyter-server-proxy is not on every machine's package index), its files, and the bundled
daemon started exactly as the spec says, on the host's Node."""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_config_path

import jupyterlab_desktops
from jupyterlab_desktops import setup_desktops


def test_the_package_is_the_installed_wheel_not_the_source_tree():
    assert "site-packages" in jupyterlab_desktops.__file__, jupyterlab_desktops.__file__


def test_entry_point_is_registered_for_jupyter_server_proxy():
    eps = entry_points(group="jupyter_serverproxy_servers")
    found = [ep for ep in eps if ep.name == "desktops"]
    assert len(found) == 1
    assert found[0].load() is setup_desktops


def test_spec_uses_a_unix_socket_and_no_launcher_entry_of_its_own():
    spec = setup_desktops()
    assert spec["unix_socket"] is True
    assert spec["launcher_entry"] == {"enabled": False}
    assert spec["absolute_url"] is False
    assert isinstance(spec["timeout"], (int, float)) and spec["timeout"] >= 10
    cmd = spec["command"]
    assert cmd[cmd.index("--socket") + 1] == "{unix_socket}"
    assert "--tcp" not in cmd
    assert Path(cmd[1]).is_file() and cmd[1].endswith("jupyter-desktops-daemon.cjs")


def test_spec_searches_desktops_dirs_on_jupyter_config_path(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user"))
    cmd = setup_desktops()["command"]
    dirs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--profiles-dir"]
    # Jupyter's own precedence, lowest first, since the daemon lets later directories win.
    assert dirs == [str(Path(p) / "desktops") for p in reversed(jupyter_config_path())]
    assert str(tmp_path / "user" / "desktops") in dirs


def test_site_settings_become_daemon_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "desktops").mkdir()
    (tmp_path / "desktops" / "daemon.json").write_text(
        json.dumps({"maxSessions": 2, "idleTimeoutMinutes": 90, "maxGeometry": "3840x2160"})
    )
    cmd = setup_desktops()["command"]
    assert cmd[cmd.index("--max-sessions") + 1] == "2"
    assert cmd[cmd.index("--idle-timeout") + 1] == "90"
    assert cmd[cmd.index("--max-geometry") + 1] == "3840x2160"


def test_unknown_site_setting_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "desktops").mkdir()
    (tmp_path / "desktops" / "daemon.json").write_text(json.dumps({"maxSesions": 2}))
    with pytest.raises(ValueError, match="unknown setting.*maxSesions"):
        setup_desktops()


def test_daemon_refuses_a_bad_setting_value_with_a_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "desktops").mkdir()
    (tmp_path / "desktops" / "daemon.json").write_text(json.dumps({"maxSessions": 0}))
    cmd = [a.replace("{unix_socket}", str(tmp_path / "d.sock")) for a in setup_desktops()["command"]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "--max-sessions must be an integer from 1 to 16" in r.stderr


def test_spec_gives_the_daemon_the_running_servers_root_dir(tmp_path, monkeypatch):
    """Inside Jupyter (where jupyter-server-proxy calls the entry point), "Open in" files are
    checked against the server's root_dir, which need not be the current directory."""
    from jupyter_server.serverapp import ServerApp

    root = tmp_path / "notebooks"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    cmd = setup_desktops()["command"]
    assert cmd[cmd.index("--root-dir") + 1] == str(tmp_path)  # no server: the cwd
    ServerApp.instance(root_dir=str(root))
    try:
        cmd = setup_desktops()["command"]
        assert cmd[cmd.index("--root-dir") + 1] == str(root.resolve())
    finally:
        ServerApp.clear_instance()


def test_spec_carries_no_secret(monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "secret-token-value")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-value")
    text = json.dumps(setup_desktops())
    assert "token-value" not in text


def test_wheel_ships_the_labextension_and_executable_xstartups():
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-desktops"
    pkg = json.loads((share / "package.json").read_text())
    assert pkg["name"] == "jupyterlab-desktops"
    assert list((share / "static").glob("remoteEntry.*.js"))
    profiles = Path(jupyterlab_desktops.__file__).parent / "daemon" / "profiles"
    for name in ("xfce", "mate", "vapor", "panoply", "matlab"):
        assert json.loads((profiles / f"{name}.json").read_text())["id"] == name
        mode = (profiles / f"{name}.sh").stat().st_mode
        assert mode & stat.S_IXUSR, f"{name}.sh is not executable"
    conf = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "jupyterlab_desktops.json"
    assert json.loads(conf.read_text())["ServerApp"]["jpserver_extensions"]["jupyter_server_proxy"] is True


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost")
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


@pytest.fixture
def daemon():
    """The daemon started from the spec, as jupyter-server-proxy would start it."""
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o700)
        sock = os.path.join(d, "desktops.sock")
        cmd = [a.replace("{unix_socket}", sock) for a in setup_desktops()["command"]]
        env = {k: v for k, v in os.environ.items() if "TOKEN" not in k}
        env["XDG_RUNTIME_DIR"] = d
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            while not os.path.exists(sock):
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() - started < 20, "daemon did not listen within 20 s"
                time.sleep(0.05)
            yield sock, proc
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_bundled_daemon_serves_on_the_socket_only(daemon):
    sock, proc = daemon
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    conn = UnixHTTPConnection(sock)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    assert r.status == 200
    assert json.loads(r.read())["ok"] is True
    conn = UnixHTTPConnection(sock)
    conn.request("GET", "/api/profiles")
    ids = [p["id"] for p in json.loads(conn.getresponse().read())["profiles"]]
    assert ids[:5] == ["xfce", "mate", "vapor", "panoply", "matlab"]
    # No TCP listener: the daemon's sockets are all unix ones.
    inodes = set()
    for fd in os.listdir(f"/proc/{proc.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{proc.pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            assert line.split()[9] not in inodes, f"daemon holds a {table} socket: {line}"


def test_daemon_exits_zero_on_sigterm(daemon):
    _, proc = daemon
    proc.terminate()
    assert proc.wait(timeout=20) == 0


def test_doctor_reports_profiles_and_the_opengl_of_a_real_desktop():
    exe = Path(sys.prefix) / "bin" / "jupyter-desktops"
    r = subprocess.run([str(exe), "doctor"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "Xtigervnc: /usr/bin/Xtigervnc" in out
    assert "ok  xfce (XFCE)" in out
    assert "off vapor (NCAR VAPOR): VAPOR is not installed: vapor not found at" in out
    assert "OpenGL on a desktop: 4.5 core, llvmpipe" in out
