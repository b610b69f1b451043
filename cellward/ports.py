"""Free TCP ports on the loopback for the brokers, APIs and servers that the demo, benches and tests start.

A port the kernel hands out for bind(0) comes from the ephemeral range, which every outgoing connection on
the machine also draws from (MQTT clients, database connections): between the probe and the server's own
bind a client may take it. Ports are therefore drawn from below that range, at random, and each is handed
out once per process.

A probe only says that nothing listens now. Two processes drawing ports side by side (pytest's workers, a
demo beside the tests) could each be handed one that the other's server has not bound yet, or is between a
stop and a restart (a broker outage). So each port handed out is also claimed for the life of the process
with a one-byte lock at that offset of one lock file, which the kernel drops when the process ends.
"""

from __future__ import annotations

import fcntl
import functools
import os
import random
import socket
import tempfile
from pathlib import Path

LOWEST_PORT = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
CLAIMS_FILE = Path(tempfile.gettempdir()) / "cellward-ports.lock"
_handed_out: set[int] = set()


def _below_ephemeral() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


@functools.cache
def _claims_fd() -> int | None:
    """The claims file, opened once and held open for the life of the process (closing it would drop every
    claim); None where it cannot be opened (another user's file): ports are then probed but not claimed."""
    try:
        return os.open(CLAIMS_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None


def _claim(port: int) -> bool:
    """Claim `port` for this process; False if another live process holds it."""
    fd = _claims_fd()
    if fd is None:
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
    except OSError:
        return False
    return True


def _release(port: int) -> None:
    fd = _claims_fd()
    if fd is not None:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, port)


def free_port(attempts: int = 200) -> int:
    """A loopback TCP port nothing listens on, outside the ephemeral range, not handed out before here nor
    claimed by another process."""
    highest = _below_ephemeral() - 1
    if highest > LOWEST_PORT:
        for _ in range(attempts):
            port = random.randint(LOWEST_PORT, highest)
            if port in _handed_out or not _claim(port):
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    _release(port)
                    continue
            _handed_out.add(port)
            return port
    with socket.socket() as probe:  # no room below the ephemeral range: let the kernel choose
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
