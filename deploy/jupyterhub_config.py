"""JupyterHub with JupyterLab Desktops on one Debian 12 server.

PAM users (the server's own accounts), nginx with TLS in front (deploy/nginx/jupyterhub.conf).
The hub is Debian's jupyterhub package, run by Debian's Python; every user's server runs from
one environment, PREFIX (a venv made with --system-site-packages, holding JupyterLab and
jupyterlab-desktops). deploy/install.sh puts this file in /etc/jupyterhub/ with PREFIX filled in.
Each setting says why it is there; the ones to look at first are marked EDIT.
docs/deploy.md walks through them.
"""

import os
import shutil
import sys

c = get_config()  # noqa: F821 (JupyterHub provides it)

PREFIX = "/opt/jupyterhub"  # the users' environment (deploy/install.sh --prefix)

# --- Where the hub listens ----------------------------------------------------------------
# Loopback only: nginx is the one way in (TLS, WebSockets, the Host header with its port).
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
# Debian's configurable-http-proxy (it needs NODE_PATH=/usr/share/nodejs: the systemd unit sets it).
c.ConfigurableHTTPProxy.command = [shutil.which("configurable-http-proxy") or "/usr/bin/configurable-http-proxy"]
# State: the systemd unit makes /var/lib/jupyterhub (0700) the working directory.
c.JupyterHub.cookie_secret_file = "/var/lib/jupyterhub/jupyterhub_cookie_secret"
c.JupyterHub.db_url = "sqlite:////var/lib/jupyterhub/jupyterhub.sqlite"

# --- Who may log in -------------------------------------------------------------------------
# The server's own accounts, through PAM (JupyterHub's default). JupyterHub 3.0 lets every
# account that PAM accepts in: EDIT to name the people or the group who may use the hub.
c.JupyterHub.authenticator_class = "pam"
# c.Authenticator.allowed_users = {"alice", "bob"}
# c.PAMAuthenticator.allowed_groups = {"jupyterhub-users"}
c.Authenticator.admin_users = set()  # EDIT: e.g. {"alice"}: may see and stop others' servers

# --- Each user's server ---------------------------------------------------------------------
# JupyterLab from the users' environment, started as the user in their home.
c.Spawner.cmd = [f"{PREFIX}/bin/python", "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
# The desktops service is Node.js; a spawner's PATH may not hold it.
c.Spawner.environment = {"JUPYTER_DESKTOPS_NODE": shutil.which("node") or "/usr/bin/node"}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# --- The desktops, for everyone ---------------------------------------------------------------
# Site defaults and policy (`jupyter desktops --help-all` describes each). Given on each
# server's command line, they outrank a user's own ~/.jupyter files. They are read when a
# user's first desktop starts: after a change, users' servers need a restart.
DESKTOPS = {
    "max_sessions": 1,  # one desktop per user; opening another replaces it
    "max_geometry": "2560x1600",  # the largest desktop a tab may ask for (memory grows with it)
    "idle_timeout": 120,  # minutes without input before a desktop is stopped (0: never)
}
c.Spawner.args = [f"--Desktops.{key}={value}" for key, value in DESKTOPS.items()]

# --- Limits that protect the server -----------------------------------------------------------
# A user's own settings cannot touch these. With systemd's spawner (deploy/install.sh puts
# jupyterhub-systemdspawner in PREFIX/hub-lib where the package index has it), each user's
# server runs in a unit of its own with these limits, inside jupyterhub-users.slice
# (deploy/systemd), whose limits hold all users together. Without it, every server runs inside
# jupyterhub.service, whose MemoryMax and TasksMax hold them all together (one user can still
# crowd the others). Sized from the workshop measurements in docs/deploy.md.
MEMORY_PER_USER = "3G"  # EDIT: JupyterLab, kernels and one desktop; more for big data
CPUS_PER_USER = 2.0
sys.path.insert(0, f"{PREFIX}/hub-lib")
try:
    import systemdspawner  # noqa: F401
except ImportError:
    systemdspawner = None
if systemdspawner and os.path.isdir("/run/systemd/system"):
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.mem_limit = MEMORY_PER_USER
    c.SystemdSpawner.cpu_limit = CPUS_PER_USER
    c.SystemdSpawner.slice = "jupyterhub-users.slice"
    c.SystemdSpawner.unit_extra_properties = {"TasksMax": "1024"}
    # A private /tmp per user: another user cannot fill or squat the X server's directories.
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.disable_user_sudo = True
else:
    c.JupyterHub.spawner_class = "localprocess"

# --- Idle servers ----------------------------------------------------------------------------
# The desktops stop themselves after DESKTOPS["idle_timeout"]. To stop whole idle servers too,
# add JupyterHub's idle culler (pip install jupyterhub-idle-culler) as a service, e.g. after
# 8 hours (longer than the desktops' own time-out, so a desktop always ends first):
# c.JupyterHub.services = [{"name": "idle-culler", "command": [f"{PREFIX}/bin/python", "-m",
#     "jupyterhub_idle_culler", "--timeout=28800"]}]
# c.JupyterHub.load_roles = [{"name": "idle-culler", "services": ["idle-culler"],
#     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}]
