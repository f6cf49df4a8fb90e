#!/usr/bin/env python3
"""Runs JupyterLab with the desktops extension on localhost, the way users reach it.

With jupyter-server-proxy importable, JupyterLab alone serves /desktops/ and starts the daemon
(the production path). Without it (a machine whose package index lacks it), nginx stands in
front: /desktops/ goes to the daemon's unix socket after an auth_request to Jupyter's /api/me;
everything else goes to JupyterLab on a unix socket. The daemon is started from the installed
package's own jupyter-server-proxy spec.

Prints the URL to open and writes it to STATE/url (0600). On SIGINT (Ctrl+C), SIGTERM or SIGHUP
it stops JupyterLab, nginx, the daemon and every desktop, even when started in the background
of a non-interactive shell (which starts it with SIGINT ignored), and removes STATE/url.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NGINX_CONF = """\
daemon off;
worker_processes 1;
{user}
pid {state}/nginx.pid;
error_log {state}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {state}/nginx-tmp/body;
  proxy_temp_path {state}/nginx-tmp/proxy;
  fastcgi_temp_path {state}/nginx-tmp/fastcgi;
  uwsgi_temp_path {state}/nginx-tmp/uwsgi;
  scgi_temp_path {state}/nginx-tmp/scgi;
  client_max_body_size 512m;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream jupyter {{ server unix:{state}/jupyter.sock; }}
  upstream desktops {{ server unix:{state}/desktops.sock; }}
  server {{
    listen 127.0.0.1:{port};
    # Jupyter decides who may reach the daemon: its /api/me answers 200 only when the
    # request's cookie or token is valid.
    location = /_desktops_auth {{
      internal;
      proxy_pass http://jupyter/api/me;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade "";
      proxy_set_header Connection "";
      # Whose cookie is it, only: the daemon checks Origin itself, with a sentence.
      proxy_set_header Origin "";
    }}
    location /desktops/ {{
      auth_request /_desktops_auth;
      proxy_pass http://desktops/;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-Prefix /desktops;
      proxy_buffering off;
      proxy_read_timeout 1d;
    }}
    location / {{
      proxy_pass http://jupyter;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 1d;
    }}
  }}
}}
"""


def log(msg: str) -> None:
    print(f"[serve] {msg}", flush=True)


class Stop(Exception):
    """A stop signal arrived."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP raise Stop. Installed explicitly: Python leaves SIGINT ignored
    when it starts with it ignored, as a background job of a non-interactive shell does
    (`scripts/run.sh &`). Inside `held()` they wait for its end, so that no child is started
    without being recorded (and stopped)."""

    def __init__(self):
        self.received: str | None = None
        self._held = False
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        if self.received:
            return  # stopping already
        self.received = signal.Signals(signum).name
        if not self._held:
            raise Stop(self.received)

    @contextlib.contextmanager
    def held(self):
        self._held = True
        try:
            yield
        finally:
            self._held = False
        if self.received:
            raise Stop(self.received)

    @staticmethod
    def ignore():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


class Child:
    """A process this script started, in a session of its own (so a terminal's Ctrl+C reaches
    this script alone, which stops them in order), with its log."""

    def __init__(self, name: str, argv: list[str], log_path: Path, **kw):
        self.name, self.log_path = name, log_path
        with open(log_path, "w") as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw
            )

    @classmethod
    def start(cls, children: list[Child], signals: StopSignals, *args, **kw) -> None:
        with signals.held():
            children.append(cls(*args, **kw))

    def exited(self) -> str | None:
        """None while it runs, else a sentence: its exit status and the last lines of its log."""
        code = self.proc.poll()
        if code is None:
            return None
        try:
            lines = [ln.strip() for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            lines = []
        last = list(dict.fromkeys(lines[-5:]))  # nginx says the cause five times, then "still"
        said = f": {' / '.join(last)}" if last else ""
        return f"{self.name} exited (status {code}){said} (log: {self.log_path})"


def jsp_available(python: str) -> bool:
    r = subprocess.run([python, "-c", "import jupyter_server_proxy"], capture_output=True)
    return r.returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, token: str, timeout: float, children: list[Child]) -> str:
    """Waits for a JSON answer; returns the error message of a service that cannot run."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        dead = [why for why in (c.exited() for c in children) if why]
        if dead:
            raise RuntimeError("; ".join(dead))
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return ""
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
            # The desktops service that cannot run answers 503 with why: Lab still serves.
            if e.code == 503 and e.headers.get_content_type() == "application/json":
                return json.loads(e.read())["error"]["message"]
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s ({last})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=str(ROOT / ".venv"))
    ap.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    ap.add_argument("--mode", choices=["auto", "jsp", "nginx"], default="auto")
    ap.add_argument("--state-dir", default=str(ROOT / ".stack"))
    ap.add_argument("--isolated", action="store_true", help="private Jupyter config, data and workspaces (tests)")
    ap.add_argument(
        "--quiet-route",
        action="store_true",
        help="do not say why nginx is in front (scripts/run.sh: scripts/setup.sh has just said so)",
    )
    args = ap.parse_args()

    python = str(Path(args.venv) / "bin" / "python")
    if not Path(python).exists():
        log(f"no venv at {args.venv}: run scripts/setup.sh first")
        return 2
    mode, why_nginx = args.mode, "--mode nginx"
    if mode == "auto":
        mode = "jsp" if jsp_available(python) else "nginx"
        why_nginx = f"jupyter-server-proxy is not installed in {args.venv}"
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}/"
    if mode == "nginx" and not args.quiet_route:
        log(
            f"{why_nginx}: nginx serves {base}desktops/ "
            f"(the desktops daemon, after Jupyter's login check) and the rest of {base} (JupyterLab)"
        )
    state = Path(args.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    for name in ("jupyter.sock", "desktops.sock", "url"):
        (state / name).unlink(missing_ok=True)

    token = secrets.token_hex(24)
    env = dict(os.environ, JUPYTER_TOKEN=token)
    if args.isolated:
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime")):
            (state / sub).mkdir(exist_ok=True)
            env[var] = str(state / sub)
    root_dir = state / "root" if args.isolated else Path.home()
    root_dir.mkdir(exist_ok=True)

    lab = [python, "-I", "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.root_dir={root_dir}"]
    if args.isolated:
        lab.append(f"--LabApp.workspaces_dir={state / 'workspaces'}")
    if os.geteuid() == 0:
        lab.append("--allow-root")
    children: list[Child] = []
    signals = StopSignals()
    try:
        if mode == "jsp":
            lab += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
            Child.start(children, signals, "JupyterLab", lab, state / "jupyter.log", env=env, cwd=root_dir)
        else:
            # -I: the installed package's spec, never the source tree's. Outside a Jupyter
            # server the spec takes the current directory as the Jupyter root ("Open in").
            daemon_env = {k: v for k, v in env.items() if k != "JUPYTER_TOKEN"}
            cmd = json.loads(subprocess.check_output(
                [python, "-I", "-c", "import json, sys; from jupyterlab_desktops.launch import service_argv; "
                 "print(json.dumps(service_argv(sys.argv[1])))", str(state / "desktops.sock")],
                env=daemon_env, cwd=root_dir))
            Child.start(children, signals, "the desktops daemon", cmd, state / "daemon.log", env=daemon_env, cwd=state)
            lab += [f"--ServerApp.sock={state / 'jupyter.sock'}"]
            Child.start(children, signals, "JupyterLab", lab, state / "jupyter.log", env=env, cwd=root_dir)
            (state / "nginx-tmp").mkdir(exist_ok=True)
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
            conf = state / "nginx.conf"
            conf.write_text(NGINX_CONF.format(state=state, port=port, user=user))
            Child.start(children, signals, "nginx", ["nginx", "-p", str(state), "-c", str(conf)], state / "nginx.log")
        try:
            wait_http(base + "api/status", token, 60, children)
            problem = wait_http(base + "desktops/healthz", token, 60, children)
        except RuntimeError as e:
            log(f"not ready: {e}")
            return 1
        url = f"{base}lab?token={token}"
        fd = os.open(state / "url", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, json.dumps({"url": url, "base": base, "token": token, "mode": mode}).encode())
        os.close(fd)
        if problem:
            log(f"the desktops service cannot run: {problem}")
        log(f"JupyterLab with desktops is ready:\n\n    {url}\n\nCtrl+C (or SIGTERM) stops it, with every desktop.")
        while not any(c.exited() for c in children):
            time.sleep(0.5)
        log("; ".join(why for why in (c.exited() for c in children) if why) + ": stopping the rest")
        return 1
    except Stop as sig:
        log(f"{sig}: stopping JupyterLab, {'nginx, ' if mode == 'nginx' else ''}the daemon and every desktop")
        return 0
    finally:
        signals.ignore()
        stop(children)
        for name in ("url", "jupyter.sock", "desktops.sock"):
            (state / name).unlink(missing_ok=True)


def stop(children: list[Child]) -> None:
    """Stops the children (nginx first, the daemon last), each with SIGTERM, then SIGKILL after
    15 s. (The caller ignores further stop signals: a second Ctrl+C must not cut this short.)"""
    for c in reversed(children):
        if c.proc.poll() is None:
            c.proc.terminate()
    for c in reversed(children):
        try:
            c.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"{c.name} did not stop within 15 s of SIGTERM: killing it")
            c.proc.kill()
            c.proc.wait()
    if children:
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())
