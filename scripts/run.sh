#!/usr/bin/env bash
# The run command (README): sets everything up, then serves JupyterLab with the desktops
# extension on http://127.0.0.1:8888 and prints the URL to open. Ctrl+C (SIGINT), SIGTERM or
# SIGHUP stops it all, also when started in the background (`scripts/run.sh &`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# --quiet-route: where jupyter-server-proxy is missing, setup.sh has just said that nginx
# stands in for it; serve.py need not say it again.
exec .venv/bin/python scripts/serve.py --port "${PORT:-8888}" --quiet-route "$@"
