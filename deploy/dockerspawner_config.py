"""JupyterHub with DockerSpawner: each user's server in a container of the single-user image.

A fragment for a hub's jupyterhub_config.py (docs/deploy.md, "DockerSpawner"): add it with
`load_subconfig("/etc/jupyterhub/dockerspawner_config.py")`, or paste it in. It needs
`pip install dockerspawner` beside the hub (JupyterHub 4 or newer) and the image built from
deploy/image/Containerfile (with `--build-arg JUPYTERHUB_VERSION=<the hub's version>`).
The lines to look at first are marked EDIT.
"""

c = get_config()  # noqa: F821 (JupyterHub provides it)

c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"

# --- The image ---------------------------------------------------------------------------------
c.DockerSpawner.image = "jupyterlab-desktops:latest"  # EDIT: the tag you built
# DockerSpawner runs the image's own command (jupyterhub-singleuser, under tini) with the
# arguments below appended: leave c.DockerSpawner.cmd unset.

# --- The network ----------------------------------------------------------------------------
# Containers reach the hub over a Docker network of their own (docker network create jupyterhub);
# the hub reaches them at their address on it, so no server port is published on the host.
c.DockerSpawner.network_name = "jupyterhub"  # EDIT: your network
c.DockerSpawner.use_internal_ip = True
# The hub listens where the containers can reach it: its container's name on that network (a hub
# in a container), or the network's gateway address (a hub on the host).
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = "jupyterhub"  # EDIT: the hub's name or address on that network

# --- Homes ------------------------------------------------------------------------------------
# One named volume per user, kept when the container goes; the image's home is /home/jovyan.
c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/jovyan"}
c.DockerSpawner.notebook_dir = "/home/jovyan"
# A stopped server's container is removed (its home stays in the volume): each start gets the
# image as it is now, and no stopped container piles up per user.
c.DockerSpawner.remove = True

# --- Limits -----------------------------------------------------------------------------------
# Sized from the measurements in docs/deploy.md ("How many users fit"): JupyterLab with an idle
# XFCE desktop holds about a third of a GiB; the rest is room for kernels and applications.
c.DockerSpawner.mem_limit = "3G"  # EDIT
c.DockerSpawner.cpu_limit = 2.0
c.DockerSpawner.extra_host_config = {
    # Browsers and Qt programs in a desktop use /dev/shm; Docker gives a container 64 MiB.
    "shm_size": "512m",
    # The desktops need no capability and no privilege gain.
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "pids_limit": 1024,
}

# --- The desktops, for everyone ---------------------------------------------------------------
# As on one server (deploy/jupyterhub_config.py): site defaults on each server's command line.
DESKTOPS = {
    "max_sessions": 1,
    "max_geometry": "2560x1600",
    "idle_timeout": 120,  # minutes without input before a desktop is stopped (0: never)
}
c.DockerSpawner.args = [f"--Desktops.{key}={value}" for key, value in DESKTOPS.items()]
c.DockerSpawner.default_url = "/lab"
