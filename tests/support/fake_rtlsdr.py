"""A fake `rtlsdr` module (pyrtlsdr's API) standing in for the USB bus and its dongles in tests.

Dongles are found by index or by serial, offer the R820T gain table, switch a bias-tee, and deliver cu8
bytes no faster than their sample clock. What a read returns tells what the tuner was doing: after each
retune, `transient_samples` samples of full-scale bytes (the PLL still settling, far above anything a
dwell should see), then noise a few LSB around mid-scale.
"""

from __future__ import annotations

import sys
import time
import types
from dataclasses import dataclass, field

import numpy as np
import pytest

from sensors.sources.base import R820T_GAINS_DB

NOISE_LSB = 4.0  # the steady stream's noise, in ADC steps


class FakeRtlSdr:
    """One dongle, as pyrtlsdr's RtlSdr presents it; `bus` is set on the subclass each UsbBus makes."""

    bus: UsbBus

    @classmethod
    def get_device_index_by_serial(cls, serial: str) -> int:
        if serial not in cls.bus.serials:
            raise OSError(f"LibUSBError -1: no device with serial {serial}")
        return cls.bus.serials.index(serial)

    def __init__(self, device_index: int = 0) -> None:
        if device_index >= len(self.bus.serials):
            raise OSError(f"Error code -1: Could not open SDR (device index = {device_index})")
        self.device_index = device_index
        self.sample_rate = 2.048e6
        self.gain = 0.0
        self.manual_gain = False
        self.bias_tee = False
        self.transient_served = 0  # samples of retune transient handed out
        self._centre_hz = 100e6
        self._since_tune = 0
        self._rng = np.random.default_rng(device_index)
        self.bus.opened.append(self)

    @property
    def center_freq(self) -> float:
        return self._centre_hz

    @center_freq.setter
    def center_freq(self, freq_hz: float) -> None:
        self._centre_hz = float(round(freq_hz))  # the tuner's 1 Hz step
        self._since_tune = 0

    def set_manual_gain_enabled(self, enabled: bool) -> None:
        self.manual_gain = enabled

    def get_gains(self) -> list[int]:
        return [round(g * 10) for g in R820T_GAINS_DB]  # tenths of dB, as librtlsdr reports them

    def set_bias_tee(self, enabled: bool) -> None:
        self.bias_tee = enabled

    def read_bytes(self, num_bytes: int) -> bytes:
        n = num_bytes // 2
        time.sleep(n / self.sample_rate + self.bus.read_delay_s)
        iq = np.clip(np.round(127.5 + NOISE_LSB * self._rng.standard_normal(2 * n)), 0, 255).astype(np.uint8)
        transient = max(0, min(n, self.bus.transient_samples - self._since_tune))
        iq[: 2 * transient] = 255
        self._since_tune += n
        self.transient_served += transient
        return iq.tobytes()

    def close(self) -> None:
        pass


@dataclass
class UsbBus:
    """The dongles plugged in (by serial, in index order) and how they behave; `opened` lists every open."""

    serials: list[str] = field(default_factory=lambda: ["00000001"])
    transient_samples: int = 0
    read_delay_s: float = 0.0  # each read takes this much longer than its samples last (the host was away)
    opened: list[FakeRtlSdr] = field(default_factory=list)

    def module(self) -> types.ModuleType:
        module = types.ModuleType("rtlsdr")
        module.RtlSdr = type("RtlSdr", (FakeRtlSdr,), {"bus": self})  # type: ignore[attr-defined]
        return module

    def install(self, monkeypatch: pytest.MonkeyPatch) -> UsbBus:
        """Make `import rtlsdr` find this bus's fake module for the rest of the test."""
        monkeypatch.setitem(sys.modules, "rtlsdr", self.module())
        return self
