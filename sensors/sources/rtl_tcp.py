"""Client of the rtl_tcp protocol: a 12-byte greeting, 5-byte big-endian commands, then a stream of cu8 IQ."""

from __future__ import annotations

import socket
import struct
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cellward.recording import to_complex64
from sensors.sources.base import R820T_GAINS_DB, SourceCounters, SourceFault, SourceInfo, nearest_gain
from sensors.sources.pacing import StreamClock
from sensors.sources.rtlsdr import RTLSDR_RANGE_HZ

# Command numbers of rtl_tcp (rtl_tcp.c): each is one byte followed by a big-endian uint32.
SET_FREQUENCY = 0x01
SET_SAMPLE_RATE = 0x02
SET_GAIN_MODE = 0x03  # 0 automatic, 1 manual
SET_GAIN = 0x04  # tenths of dB
SET_FREQ_CORRECTION = 0x05
SET_AGC_MODE = 0x08
SET_BIAS_TEE = 0x0E
GREETING = struct.Struct(">4sII")
BACKLOG_LIMIT_S = 2.0  # at most this much stream is discarded on a retune  # b"RTL0", tuner type, number of gain steps


class RtlTcpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["rtl_tcp"] = "rtl_tcp"
    host: str = Field(default="127.0.0.1", description="rtl_tcp server address")
    port: int = Field(default=1234, ge=1, le=65535)
    sample_rate_hz: float = Field(default=2.4e6, gt=0.9e6, le=3.2e6)
    bias_tee: bool = False
    timeout_s: float = Field(default=5.0, gt=0, description="connect and read timeout")


def command(code: int, value: int) -> bytes:
    """One rtl_tcp command: code byte + big-endian uint32 (negative values in two's complement)."""
    return struct.pack(">BI", code, value & 0xFFFFFFFF)


class RtlTcpSource:
    """One TCP connection to rtl_tcp (or the simulator's server); `open` again reconnects after a fault."""

    def __init__(self, config: RtlTcpConfig) -> None:
        self.config = config
        self.info = SourceInfo("rtl_tcp", f"{config.host}:{config.port}", config.sample_rate_hz, *RTLSDR_RANGE_HZ)
        self.counters = SourceCounters()
        self.first_sample_s: float | None = None
        self._sock: socket.socket | None = None
        self.tuner_type = 0
        self._clock = StreamClock(config.sample_rate_hz)

    def open(self) -> None:
        self.close()
        try:
            sock = socket.create_connection((self.config.host, self.config.port), timeout=self.config.timeout_s)
            greeting = self._recv_exact(sock, GREETING.size)
        except OSError as exc:
            raise SourceFault(f"rtl_tcp server {self.info.description} unreachable ({exc})") from None
        magic, self.tuner_type, _ = GREETING.unpack(greeting)
        if magic != b"RTL0":
            sock.close()
            raise SourceFault(f"{self.info.description} is not an rtl_tcp server (greeting {magic!r})")
        self._sock = sock
        self._send(SET_SAMPLE_RATE, round(self.config.sample_rate_hz))
        self._send(SET_GAIN_MODE, 1)
        self._send(SET_AGC_MODE, 0)
        self._send(SET_BIAS_TEE, int(self.config.bias_tee))
        self._clock.restart()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @staticmethod
    def _recv_exact(sock: socket.socket, size: int) -> bytes:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            n = sock.recv_into(view[got:])
            if n == 0:
                raise ConnectionError("server closed the connection")
            got += n
        return bytes(buffer)

    def _send(self, code: int, value: int) -> None:
        if self._sock is None:
            raise SourceFault("rtl_tcp source is not connected")
        try:
            self._sock.sendall(command(code, value))
        except OSError as exc:
            self.counters.usb_errors += 1
            self.close()
            raise SourceFault(f"rtl_tcp server {self.info.description} went away ({exc})") from None

    def tune(self, freq_hz: float) -> float:
        self._send(SET_FREQUENCY, round(freq_hz))
        self._discard_backlog()
        self._clock.restart()
        return float(round(freq_hz))

    def _discard_backlog(self) -> None:
        """Drop what the socket holds from before the retune (the stream never pauses between dwells), keeping
        I/Q byte pairs aligned; without this a dwell would read samples of an earlier tuning."""
        assert self._sock is not None
        dropped, limit = 0, round(2 * BACKLOG_LIMIT_S * self.config.sample_rate_hz)  # a flooding server: stop
        try:
            self._sock.setblocking(False)
            while dropped < limit and (chunk := self._sock.recv(1 << 20)):
                dropped += len(chunk)
        except BlockingIOError:
            pass
        except OSError as exc:
            self.counters.usb_errors += 1
            self.close()
            raise SourceFault(f"rtl_tcp stream from {self.info.description} broke ({exc})") from None
        finally:
            if self._sock is not None:
                self._sock.settimeout(self.config.timeout_s)
        if dropped % 2:
            self._recv_exact(self._sock, 1)

    def gains_db(self) -> list[float]:
        return list(R820T_GAINS_DB)

    def set_gain(self, gain_db: float) -> float:
        gain = nearest_gain(R820T_GAINS_DB, gain_db)
        self._send(SET_GAIN, round(gain * 10))
        return gain

    def read(self, num_samples: int) -> np.ndarray:
        if self._sock is None:
            raise SourceFault("rtl_tcp source is not connected")
        try:
            raw = self._recv_exact(self._sock, 2 * num_samples)
        except (OSError, ConnectionError) as exc:
            self.counters.usb_errors += 1
            self.close()
            raise SourceFault(f"rtl_tcp stream from {self.info.description} broke ({exc})") from None
        # a stream slower than the sample clock lost samples on the way (server queue, network stall)
        self.counters.samples_dropped += self._clock.after_read(num_samples)
        self.counters.samples_in += num_samples
        return to_complex64(np.frombuffer(raw, np.uint8), "cu8")
