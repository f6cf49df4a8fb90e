"""The container deployments' files agree with the image and with the package: Zero to
JupyterHub's values (deploy/z2jh/values.yaml) and the DockerSpawner fragment
(deploy/dockerspawner_config.py) name the image's user, home and command, size memory from the
measured figures in docs/deploy.md, and give the desktops only settings that exist, with values
the package accepts. (The values' validity against the chart's own schema is checked where the
chart is at hand: docs/deploy.md, "Kubernetes".)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from jupyterlab_desktops.config import Desktops

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def containerfile() -> dict[str, str]:
    """The Containerfile's ARG defaults, its CMD and its ENTRYPOINT."""
    text = (DEPLOY / "image" / "Containerfile").read_text()
    facts = dict(re.findall(r"^ARG (\w+)=(\S*)$", text, re.M))
    facts["CMD"] = re.search(r"^CMD (.*)$", text, re.M).group(1)
    facts["ENTRYPOINT"] = re.search(r"^ENTRYPOINT (.*)$", text, re.M).group(1)
    return facts


def measured_mib_per_user() -> int:
    """docs/deploy.md's figure for a user with JupyterLab and an idle XFCE desktop."""
    m = re.search(r"the same with eight XFCE desktops \(PSS\) \| \d+ MiB, (\d+) MiB each", (ROOT / "docs" / "deploy.md").read_text())
    assert m, "docs/deploy.md no longer has the per-user figure of the workshop test"
    return int(m.group(1))


def mib(size: str) -> float:
    """Kubernetes and Docker sizes ("1G", "512Mi", "3G") in MiB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", str(size).strip())
    assert m, f"not a size: {size!r}"
    n, unit = float(m.group(1)), m.group(2) or ""
    powers = {"K": 1, "M": 2, "G": 3, "T": 4}
    if not unit:
        return n / 2**20
    base = 1024 if unit.endswith("i") else 1000
    return n * base ** powers[unit[0]] / 2**20


def desktops_settings(args: list[str]) -> dict[str, object]:
    """`--Desktops.<name>=<value>` arguments as the package reads them; a name it does not have
    or a value it refuses fails the test with the package's own message."""
    settings: dict[str, object] = {}
    traits = Desktops.class_traits(config=True)
    for arg in args:
        m = re.fullmatch(r"--Desktops\.(\w+)=(.*)", arg)
        assert m, f"not a desktops setting: {arg!r}"
        name, value = m.groups()
        assert name in traits, f"{arg}: Desktops has no setting {name!r} ({', '.join(sorted(traits))})"
        settings[name] = traits[name].from_string(value)
    Desktops(**settings)  # validates each value (e.g. max_geometry's form)
    return settings


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())


@pytest.fixture(scope="module")
def docker() -> dict:
    loader = PyFileConfigLoader("dockerspawner_config.py", path=str(DEPLOY))
    return loader.load_config()


def test_desktops_settings_are_checked():
    """The helper that checks the deployments' settings refuses a name or value the package
    would refuse (so that the tests below can fail)."""
    with pytest.raises(AssertionError, match="no setting 'idle_timout'"):
        desktops_settings(["--Desktops.idle_timout=60"])
    with pytest.raises(Exception, match="max_geometry"):
        desktops_settings(["--Desktops.max_geometry=huge"])
    assert desktops_settings(["--Desktops.idle_timeout=60"]) == {"idle_timeout": 60.0}


def test_z2jh_values_match_the_image(values):
    image = containerfile()
    single = values["singleuser"]
    assert single["uid"] == int(image["NB_UID"])
    assert single["fsGid"] == int(image["NB_GID"])
    assert single["storage"]["homeMountPath"] == f"/home/{image['NB_USER']}"
    assert f'["{single["cmd"]}"]' == image["CMD"]
    assert image["ENTRYPOINT"].startswith('["tini"')
    assert single["allowPrivilegeEscalation"] is False


def test_z2jh_values_size_memory_from_the_measured_figures(values):
    single = values["singleuser"]
    per_user = measured_mib_per_user()
    assert mib(single["memory"]["guarantee"]) >= 2 * per_user
    assert mib(single["memory"]["limit"]) > mib(single["memory"]["guarantee"])
    shm = next(v for v in single["storage"]["extraVolumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert mib(shm["emptyDir"]["sizeLimit"]) < mib(single["memory"]["limit"])
    assert {"name": "dshm", "mountPath": "/dev/shm"} in single["storage"]["extraVolumeMounts"]


def test_z2jh_desktop_profile_and_culler_work_together(values):
    profiles = values["singleuser"]["profileList"]
    desktop = next(p for p in profiles if p.get("default"))
    plain = [p for p in profiles if not p.get("default")]
    assert plain, "a plain profile beside the desktop one"
    settings = desktops_settings(desktop["kubespawner_override"]["args"])
    # A desktop idle by its own measure ends before the culler could stop the server under it.
    assert values["cull"]["enabled"] is True
    assert 0 < settings["idle_timeout"] * 60 <= values["cull"]["timeout"]
    for p in plain:
        assert "args" not in p.get("kubespawner_override", {}), "a plain image has no Desktops settings"


def test_dockerspawner_fragment_matches_the_image(docker, values):
    image = containerfile()
    home = f"/home/{image['NB_USER']}"
    spawner = docker.DockerSpawner
    assert docker.JupyterHub.spawner_class == "dockerspawner.DockerSpawner"
    assert list(spawner.volumes.values()) == [home]
    assert "{username}" in next(iter(spawner.volumes))
    assert spawner.notebook_dir == home
    assert spawner.remove is True
    assert "cmd" not in spawner, "the image's own command (tini, jupyterhub-singleuser)"
    assert spawner.network_name
    assert spawner.use_internal_ip is True
    # The same limits as on Kubernetes and on one server.
    assert mib(spawner.mem_limit) == mib(values["singleuser"]["memory"]["limit"])
    assert spawner.extra_host_config["cap_drop"] == ["ALL"]
    assert "no-new-privileges" in spawner.extra_host_config["security_opt"]
    assert mib(spawner.extra_host_config["shm_size"].upper()) >= 256
    settings = desktops_settings(spawner.args)
    assert settings["idle_timeout"] > 0
