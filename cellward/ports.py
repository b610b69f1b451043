"""Free TCP ports on the loopback for the brokers, APIs and servers that the demo, benches and tests start.

A port the kernel hands out for bind(0) comes from the ephemeral range, which every outgoing connection on
the machine also draws from (MQTT clients, database connections): between the probe and the server's own
bind a client may take it. Ports are therefore drawn from below that range, at random, and each is handed
out once per process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST_PORT = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def _below_ephemeral() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(attempts: int = 200) -> int:
    """A loopback TCP port nothing listens on, outside the ephemeral range, not handed out before here."""
    highest = _below_ephemeral() - 1
    if highest > LOWEST_PORT:
        for _ in range(attempts):
            port = random.randint(LOWEST_PORT, highest)
            if port in _handed_out:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket() as probe:  # no room below the ephemeral range: let the kernel choose
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
