#!/usr/bin/env bash
# The run command (README): sets everything up, then serves JupyterLab with the desktops
# extension on http://127.0.0.1:8888 and prints the URL to open. Ctrl+C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/serve.py --port "${PORT:-8888}" "$@"
