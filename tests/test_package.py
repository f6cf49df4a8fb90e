"""The pip package as installed: its jupyter-server-proxy entry point (tested as data, since
jupyter-server-proxy is not on every machine's package index), its files, and the bundled
daemon started exactly as the spec says, on the host's Node."""

from __future__ import annotations

import http.client
import pwd
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
from jupyterlab_desktops import setup_desktops, setup_desktops_rfb


def test_the_package_is_the_installed_wheel_not_the_source_tree():
    assert "site-packages" in jupyterlab_desktops.__file__, jupyterlab_desktops.__file__


def test_entry_point_is_registered_for_jupyter_server_proxy():
    eps = entry_points(group="jupyter_serverproxy_servers")
    found = [ep for ep in eps if ep.name == "desktops"]
    assert len(found) == 1
    assert found[0].load() is setup_desktops


def test_the_stream_has_a_raw_socket_entry_point_the_daemon_listens_on():
    eps = entry_points(group="jupyter_serverproxy_servers")
    found = [ep for ep in eps if ep.name == "desktops-rfb"]
    assert len(found) == 1
    assert found[0].load() is setup_desktops_rfb
    spec = setup_desktops_rfb()
    # jupyter-server-proxy's RawSocketHandler: no process of its own, a fixed socket path.
    assert spec["raw_socket_proxy"] is True and "command" not in spec
    assert spec["launcher_entry"] == {"enabled": False}
    path = Path(spec["unix_socket"])
    assert path.is_absolute() and not path.exists()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    # The daemon the other entry point starts listens there (the same path, asked twice).
    cmd = jsp_argv("/run/x/socket")
    assert cmd[cmd.index("--rfb-socket") + 1] == str(path)
    assert setup_desktops_rfb()["unix_socket"] == str(path)


def jsp_argv(sock: str) -> list[str]:
    """The argv jupyter-server-proxy runs: our command called, then each string formatted."""
    cmd = setup_desktops()["command"]
    return [a.format(port=0, unix_socket=sock, base_url="/") for a in cmd(sock)]


def test_spec_uses_a_unix_socket_and_no_launcher_entry_of_its_own():
    spec = setup_desktops()
    assert spec["unix_socket"] is True
    assert spec["launcher_entry"] == {"enabled": False}
    assert spec["absolute_url"] is False
    assert isinstance(spec["timeout"], (int, float)) and spec["timeout"] >= 10
    # Worked out when the service starts, not when Jupyter loads the entry point.
    assert callable(spec["command"])
    cmd = jsp_argv("/run/x/socket")
    assert cmd[cmd.index("--socket") + 1] == "/run/x/socket"
    assert "--tcp" not in cmd
    # env -i NAME=value... node <bundle> (test_daemon_env.py checks what env -i keeps).
    bundle = next(a for a in cmd if a.endswith("jupyter-desktops-daemon.cjs"))
    assert Path(bundle).is_file() and Path(cmd[cmd.index(bundle) - 1]).name.startswith("node")


def test_spec_searches_desktops_dirs_on_jupyter_config_path(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user"))
    cmd = jsp_argv("/s")
    dirs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--profiles-dir"]
    # Jupyter's own precedence, lowest first, since the daemon lets later directories win.
    assert dirs == [str(Path(p) / "desktops") for p in reversed(jupyter_config_path())]
    assert str(tmp_path / "user" / "desktops") in dirs


@pytest.fixture
def config(monkeypatch, tmp_path):
    """A site config dir (on JUPYTER_CONFIG_PATH) and the user's own (JUPYTER_CONFIG_DIR)."""
    site, user = tmp_path / "site", tmp_path / "user"
    site.mkdir()
    user.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(site))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(user))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return site, user


