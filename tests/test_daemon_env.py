"""The daemon as jupyter-server-proxy starts it: the argv of `daemon_command`, run with the
Jupyter server's whole environment, as jupyter-server-proxy runs it. The daemon is every
desktop's parent (a program in a desktop can read /proc/$PPID/environ), so it must keep none
of that environment's secrets, nor obey what would let other code into it (NODE_OPTIONS,
LD_PRELOAD)."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyterlab_desktops import launch, setup_desktops

#: What a Jupyter server's environment may hold that no desktop may see.
SECRETS = {
    "JUPYTER_TOKEN": "jupyter-token-secret-1",
    "JUPYTERHUB_API_TOKEN": "hub-token-secret-2",
    "JPY_API_TOKEN": "jpy-token-secret-3",
    "MY_SERVICE_PASSWORD": "password-secret-4",
    "AWS_SECRET_ACCESS_KEY": "key-secret-5",
}
#: A library that does not exist: the loader says so and goes on, and nothing runs.
PRELOAD = "/nonexistent/libdesktops-test.so"


def jsp_argv(sock: str) -> list[str]:
    """The argv jupyter-server-proxy runs: our command called, then each string formatted."""
    cmd = setup_desktops()["command"]
    return [a.format(port=0, unix_socket=sock, base_url="/") for a in cmd(sock)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("latin1")
    return dict(kv.split("=", 1) for kv in raw.split("\0") if "=" in kv)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def healthz(sock: str) -> int | None:
    try:
        conn = UnixHTTPConnection(sock)
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    except OSError:
        return None


@pytest.fixture
def server_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    """The Jupyter server's environment: its tokens, a debugging port in NODE_OPTIONS, an
    LD_PRELOAD, and what the daemon needs. Yields the inspector's port."""
    port = free_port()
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NODE_OPTIONS", f"--inspect=127.0.0.1:{port}")
    monkeypatch.setenv("LD_PRELOAD", PRELOAD)
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/nonexistent/ca.pem")
    monkeypatch.setenv("LC_TIME", "C.UTF-8")
    # Short: pytest's tmp_path would pass the length limit of the desktops' socket paths.
    runtime = tempfile.mkdtemp(prefix="desktops-xdg-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    yield port
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def daemon(server_env: int, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str, list[str], int]]:
    """The daemon started from the spec with the server's environment, answering on its socket."""
    sock = str(tmp_path / "desktops.sock")
    cmd = jsp_argv(sock)
    log = (tmp_path / "daemon.log").open("w+")
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        while (status := healthz(sock)) is None:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the daemon exited {proc.returncode}: {log.read()}")
            assert time.monotonic() - started < 20, "the daemon did not answer within 20 s"
            time.sleep(0.05)
        if status != 200:
            log.seek(0)
            pytest.fail(f"the daemon answered {status}: {log.read()}")
        yield proc, sock, cmd, server_env
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_the_daemons_environment_holds_none_of_the_servers_secrets_or_hooks(daemon):
    proc, _, _, _ = daemon
    env = environ_of(proc.pid)
    leaked = sorted(set(env) & {*SECRETS, "NODE_OPTIONS", "LD_PRELOAD", "NODE_EXTRA_CA_CERTS"})
    assert leaked == [], f"the daemon's /proc/{proc.pid}/environ holds {leaked}"
    raw = Path(f"/proc/{proc.pid}/environ").read_bytes().decode("latin1")
    for value in SECRETS.values():
        assert value not in raw
    # And what it needs, it has: PATH to find programs, and the locale and runtime dir it hands
    # each desktop.
    assert env["PATH"] == os.environ["PATH"]
    assert env["LC_TIME"] == "C.UTF-8"
    assert env["XDG_RUNTIME_DIR"] == os.environ["XDG_RUNTIME_DIR"]
    assert all(n in launch.DAEMON_ENV or n.startswith("LC_") for n in env), sorted(env)


def test_the_daemon_opens_no_debugging_port_though_node_options_asks_for_one(daemon, listeners):
    proc, _, _, port = daemon
    assert listeners(proc.pid) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_the_daemons_argv_holds_no_secret(daemon):
    proc, _, cmd, _ = daemon
    joined = "\0".join(cmd)
    for value in SECRETS.values():
        assert value not in joined
    for name in (*SECRETS, "NODE_OPTIONS", "LD_PRELOAD", "NODE_EXTRA_CA_CERTS"):
        assert f"{name}=" not in joined
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode("latin1")
    for value in SECRETS.values():
        assert value not in cmdline


def test_the_daemon_env_names_only_what_the_daemon_reads(monkeypatch):
    monkeypatch.setenv("LC_PAPER", "en_GB.UTF-8")
    monkeypatch.setenv("LC_API_KEY", "not-a-locale")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.setenv("NODE_OPTIONS", "--inspect")
    monkeypatch.setenv("JUPYTER_TOKEN", "secret")
    pairs = launch.daemon_env()
    names = [p.split("=", 1)[0] for p in pairs]
    assert "LC_PAPER=en_GB.UTF-8" in pairs and "TZ=Europe/Berlin" in pairs
    assert not {"LC_API_KEY", "NODE_OPTIONS", "JUPYTER_TOKEN"} & set(names)
    assert all(n in launch.DAEMON_ENV or n.startswith("LC_") for n in names)


def test_env_i_comes_first_and_braces_in_a_value_survive_jupyter_server_proxys_formatting(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PATH", f"/opt/{{odd}}/bin:{os.environ['PATH']}")
    cmd = jsp_argv("/s")
    assert Path(cmd[0]).name == "env" and Path(cmd[0]).is_absolute() and cmd[1] == "-i"
    assert os.environ["PATH"].startswith("/opt/{odd}/bin:")
    assert f"PATH={os.environ['PATH']}" in cmd
    i = next(i for i, a in enumerate(cmd) if a.endswith("jupyter-desktops-daemon.cjs"))
    assert all("=" in a for a in cmd[2 : i - 1]), "only NAME=value pairs between env -i and node"
