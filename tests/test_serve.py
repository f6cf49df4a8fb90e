"""scripts/serve.py, what scripts/run.sh runs after the set-up, as a new user meets it.

Started as `scripts/run.sh &` starts it from a script: a background job of a non-interactive
shell, which begins with SIGINT ignored. It must print a real URL (no template text), say once
why nginx is in front where jupyter-server-proxy is missing, serve /desktops/ through that URL,
and on SIGINT stop JupyterLab, nginx, the daemon and its desktops, leaving no process and no
stale url file behind. Every instance here has its own state directory (--state-dir) and
runtime directory, so a developer's own instance in .stack is left alone.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "scripts" / "serve.py"
NGINX_NOTE = "jupyter-server-proxy is not installed"
URL_LINE = re.compile(r"^\s+(http://127\.0\.0\.1:(\d+)/)lab\?token=([0-9a-f]{32,})$")
#: As a script's `scripts/run.sh &`: the job starts with SIGINT ignored; the shell says its pid.
BACKGROUND = '"$@" & echo "pid=$!"; wait "$!"'


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, start time, state) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[19], fields[0]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def process_tree(root: int) -> dict[tuple[int, str], str]:
    """Every process descended from `root`, as (pid, start time) -> command line."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit() and (st := _stat(int(d))):
            parent[int(d)] = st
    tree, todo = {}, [root]
    while todo:
        p = todo.pop()
        for child, (ppid, start, _) in parent.items():
            if ppid == p:
                tree[(child, start)] = _cmdline(child)
                todo.append(child)
    return tree


def still_running(procs: dict[tuple[int, str], str]) -> list[str]:
    out = []
    for (pid, start), cmd in procs.items():
        st = _stat(pid)
        if st and st[1] == start and st[2] != "Z":
            out.append(f"{pid}: {cmd}")
    return out


def processes_naming(*paths: Path) -> list[str]:
    """Live processes whose command line names one of the paths (this instance's)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            cmd = _cmdline(int(d))
            st = _stat(int(d))
            if st and st[2] != "Z" and any(str(p) in cmd for p in paths):
                out.append(f"{d}: {cmd}")
    return out


class Served:
    """scripts/serve.py from the .venv, started in the background of `bash -c`."""

    def __init__(self, state: Path, port: int = 0, *extra: str):
        self.state = state
        self.runtime = Path(tempfile.mkdtemp(prefix="jd-serve-"))  # short: socket paths below
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        env["XDG_RUNTIME_DIR"] = str(self.runtime)
        argv = [sys.executable, str(SERVE), "--venv", sys.prefix, "--port", str(port), "--isolated"]
        self.shell = subprocess.Popen(
            ["bash", "-c", BACKGROUND, "bash", *argv, "--state-dir", str(state), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.output = ""
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.next_line(20)
        assert first.startswith("pid="), first
        self.pid = int(first[4:])
        self.tree: dict[tuple[int, str], str] = {}

    def _read(self) -> None:
        for line in self.shell.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def next_line(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"serve.py said nothing more in {timeout:.0f} s:\n{self.output}") from None
        if line is None:
            self._lines.put(None)
            raise AssertionError(f"serve.py ended (status {self.shell.wait()}):\n{self.output}")
        if not line.startswith("pid="):
            self.output += line
        return line.rstrip("\n")

    def wait_url(self, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            m = URL_LINE.match(self.next_line(max(0.1, deadline - time.monotonic())))
            if m:
                return m

    def finish(self, timeout: float) -> int:
        """Waits for the shell (that is, serve.py) to end and for its last words."""
        code = self.shell.wait(timeout=timeout)
        while True:
            try:
                line = self._lines.get(timeout=10)
            except queue.Empty:
                break
            if line is None:
                break
            self.output += line
        return code

    def cleanup(self) -> None:
        """After a failure: nothing of this instance may outlive the test."""
        if self.shell.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.shell.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for (pid, start), _ in self.tree.items():
            st = _stat(pid)
            if st and st[1] == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.shell.poll() is None:
            self.shell.kill()
        shutil.rmtree(self.runtime, ignore_errors=True)


def request(url: str, token: str | None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"token {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"body": raw.decode(errors="replace")}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One instance, with a test-only profile that runs a real (minimal) desktop. The last test
    of this file stops it."""
    state = tmp_path_factory.mktemp("serve") / "state"
    profiles = state / "config" / "desktops"  # --isolated: JUPYTER_CONFIG_DIR is STATE/config
    profiles.mkdir(parents=True)
    (profiles / "test-serve.json").write_text(
        json.dumps({"id": "test-serve", "title": "Serve test", "category": "Tests", "xstartup": "test-serve.sh"})
    )
    (profiles / "test-serve.sh").write_text("#!/bin/sh\nexec sleep 600\n")
    (profiles / "test-serve.sh").chmod(0o755)
    s = Served(state)
    try:
        s.match = s.wait_url()
        yield s
    finally:
        s.cleanup()