@pytest.fixture
def system_config(config):
    """/etc/jupyter, below the user's own dir in Jupyter's precedence (unlike a venv's own
    etc/jupyter, which jupyter_core ranks above it). Removed afterwards."""
    assert os.getuid() == 0, "writing /etc/jupyter needs root (CI runs as root)"
    etc = Path("/etc/jupyter")
    etc.mkdir(exist_ok=True)
    f = etc / "jupyter_server_config.py"
    assert not f.exists(), f"{f} exists already: this test would clobber it"
    yield f, config[1]
    f.unlink(missing_ok=True)


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_settings_in_jupyter_server_config_become_daemon_flags(config):
    site, _ = config
    (site / "jupyter_server_config.py").write_text(
        "c.Desktops.max_sessions = 2\n"
        "c.Desktops.idle_timeout = 90\n"
        "c.Desktops.prestart_minutes = 0\n"
        "c.Desktops.max_geometry = '3840x2160'\n"
        "c.Desktops.runtime_dir = '/run/desktops/{uid}-{user}'\n"
    )
    cmd = jsp_argv("/s")
    assert flag(cmd, "--max-sessions") == "2"
    assert flag(cmd, "--idle-timeout") == "90.0"
    assert flag(cmd, "--prestart") == "0.0"
    assert flag(cmd, "--max-geometry") == "3840x2160"
    user = pwd.getpwuid(os.getuid()).pw_name
    assert flag(cmd, "--runtime-dir") == f"/run/desktops/{os.getuid()}-{user}"


def test_runtime_dir_defaults_to_jupyters_own_where_xdg_runtime_dir_is_unset(config, monkeypatch, tmp_path):
    """Under JupyterHub's spawners nothing sets XDG_RUNTIME_DIR: the default must still be a
    directory only the user can create, never a shared /tmp name another user can squat."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jrt"))
    assert flag(jsp_argv("/s"), "--runtime-dir") == str(tmp_path / "jrt" / "desktops")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    assert flag(jsp_argv("/s"), "--runtime-dir") == "/run/user/4242/jupyter-desktops"


def test_a_users_own_file_replacing_a_site_value_is_logged_with_both_files(system_config, caplog):
    site, user = system_config
    site.write_text("c.Desktops.max_sessions = 1\n")
    (user / "jupyter_server_config.json").write_text('{"Desktops": {"max_sessions": 5}}')
    with caplog.at_level("INFO", logger="jupyterlab_desktops"):
        cmd = jsp_argv("/s")
    assert flag(cmd, "--max-sessions") == "5"  # policy, not security: the user may
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"Desktops: max_sessions = 5 (from {user / 'jupyter_server_config.json'}); "
        f"replaces the site's 1 from {site}"
    ]


def test_the_environments_own_settings_outrank_the_users_in_a_venv(config, caplog):
    """Where deploy/ puts the site's settings: the hub venv's etc/jupyter, which jupyter_core
    ranks above ~/.jupyter in a virtual environment, so a user's file does not change them."""
    _, user = config
    f = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.py"
    assert not f.exists(), f"{f} exists already: this test would clobber it"
    f.write_text("c.Desktops.max_sessions = 1\n")
    (user / "jupyter_server_config.py").write_text("c.Desktops.max_sessions = 5\n")
    try:
        assert flag(jsp_argv("/s"), "--max-sessions") == "1"
    finally:
        f.unlink()


