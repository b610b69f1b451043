"""Overruns are counted in samples_dropped by every source: a consumer that falls behind a dongle's sample clock
loses samples (and a replay or simulation skips them as a dongle would); a retune between dwells loses nothing.

The pauses here are long (0.4-0.5 s) against the 0.1 s a dongle's buffers hold, and the assertions are lower
bounds, or exact relations between what was counted and what was skipped.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cellward.recording import write_recording
from sensors.sources import build_source
from sensors.sources.pacing import DONGLE_BUFFER_S
from sensors.sources.rtl_tcp import SET_FREQUENCY, RtlTcpConfig, RtlTcpSource
from sensors.sources.rtlsdr import RtlSdrConfig, RtlSdrSource
from sensors.sources.scene import SceneConfig
from sensors.sources.sigmf_replay import SigmfConfig
from tests.support.fake_rtlsdr import UsbBus

FS = 2.4e6
PAUSE_S = 0.4
MIN_LOST = int((PAUSE_S - DONGLE_BUFFER_S) * FS * 0.95)


def _ramp_recording(tmp_path: Path, seconds: float) -> Path:
    """Sample k holds k (as its real part), so what a read returns says where in the recording it is."""
    samples = np.arange(int(seconds * FS)).astype(np.float32).astype(np.complex64)
    return write_recording(tmp_path / "ramp", samples, datatype="cf32_le", sample_rate_hz=FS, center_freq_hz=897e6)


def test_replay_that_falls_behind_counts_and_skips_what_a_dongle_would_lose(tmp_path: Path) -> None:
    source = build_source(SigmfConfig(path=_ramp_recording(tmp_path, 2.0), realtime=True, loop=False))
    source.open()
    source.tune(897e6)
    first = source.read(24_000)
    time.sleep(PAUSE_S)  # the consumer is busy elsewhere mid-dwell
    second = source.read(24_000)
    lost = source.counters.samples_dropped
    assert lost >= MIN_LOST, f"{PAUSE_S} s away with {DONGLE_BUFFER_S} s of buffers loses >= {MIN_LOST}, got {lost}"
    assert second[0].real == first[-1].real + 1 + lost, "the lost samples are skipped, exactly as many as counted"
    assert source.counters.samples_in == 48_000


def test_retune_between_dwells_is_not_a_loss_and_flat_out_never_loses(tmp_path: Path) -> None:
    recording = _ramp_recording(tmp_path, 1.0)
    paced = build_source(SigmfConfig(path=recording, realtime=True, loop=True))
    flat = build_source(SigmfConfig(path=recording, realtime=False, loop=True))
    for source in (paced, flat):
        source.open()
        source.tune(897e6)
        source.read(24_000)
        time.sleep(PAUSE_S)
        if source is paced:
            source.tune(897e6)  # the node idles until the next slot, then retunes
        source.read(24_000)
        assert source.counters.samples_dropped == 0, f"realtime={source is paced}: nothing was lost"


def test_simulated_dongle_that_falls_behind_skips_time() -> None:
    source = build_source(SceneConfig(realtime=True))
    source.open()
    source.tune(897e6)
    source.read(24_000)
    before_s = source._t_s
    time.sleep(PAUSE_S)
    source.read(24_000)
    lost = source.counters.samples_dropped
    assert lost >= MIN_LOST, f"the simulated dongle lost {lost} samples, expected >= {MIN_LOST}"
    assert source._t_s - before_s == pytest.approx((lost + 24_000) / FS, abs=1e-9), "time moves on by the lost samples"


class PacedRtlTcpServer:
    """rtl_tcp at about 2.4 MS/s whose bytes carry the low byte of the last frequency set (so a read shows
    which tuning its samples came from), and that can stall for a while as an overloaded server does."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.value = 7
        self.stall_s = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.sendall(struct.pack(">4sII", b"RTL0", 5, 29))
        conn.settimeout(0.0005)
        chunk_samples = 2400  # 1 ms
        t0, sent = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(5 * 64)
                    for i in range(0, len(data) - 4, 5):
                        code, value = struct.unpack(">BI", data[i : i + 5])
                        if code == SET_FREQUENCY:
                            self.value = value & 0xFF
                except (TimeoutError, BlockingIOError):
                    pass
                if self.stall_s:
                    time.sleep(self.stall_s)
                    self.stall_s = 0.0
                    t0, sent = time.monotonic(), 0  # what it would have sent meanwhile is gone
                if sent > (time.monotonic() - t0) * FS:
                    time.sleep(0.0005)
                    continue
                conn.settimeout(None)
                conn.sendall(bytes([self.value]) * (2 * chunk_samples))
                conn.settimeout(0.0005)
                sent += chunk_samples
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()


def test_rtl_tcp_retune_discards_the_backlog_and_a_stalled_server_is_counted() -> None:
    server = PacedRtlTcpServer()
    source = RtlTcpSource(RtlTcpConfig(port=server.port, sample_rate_hz=FS, timeout_s=5))
    try:
        source.open()
        source.tune(1000 * 256 + 0x42)
        source.read(24_000)
        time.sleep(PAUSE_S)  # between dwells: the stream goes on and piles up in the socket
        source.tune(1000 * 256 + 0x24)
        source.read(24_000)  # settle: samples from before the server applied the retune
        dwell = source.read(120_000)
        raw = np.round((dwell.real + 1) * 127.5).astype(int)
        assert set(raw.tolist()) == {0x24}, f"a dwell after a retune holds only the new tuning, saw {set(raw.tolist())}"
        assert source.counters.samples_dropped == 0, "a retune between dwells is not a loss"
        server.stall_s = PAUSE_S + 0.1
        source.read(int(PAUSE_S * FS))
        lost = source.counters.samples_dropped
        assert lost >= MIN_LOST, f"a server that stalled {PAUSE_S + 0.1} s lost >= {MIN_LOST} samples, counted {lost}"
    finally:
        source.close()
        server.stop()


def test_rtlsdr_read_that_outlasts_its_samples_counts_the_overrun(monkeypatch: pytest.MonkeyPatch) -> None:
    bus = UsbBus().install(monkeypatch)
    source = RtlSdrSource(RtlSdrConfig(sample_rate_hz=FS))
    source.open()
    source.read(24_000)  # the first read loads the cu8 kernel (the node's CLI warms it before it starts)
    source.tune(897e6)
    source.read(24_000)
    dwell = source.read(216_000)
    assert dwell.dtype == np.complex64 and np.abs(dwell).max() < 0.5, "cu8 noise around 127.5 is near 0 in complex64"
    assert source.counters.samples_dropped == 0, "reads that keep pace with the sample clock lose nothing"
    bus.read_delay_s = PAUSE_S  # the FIFO overran while the host was away: the read waits for fresh samples
    source.read(216_000)
    lost = source.counters.samples_dropped
    assert lost >= MIN_LOST, f"a read {PAUSE_S} s late lost >= {MIN_LOST} samples, counted {lost}"
