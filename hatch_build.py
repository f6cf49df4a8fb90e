"""Refuses to build the sdist or a wheel without the JavaScript they must carry.

The labextension and the daemon bundle are built with npm (`npm run build`), not by this
hook, as JupyterLab's extension template has it with `skip-if-exists`: the sdist carries them
as artifacts, so a wheel builds from an unpacked sdist without npm. A build never silently
ships without them, nor with ones built for another version (packages/labextension/package.json
holds the one version; see pyproject.toml).
"""

import json
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from packaging.version import InvalidVersion, Version

#: The built files (what they are, and the package.json that says which version they are of).
REQUIRED = [
    ("jupyterlab_desktops/labextension/static/style.js", "the prebuilt labextension", None),
    (
        "jupyterlab_desktops/labextension/package.json",
        "the prebuilt labextension",
        "jupyterlab_desktops/labextension/package.json",
    ),
    ("daemon/dist/bin/jupyter-desktops-daemon.cjs", "the bundled daemon", "daemon/dist/package.json"),
    ("daemon/dist/bin/daemon.cjs", "the bundled daemon", None),
]


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if self.target_name not in ("wheel", "sdist"):
            return
        root = Path(self.root)
        project = self.metadata.version
        problems = []
        for path, what, package_json in REQUIRED:
            if not (root / path).is_file():
                problems.append(f"{what} is missing ({path})")
                continue
            if package_json is None:
                continue
            try:
                built = json.loads((root / package_json).read_text())["version"]
            except (OSError, ValueError, KeyError):
                built = None
            if built is None or not _same(str(built), project):
                problems.append(f"{what} was built for version {built} ({package_json}), not {project}")
        if problems:
            raise RuntimeError(
                f"cannot build the {self.target_name} of jupyterlab-desktops {project}: "
                + "; ".join(problems)
                + ". Run `npm install && npm run build` in the source tree first."
            )