def test_the_background_job_really_starts_with_sigint_ignored():
    """The premise of the SIGINT test below: what `scripts/run.sh &` does in a script."""
    r = subprocess.run(
        ["bash", "-c", BACKGROUND, "bash", sys.executable, "-c", "import signal as s; print(s.getsignal(s.SIGINT) == s.SIG_IGN)"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert r.stdout.splitlines()[1] == "True", r.stdout + r.stderr


def test_it_prints_a_real_url_and_says_once_why_nginx_is_in_front(served):
    base, port, token = served.match.groups()
    out = served.output
    assert "{" not in out and "}" not in out, f"template text in what serve.py printed:\n{out}"
    stack = json.loads((served.state / "url").read_text())
    assert stack["url"] == f"{base}lab?token={token}"
    assert stack["token"] == token
    if stack["mode"] == "nginx":
        assert out.count(NGINX_NOTE) == 1, out
        assert f"nginx serves {base}desktops/" in out
    else:
        assert NGINX_NOTE not in out, out
    # The URL works: Lab, and the desktops service through it, behind Jupyter's login.
    assert request(f"{base}api/status", token)[0] == 200
    status, health = request(f"{base}desktops/healthz", token)
    assert (status, health.get("ok")) == (200, True), health
    assert request(f"{base}desktops/healthz", None)[0] in (401, 403)


def test_the_jupyterlab_log_has_no_jupyter_server_proxy_traceback(served):
    """Where jupyter-server-proxy is missing, nothing may ask Jupyter to load it."""
    text = (served.state / "jupyter.log").read_text()
    assert "Traceback" not in text, text
    assert "jupyter_server_proxy" not in text, text


def test_sigint_stops_lab_nginx_the_daemon_and_every_desktop_even_in_the_background(served):
    base, _, token = served.match.groups()
    status, session = request(f"{base}desktops/api/sessions", token, {"profile": "test-serve"})
    assert status == 202, session
    deadline = time.monotonic() + 60
    while session["state"] != "running":
        assert session["state"] == "starting", session
        assert time.monotonic() < deadline, f"the desktop did not start in 60 s: {session}"
        time.sleep(0.2)
        status, session = request(f"{base}desktops/api/sessions/{session['id']}", token)
        assert status == 200, session
    # `running` comes as the X server answers: its start script's program, a moment later.
    while "sleep 600" not in "\n".join(process_tree(served.pid).values()):
        assert time.monotonic() < deadline, f"the session's program did not start: {session}"
        time.sleep(0.2)
    served.tree = process_tree(served.pid)
    commands = "\n".join(served.tree.values())
    expected = ["jupyter", "jupyter-desktops-daemon", "Xtigervnc", "sleep 600"]
    if json.loads((served.state / "url").read_text())["mode"] == "nginx":
        expected += ["nginx: master", "nginx: worker"]
    for what in expected:
        assert what in commands, f"{what} is not among serve.py's processes:\n{commands}"

    os.kill(served.pid, signal.SIGINT)
    code = served.finish(timeout=90)

    assert code == 0, served.output
    assert "SIGINT: stopping" in served.output
    assert still_running(served.tree) == []
    assert processes_naming(served.state, served.runtime) == []
    assert not (served.state / "url").exists(), "a stale url file (with a dead token) is left"


def test_a_port_in_use_is_said_at_once_and_nothing_is_left(tmp_path):
    """Started as scripts/run.sh starts it (--quiet-route: setup.sh has just said why nginx)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = Served(tmp_path / "state", port, "--quiet-route")
        try:
            started = time.monotonic()
            code = s.finish(timeout=50)
            took = time.monotonic() - started
        finally:
            s.cleanup()
    assert code == 1, s.output
    assert took < 50
    assert "not ready:" in s.output
    assert NGINX_NOTE not in s.output
    assert str(port) in s.output
    assert "Address already in use" in s.output or f"port {port} is not available" in s.output, s.output
    assert processes_naming(s.state, s.runtime) == []
    assert not (s.state / "url").exists()
