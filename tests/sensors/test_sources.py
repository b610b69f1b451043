"""Sources: RTL-SDR errors a fitter can act on, the rtl_tcp protocol against a small server, replay pacing."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cellward.recording import write_recording
from sensors.sources import IQSource, SourceError, SourceFault, build_source
from sensors.sources.rtl_tcp import SET_FREQUENCY, SET_GAIN, SET_SAMPLE_RATE, RtlTcpConfig, RtlTcpSource
from sensors.sources.rtlsdr import RtlSdrConfig, RtlSdrSource
from sensors.sources.scene import SceneConfig
from sensors.sources.sigmf_replay import EndOfRecording, SigmfConfig
from sensors.sources.soapy import SoapyConfig, SoapySource


def test_rtlsdr_on_a_machine_without_a_usable_dongle_is_a_clear_error() -> None:
    source = RtlSdrSource(RtlSdrConfig())
    with pytest.raises(SourceError, match=r"RTL-SDR|librtlsdr|pyrtlsdr") as caught:
        source.open()
    assert "Traceback" not in str(caught.value)


def test_rtlsdr_missing_library_names_the_package_to_install() -> None:
    def missing():
        import builtins

        from sensors.sources.rtlsdr import load_rtlsdr_library

        real = builtins.__import__

        def no_rtlsdr(name, *args, **kwargs):
            if name == "rtlsdr":
                raise ImportError("No module named 'rtlsdr'")
            return real(name, *args, **kwargs)

        builtins.__import__ = no_rtlsdr
        try:
            return load_rtlsdr_library()
        finally:
            builtins.__import__ = real

    with pytest.raises(SourceError, match="apt-get install rtl-sdr"):
        RtlSdrSource(RtlSdrConfig(), library_loader=missing).open()


def test_every_device_source_offers_the_whole_interface() -> None:
    """IQSource lists only what the node calls; a source lacking a member (or a member nobody implements,
    like a ppm setter when ppm is corrected by the tuning) fails this check."""
    sources = [
        RtlSdrSource(RtlSdrConfig()),
        RtlTcpSource(RtlTcpConfig()),
        SoapySource(SoapyConfig()),
        build_source(SceneConfig()),
        build_source(SceneConfig(faults=[{"after_s": 1, "for_s": 1}])),
    ]
    for source in sources:
        assert isinstance(source, IQSource), f"{type(source).__name__} lacks part of the IQSource interface"


def test_soapy_without_bindings_says_what_to_install() -> None:
    with pytest.raises(SourceError, match="python3-soapysdr"):
        SoapySource(SoapyConfig(device="driver=hackrf")).open()


class RtlTcpServer:
    """Just enough rtl_tcp: the greeting, commands recorded, and cu8 samples that encode a counter."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.commands: list[tuple[int, int]] = []
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        conn.sendall(struct.pack(">4sII", b"RTL0", 5, 29))
        conn.settimeout(0.01)
        pattern = np.tile(np.array([255, 0], np.uint8), 4096).tobytes()  # I = +1, Q = -1 at full scale
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(5)
                    if len(data) == 5:
                        self.commands.append(struct.unpack(">BI", data))
                except TimeoutError:
                    pass
                conn.sendall(pattern)
        except OSError:
            pass
        finally:
            conn.close()

    def drop_clients_and_stop(self) -> None:
        self._stop.set()
        # close() alone leaves an accept() already blocked in the serving thread listening (it took the next
        # connection, so "the server is gone" was sometimes not); shutdown wakes it
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(5)
        assert not self.thread.is_alive(), "the test server must stop accepting"


def test_rtl_tcp_client_speaks_the_protocol_and_reconnects() -> None:
    server = RtlTcpServer()
    source = RtlTcpSource(RtlTcpConfig(port=server.port, sample_rate_hz=2.4e6, timeout_s=2))
    source.open()
    assert source.tuner_type == 5, "the 12-byte greeting carries the tuner type (5 = R820T)"
    assert source.tune(897.4e6) == 897.4e6
    assert source.set_gain(28.0) == 28.0
    samples = source.read(10_000)
    assert samples.dtype == np.complex64 and len(samples) == 10_000
    assert np.allclose(samples, 1 - 1j, atol=0.01), "cu8 255/0 is +1/-1 at full scale"
    deadline = time.monotonic() + 10
    while (SET_GAIN, 280) not in server.commands and time.monotonic() < deadline:
        source.read(10_000)  # the server reads commands between sends: keep its sends from blocking
    assert (SET_SAMPLE_RATE, 2_400_000) in server.commands
    assert (SET_FREQUENCY, 897_400_000) in server.commands
    assert (SET_GAIN, 280) in server.commands, "gain goes in tenths of dB"
    source.close()
    source.open()  # what the node does after a fault
    assert server.connections == 2
    server.drop_clients_and_stop()
    with pytest.raises(SourceFault):
        for _ in range(100):
            source.read(100_000)
    with pytest.raises(SourceFault, match=r"rtl_tcp server 127\.0\.0\.1"):
        source.open()


def _recording(tmp_path: Path, seconds: float) -> Path:
    samples = (np.arange(int(seconds * 2.4e6)) % 100).astype(np.float32).astype(np.complex64) / 200
    return write_recording(tmp_path / "rec", samples, datatype="cf32_le", sample_rate_hz=2.4e6, center_freq_hz=897e6)


def test_sigmf_replay_in_real_time_takes_the_recorded_time(tmp_path: Path) -> None:
    source = build_source(SigmfConfig(path=_recording(tmp_path, 0.5), realtime=True, loop=False))
    source.open()
    started = time.monotonic()
    source.read(int(0.4 * 2.4e6))
    elapsed = time.monotonic() - started
    assert elapsed >= 0.35, f"0.4 s of samples in real time took only {elapsed:.3f} s"
    assert source.tune(700e6) == 897e6, "a recording has one tuning"
    with pytest.raises(EndOfRecording):
        source.read(int(0.2 * 2.4e6))


def test_sigmf_replay_flat_out_loops_and_is_fast(tmp_path: Path) -> None:
    source = build_source(SigmfConfig(path=_recording(tmp_path, 0.2), realtime=False, loop=True))
    source.open()
    started = time.monotonic()
    first = source.read(int(0.15 * 2.4e6))
    second = source.read(int(0.15 * 2.4e6))  # runs past the end and starts again
    assert time.monotonic() - started < 0.25, "as fast as possible is faster than real time"
    assert first[0] == second[int(0.05 * 2.4e6)], "looping restarts at the first sample"


def test_missing_recording_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such metadata file"):
        build_source(SigmfConfig(path=tmp_path / "nothing.sigmf-meta"))
