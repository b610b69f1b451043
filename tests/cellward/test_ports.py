"""Ports for the servers that tests, benches and the demo start: free, outside the ephemeral range, never twice."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from cellward import ports
from cellward.ports import free_port


def test_ports_are_bindable_below_the_ephemeral_range_and_never_handed_out_twice():
    lowest_ephemeral = int(ports.EPHEMERAL_RANGE.read_text().split()[0])
    handed = [free_port() for _ in range(300)]
    assert len(set(handed)) == len(handed)
    assert all(ports.LOWEST_PORT <= port < lowest_ephemeral for port in handed)
    with socket.socket() as server:
        server.bind(("127.0.0.1", handed[-1]))


def test_a_port_something_listens_on_is_not_handed_out(monkeypatch, own_claims_file):
    taken = free_port()  # below the ephemeral range, where its neighbours are free too
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", taken))
        busy.listen()
        monkeypatch.setattr(ports, "LOWEST_PORT", taken)
        monkeypatch.setattr(ports, "_below_ephemeral", lambda: taken + 3)
        ports._handed_out.discard(taken + 1)
        ports._handed_out.discard(taken + 2)
        assert free_port() in (taken + 1, taken + 2)


CLAIMING_CHILD = """
import sys
from pathlib import Path
from cellward import ports
low = int(sys.argv[1])
ports.CLAIMS_FILE = Path(sys.argv[2])
ports.LOWEST_PORT = low
ports._below_ephemeral = lambda: low + 3
print(sorted({ports.free_port() for _ in range(3)}), flush=True)
sys.stdin.read()  # holds its ports until the test closes its stdin
"""


@pytest.fixture
def own_claims_file(tmp_path: Path) -> Iterator[Path]:
    """Claims kept apart from the other test workers', whose claims on the ports drawn here would change the
    answers."""
    shared = ports.CLAIMS_FILE
    ports.CLAIMS_FILE = tmp_path / "claims.lock"
    ports._claims_fd.cache_clear()
    try:
        yield ports.CLAIMS_FILE
    finally:
        ports.CLAIMS_FILE = shared
        ports._claims_fd.cache_clear()  # this process's claims in the shared file stay: it is never closed


def test_a_port_another_live_process_was_handed_is_not_handed_out_until_that_process_ends(monkeypatch, own_claims_file):
    """Two processes drawing side by side (pytest's workers) must not share a port one of them has not bound yet
    or has let go of between a stop and a restart (a broker outage)."""
    low = _bindable_run(4)
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIMING_CHILD, str(low), str(own_claims_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(child.stdout.readline()) == [low, low + 1, low + 2]
        monkeypatch.setattr(ports, "LOWEST_PORT", low)
        monkeypatch.setattr(ports, "_below_ephemeral", lambda: low + 4)
        handed = [free_port(attempts=50) for _ in range(2)]
        assert handed[0] == low + 3 and not low <= handed[1] < low + 3, f"claimed by the other process: {handed}"
    finally:
        child.communicate("")
    monkeypatch.setattr(ports, "_below_ephemeral", lambda: low + 3)
    assert free_port() in (low, low + 1, low + 2), "an ended process's claims are gone with it"


def _bindable_run(count: int) -> int:
    """The first of `count` consecutive ports below the ephemeral range that can be bound now and that this
    process has not handed out (the first test hands out hundreds)."""
    while True:
        low = random.randint(ports.LOWEST_PORT, ports._below_ephemeral() - count - 1)
        if ports._handed_out.intersection(range(low, low + count)):
            continue
        try:
            with ExitStack() as stack:
                for port in range(low, low + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            return low
        except OSError:
            continue
