"""The desktops service when it cannot run: answers every request with why.

Started by jupyter-server-proxy in the daemon's place when `launch` found a problem that keeps
the daemon from working (no Node.js, a tornado too old, a settings typo). Every request gets
HTTP 503 with the protocol's error body and code `unavailable`, so the launcher and the tabs say
the cause at once. Python's own HTTP server on the same private unix socket the daemon would
use; it reads no input beyond the request head and logs nothing (query strings may carry
tokens). Usage: python -m jupyterlab_desktops.unavailable --socket PATH -- SENTENCE...
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socketserver
import stat
import sys
from http.server import BaseHTTPRequestHandler

#: The protocol's error code for a service that cannot run (packages/protocol ErrorCode).
CODE = "unavailable"
MAX_BODY = 16 * 1024


class Handler(BaseHTTPRequestHandler):
    server_version = "jupyter-desktops"
    protocol_version = "HTTP/1.1"
    message = ""

    def _answer(self) -> None:
        # Read a small body first: a proxy still sending it would see a broken pipe.
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and 0 < int(length) <= MAX_BODY:
            self.rfile.read(int(length))
        body = json.dumps({"error": {"code": CODE, "message": self.message}}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up early (jupyter-server-proxy's readiness probe reads the
        # status line only) is not worth a traceback in the Jupyter log.
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jupyterlab_desktops.unavailable")
    ap.add_argument("--socket", required=True)
    ap.add_argument("problems", nargs="+")
    args = ap.parse_args(argv)
    Handler.message = "The desktops service cannot start on this server. " + " ".join(args.problems)
    print(f"jupyter-desktops: {Handler.message}", file=sys.stderr, flush=True)
    try:
        if stat.S_ISSOCK(os.lstat(args.socket).st_mode):
            os.unlink(args.socket)  # left by a crash: listening would fail
    except FileNotFoundError:
        pass
    old = os.umask(0o177)  # born 0600, as the daemon's socket
    try:
        server = Server(args.socket, Handler)
    finally:
        os.umask(old)
    # Asked to stop: exit 0, as the daemon does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        try:
            os.unlink(args.socket)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
