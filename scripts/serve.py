#!/usr/bin/env python3
"""Runs JupyterLab with the desktops extension on localhost, the way users reach it.

With jupyter-server-proxy importable, JupyterLab alone serves `{base_url}desktops/` and starts
the daemon (the production path). Without it (a machine whose package index lacks it),
nginx stands in front, as DESIGN.md describes: `/desktops/` goes to the daemon's unix socket
after an `auth_request` to Jupyter's `/api/me`; everything else goes to JupyterLab on a unix
socket. The daemon is started from the installed package's own jupyter-server-proxy spec.

Prints the URL to open and writes it to STATE/url (0600). Stops everything on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
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


def jsp_available(python: str) -> bool:
    r = subprocess.run([python, "-c", "import jupyter_server_proxy"], capture_output=True)
    return r.returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, token: str, timeout: float) -> str:
    """Waits for a JSON answer; returns the error message of a service that cannot run."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
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
    args = ap.parse_args()

    python = str(Path(args.venv) / "bin" / "python")
    if not Path(python).exists():
        log(f"no venv at {args.venv}: run scripts/setup.sh first")
        return 2
    mode = args.mode
    if mode == "auto":
        mode = "jsp" if jsp_available(python) else "nginx"
    if mode == "nginx":
        log("jupyter-server-proxy is not installed here: routing {base_url}desktops/ through nginx")
    port = args.port or free_port()
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
    children: list[subprocess.Popen] = []

    def stop(*_):
        for p in reversed(children):
            if p.poll() is None:
                p.terminate()
        for p in reversed(children):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        jlog = open(state / "jupyter.log", "w")
        if mode == "jsp":
            lab += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
            children.append(subprocess.Popen(lab, env=env, stdout=jlog, stderr=subprocess.STDOUT, cwd=root_dir))
        else:
            # -I: the installed package's spec, never the source tree's. Outside a Jupyter
            # server the spec takes the current directory as the Jupyter root ("Open in").
            daemon_env = {k: v for k, v in env.items() if k != "JUPYTER_TOKEN"}
            cmd = json.loads(subprocess.check_output(
                [python, "-I", "-c", "import json, sys; from jupyterlab_desktops.launch import service_argv; "
                 "print(json.dumps(service_argv(sys.argv[1])))", str(state / "desktops.sock")],
                env=daemon_env, cwd=root_dir))
            dlog = open(state / "daemon.log", "w")
            children.append(subprocess.Popen(cmd, env=daemon_env, stdout=dlog, stderr=subprocess.STDOUT, cwd=state))
            lab += [f"--ServerApp.sock={state / 'jupyter.sock'}"]
            children.append(subprocess.Popen(lab, env=env, stdout=jlog, stderr=subprocess.STDOUT, cwd=root_dir))
            (state / "nginx-tmp").mkdir(exist_ok=True)
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
            conf = state / "nginx.conf"
            conf.write_text(NGINX_CONF.format(state=state, port=port, user=user))
            children.append(subprocess.Popen(["nginx", "-p", str(state), "-c", str(conf)],
                                             stdout=subprocess.DEVNULL, stderr=open(state / "nginx.log", "w")))
        base = f"http://127.0.0.1:{port}/"
        try:
            wait_http(base + "api/status", token, 60)
            problem = wait_http(base + "desktops/healthz", token, 60)
        except RuntimeError as e:
            log(f"not ready: {e}; see {state}/*.log")
            return 1
        url = f"{base}lab?token={token}"
        fd = os.open(state / "url", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, json.dumps({"url": url, "base": base, "token": token, "mode": mode}).encode())
        os.close(fd)
        if problem:
            log(f"the desktops service cannot run: {problem}")
        log(f"JupyterLab with desktops ({mode} route) is ready:\n\n    {url}\n")
        while all(p.poll() is None for p in children):
            time.sleep(0.5)
        dead = [p.args[0] for p in children if p.poll() is not None]
        log(f"stopped: {dead} exited; see {state}/*.log")
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
