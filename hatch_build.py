"""Refuses to build a wheel without the JavaScript it must carry.

The labextension and the daemon bundle are built with npm (`npm run build`), not by this
hook: hatch-jupyter-builder is not needed, and a wheel can never silently ship without them.
"""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

REQUIRED = {
    "jupyterlab_desktops/labextension/package.json": "the prebuilt labextension",
    "daemon/dist/bin/jupyter-desktops-daemon.cjs": "the bundled daemon",
}


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        missing = [f"{what} ({path})" for path, what in REQUIRED.items() if not (root / path).is_file()]
        if missing:
            raise RuntimeError("run `npm run build` first; missing " + ", ".join(missing))
