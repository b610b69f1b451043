"""systemd notifications (READY, WATCHDOG, STATUS) over $NOTIFY_SOCKET, without a dependency."""

from __future__ import annotations

import os
import socket


def sd_notify(state: str) -> bool:
    """Send one notification; False when not run by systemd (no NOTIFY_SOCKET) or the socket is gone."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError:
        return False
    return True


def watchdog_interval_s() -> float | None:
    """systemd's WatchdogSec for this process ($WATCHDOG_USEC, meant for $WATCHDOG_PID), None when unarmed."""
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        interval_s = int(usec) / 1e6
    except ValueError:
        return None
    return interval_s if interval_s > 0 else None
