"""Ports for the servers that tests, benches and the demo start: free, outside the ephemeral range, never twice."""

from __future__ import annotations

import socket

from cellward import ports
from cellward.ports import free_port


def test_ports_are_bindable_below_the_ephemeral_range_and_never_handed_out_twice():
    lowest_ephemeral = int(ports.EPHEMERAL_RANGE.read_text().split()[0])
    handed = [free_port() for _ in range(300)]
    assert len(set(handed)) == len(handed)
    assert all(ports.LOWEST_PORT <= port < lowest_ephemeral for port in handed)
    with socket.socket() as server:
        server.bind(("127.0.0.1", handed[-1]))


def test_a_port_something_listens_on_is_not_handed_out(monkeypatch):
    taken = free_port()  # below the ephemeral range, where its neighbours are free too
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", taken))
        busy.listen()
        monkeypatch.setattr(ports, "LOWEST_PORT", taken)
        monkeypatch.setattr(ports, "_below_ephemeral", lambda: taken + 3)
        ports._handed_out.discard(taken + 1)
        ports._handed_out.discard(taken + 2)
        assert free_port() in (taken + 1, taken + 2)
