"""The rtl_tcp server speaks the RTL-SDR network protocol: our own client and Debian's rtl_433 use it."""

from __future__ import annotations

import asyncio
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from sim.rtl_tcp_server import RtlTcpServer

SCENARIO = """\
name: tcp
seed: 3
duration_s: 60
phones:
  - id: p
    band: B8
    operator: O2
    place: {position: [3, 2, 1.5]}
    tx_power_dbm: 0
    activities: [{kind: gsm_call, start_s: 0, duration_s: 60}]
"""


@pytest.fixture()
def server(make_world) -> Iterator[RtlTcpServer]:
    """An rtl_tcp server for sensor s1 on a free loopback port, on its own event loop thread."""
    loop = asyncio.new_event_loop()
    instance = RtlTcpServer(make_world(SCENARIO), "s1")
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(instance.start(), loop).result(10)
    yield instance
    asyncio.run_coroutine_threadsafe(instance.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def command(sock: socket.socket, code: int, value: int) -> None:
    sock.sendall(struct.pack(">BI", code, value & 0xFFFFFFFF))


def receive(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "the server closed the stream"
        data += chunk
    return data


def wait_for(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_header_commands_and_a_real_time_stream(server: RtlTcpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        header = receive(sock, 12)
        assert header[:4] == b"RTL0" and struct.unpack(">II", header[4:]) == (5, 29), "R820T, 29 gain steps"
        command(sock, 0x01, 887_000_000)
        command(sock, 0x02, 1_024_000)
        command(sock, 0x03, 1)
        command(sock, 0x04, 297)
        command(sock, 0x05, -3)
        assert wait_for(lambda: len(server.connections[0].log) == 5)
        tuning = server.connections[0]
        assert (tuning.center_freq_hz, tuning.sample_rate_hz, tuning.gain_tenths, tuning.ppm) == (
            887e6,
            1.024e6,
            297,
            -3,
        )
        began = time.monotonic()
        samples = np.frombuffer(receive(sock, 2 * 1_024_000 // 2), np.uint8)  # half a second at 1.024 MS/s
        elapsed = time.monotonic() - began
    assert 0.2 < elapsed < 3.0, f"paced to real time: half a second of samples took {elapsed:.2f} s"
    assert 100 < samples.mean() < 155 and samples.std() > 1, "unsigned 8-bit I/Q around 127.5 with noise"


def test_bad_commands_are_ignored_and_disconnects_are_clean(server: RtlTcpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        receive(sock, 12)
        command(sock, 0x7F, 1)  # no such command
        command(sock, 0x02, 5_000_000)  # beyond the RTL2832U
        command(sock, 0x01, 3_500_000_000)  # beyond the R820T
        command(sock, 0x01, 700_000_000)
        assert wait_for(lambda: server.connections[0].log[-1:] == [("set_freq", 700_000_000)])
        assert server.connections[0].sample_rate_hz == 2.048e6 and server.connections[0].center_freq_hz == 700e6
        receive(sock, 4096)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        assert receive(sock, 4)[:4] == b"RTL0", "a new client is served after the last one left"
        sock.sendall(b"\x01\x00")  # half a command, then gone
    assert wait_for(lambda: len(server.connections) == 2)


@pytest.mark.slow
def test_rtl_433_connects_tunes_and_receives_samples(server: RtlTcpServer) -> None:
    rtl_433 = shutil.which("rtl_433")
    assert rtl_433, "rtl-433 is installed by .ci/setup"
    result = subprocess.run(
        [rtl_433, "-d", f"rtl_tcp:127.0.0.1:{server.port}", "-f", "868.3M", "-s", "1024k", "-T", "3", "-F", "null"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "rtl_tcp connected" in result.stderr, f"rtl_433 did not connect:\n{result.stderr}"
    tuning = server.connections[0]
    assert ("set_freq", 868_300_000) in tuning.log and ("set_sample_rate", 1_024_000) in tuning.log, tuning.log
    assert server.bytes_sent > 2 * 1_024_000, "rtl_433 received more than a second of samples"
