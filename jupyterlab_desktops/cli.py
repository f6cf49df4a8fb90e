"""`jupyter-desktops`: small admin helpers.

  jupyter-desktops doctor    check Node, Xtigervnc, every profile and a desktop's OpenGL
  jupyter-desktops spec      print the jupyter-server-proxy spec as JSON
  jupyter-desktops profiles  list the profile directories searched
"""

from __future__ import annotations

import json
import subprocess
import sys

from . import daemon_command, profile_dirs, setup_desktops


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["spec"]:
        print(json.dumps(setup_desktops(), indent=2))
        return 0
    if args == ["doctor"]:
        # The daemon as jupyter-server-proxy would start it, asked for a report instead.
        cmd = daemon_command("{unix_socket}")
        i = cmd.index("--socket")
        cmd[i : i + 2] = ["--doctor"]
        return subprocess.run(cmd).returncode
    if args == ["profiles"]:
        print("\n".join(profile_dirs()))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
