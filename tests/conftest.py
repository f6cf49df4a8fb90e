"""What the package's tests share."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


def socket_listeners(pid: int) -> list[str]:
    """The TCP and UDP sockets `pid` holds (listening or bound), from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            if line.split()[9] in inodes:
                found.append(f"{table} {line.split()[1]}")
    return found


@pytest.fixture
def listeners() -> Callable[[int], list[str]]:
    """`listeners(pid)`: the TCP and UDP sockets a process holds."""
    return socket_listeners