def serve_stand_in(cmd: list[str], sock: str):
    """Runs the argv (the daemon or its stand-in) and returns (status, body) of a request."""
    env = {k: v for k, v in os.environ.items() if "TOKEN" not in k}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        while not os.path.exists(sock):
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() - started < 20
            time.sleep(0.05)
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        conn = UnixHTTPConnection(sock)
        conn.request("POST", "/api/sessions", body='{"profile": "xfce"}', headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


@pytest.mark.parametrize(
    "text, said",
    [
        (
            "c.Desktops.max_sesions = 3\n",
            "{file} sets Desktops.max_sesions, which is not a setting (did you mean max_sessions?).",
        ),
        (
            "c.Desktops.max_sessions = 40\n",
            "{file} sets Desktops.max_sessions wrongly: must be from 1 to 16, not 40.",
        ),
        (
            "c.Desktops.runtime_dir = '/srv/{home}'\n",
            "{file} sets Desktops.runtime_dir wrongly: may use {{uid}} and {{user}} only, not '/srv/{{home}}'.",
        ),
        ("c.Desktops.max_sessions = (\n", "{file} could not be read (SyntaxError"),
    ],
)
def test_a_settings_mistake_is_served_as_the_reason_naming_file_and_key(config, tmp_path, text, said):
    site, _ = config
    (site / "jupyter_server_config.py").write_text(text)
    sock = str(tmp_path / "s.sock")
    cmd = jsp_argv(sock)
    assert "jupyterlab_desktops.unavailable" in cmd, cmd
    status, body = serve_stand_in(cmd, sock)
    assert status == 503
    assert body["error"]["code"] == "unavailable"
    assert said.format(file=site / "jupyter_server_config.py") in body["error"]["message"]


def test_without_node_the_service_says_so_at_once(config, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JUPYTER_DESKTOPS_NODE", raising=False)
    sock = str(tmp_path / "s.sock")
    status, body = serve_stand_in(jsp_argv(sock), sock)
    assert status == 503
    assert body["error"]["message"].startswith(
        "The desktops service cannot start on this server. Node.js was not found: looked for "
        "node on the server's PATH (/nonexistent)."
    )


def test_FAKE_an_old_node_is_named_with_the_version_needed(config, tmp_path, monkeypatch):
    """FAKE: a Node.js older than the minimum cannot be installed here; a script answers
    --version as Node 16 would."""
    fake = tmp_path / "FAKE-node"
    fake.write_text("#!/bin/sh\necho v16.20.2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JUPYTER_DESKTOPS_NODE", str(fake))
    cmd = jsp_argv(str(tmp_path / "s.sock"))
    need = json.loads((Path(jupyterlab_desktops.__file__).parent / "daemon" / "package.json").read_text())
    assert need["engines"]["node"] == ">=18.20"
    assert f"{fake} is Node.js v16.20.2; the desktops service needs Node.js 18.20 or newer." in " ".join(cmd)


def test_braces_in_a_reason_survive_jupyter_server_proxys_formatting(config):
    site, _ = config
    (site / "jupyter_server_config.py").write_text("c.Desktops.runtime_dir = '/x/{nope}'\n")
    assert any("'/x/{nope}'" in a for a in jsp_argv("/s"))


def test_spec_gives_the_daemon_the_running_servers_root_dir(tmp_path, monkeypatch):
    """Inside Jupyter (where jupyter-server-proxy calls the entry point), "Open in" files are
    checked against the server's root_dir, which need not be the current directory."""
    from jupyter_server.serverapp import ServerApp

    root = tmp_path / "notebooks"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    assert flag(jsp_argv("/s"), "--root-dir") == str(tmp_path)  # no server: the cwd
    ServerApp.instance(root_dir=str(root))
    try:
        assert flag(jsp_argv("/s"), "--root-dir") == str(root.resolve())
    finally:
        ServerApp.clear_instance()


def test_the_command_carries_no_secret(monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "secret-token-value")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-value")
    assert "token-value" not in json.dumps(jsp_argv("/s"))


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
    assert json.loads((share / "install.json").read_text())["packageName"] == "jupyterlab-desktops"
    # jupyter-server-proxy enables itself: no config file of ours for it.
    assert not (Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "jupyterlab_desktops.json").exists()


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
        cmd = jsp_argv(sock)
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


def test_bundled_daemon_serves_on_the_socket_only(daemon, listeners):
    sock, proc = daemon
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    conn = UnixHTTPConnection(sock)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    assert r.status == 200
    health = json.loads(r.read())
    assert health["ok"] is True
    # The product's one version (test_version.py checks the labextension carries it).
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-desktops"
    assert health["version"] == json.loads((share / "package.json").read_text())["version"]
    conn = UnixHTTPConnection(sock)
    conn.request("GET", "/api/profiles")
    ids = [p["id"] for p in json.loads(conn.getresponse().read())["profiles"]]
    assert ids[:5] == ["xfce", "mate", "vapor", "panoply", "matlab"]
    # No TCP listener: the daemon's sockets are all unix ones.
    assert listeners(proc.pid) == []


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
    assert "Temporary files: /tmp: ok" in out
    assert "ok  xfce (XFCE)" in out
    assert "off vapor (NCAR VAPOR): VAPOR is not installed: vapor not found at" in out
    assert "OpenGL on a desktop: 4.5 core, llvmpipe" in out


def doctor(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.prefix) / "bin" / "jupyter-desktops"
    return subprocess.run([str(exe), "doctor", *args], capture_output=True, text=True, timeout=60, env=env)


def test_doctor_runs_the_daemon_with_the_services_environment_not_the_shells():
    """The service's daemon never sees NODE_OPTIONS (launch.clean_env_argv): nor does the
    doctor's, whose report is of that daemon."""
    r = doctor(env=dict(os.environ, NODE_OPTIONS="--no-such-flag"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok  xfce (XFCE)" in r.stdout


def test_doctor_without_node_says_so_instead_of_a_traceback():
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_DESKTOPS_NODE"}
    env["PATH"] = "/nonexistent"
    r = doctor(env=env)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert "problem: Node.js was not found: looked for node on the server's PATH (/nonexistent)." in r.stdout
    assert "The daemon's own checks (Xtigervnc, profiles, OpenGL) need Node.js: not run." in r.stdout


def test_doctor_names_the_file_and_key_of_a_settings_typo(config):
    site, _ = config
    (site / "jupyter_server_config.json").write_text('{"Desktops": {"idle_timout": 30}}')
    r = doctor(env=dict(os.environ))
    assert r.returncode == 1
    assert (
        f"problem: {site / 'jupyter_server_config.json'} sets Desktops.idle_timout, which is not a "
        "setting (did you mean idle_timeout?)."
    ) in r.stdout


def test_doctor_says_which_file_set_each_setting(system_config):
    site, user = system_config
    site.write_text("c.Desktops.max_sessions = 1\nc.Desktops.idle_timeout = 120\n")
    (user / "jupyter_server_config.py").write_text("c.Desktops.max_sessions = 3\n")
    r = doctor("--Desktops.max_geometry=1920x1080", env=dict(os.environ))
    assert f"  idle_timeout = 120.0 (from {site})" in r.stdout
    assert (
        f"  max_sessions = 3 (from {user / 'jupyter_server_config.py'}); replaces the site's 1 "
        f"from {site}"
    ) in r.stdout
    assert "  max_geometry = '1920x1080' (from the command line)" in r.stdout
    assert "  xvnc = 'Xtigervnc' (default)" in r.stdout


def test_every_setting_has_its_type_and_help_in_help_all():
    exe = Path(sys.prefix) / "bin" / "jupyter-desktops"
    out = subprocess.run([str(exe), "--help-all"], capture_output=True, text=True, timeout=60).stdout
    for name, kind in [
        ("max_sessions", "Int"),
        ("max_geometry", "Unicode"),
        ("idle_timeout", "Float"),
        ("prestart_minutes", "Float"),
        ("runtime_dir", "Unicode"),
        ("xvnc", "Unicode"),
        ("node", "Unicode"),
    ]:
        i = out.index(f"--Desktops.{name}=<{kind}>")
        assert len(out[i:].split("\n")[1].strip()) > 20, f"{name} has no help"


def test_doctor_finds_an_environment_other_users_cannot_read():
    """Root installs the hub's environment; with a private umask users' servers cannot start."""
    assert os.getuid() == 0, "this check needs root (CI runs as root)"
    victim = Path(jupyterlab_desktops.__file__).parent / "launch.py"
    mode = victim.stat().st_mode
    victim.chmod(0o600)
    try:
        r = doctor(env=dict(os.environ))
    finally:
        victim.chmod(stat.S_IMODE(mode))
    assert r.returncode == 1
    assert (
        f"problem: {victim} cannot be read by other users (mode -rw-------): the environment was "
        f"installed with a private umask. Fix: chmod -R a+rX {Path(sys.prefix).resolve()}"
    ) in r.stdout


def test_doctor_on_debians_own_tornado_says_what_to_install(tmp_path):
    """The reference stack: a venv with --system-site-packages beside Debian's jupyterhub sees
    Debian's tornado 6.2, too old for jupyter-server-proxy's WebSockets to unix sockets."""
    if not Path("/usr/lib/python3/dist-packages/tornado").is_dir():
        raise AssertionError("Debian's tornado is missing: apt-get install python3-tornado (the test command does)")
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
    wheel = next((Path(__file__).parent.parent / "build" / "wheel").glob("*.whl"))
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        env={**os.environ, "PIP_RETRIES": "0"},
    )
    r = subprocess.run(
        [str(venv / "bin" / "jupyter-desktops"), "doctor"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    said = (
        "tornado 6.2 (in /usr/lib/python3/dist-packages) is too old or too new: "
        "jupyterlab-desktops needs tornado>=6.3 (jupyter-server-proxy needs it for WebSockets to the "
        f"desktops service). Fix: {venv / 'bin' / 'python'} -m pip install 'tornado>=6.3'"
    )
    assert f"problem: {said}" in r.stdout
    # And the service, started there, is the stand-in that says so in every tab.
    argv = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import json; from jupyterlab_desktops.launch import service_argv; "
         "print(json.dumps(service_argv('/s')))"],
        capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
    ).stdout
    cmd = json.loads(argv)
    assert cmd[1:3] == ["-m", "jupyterlab_desktops.unavailable"]
    assert said in cmd
