"""SoapySDR front ends (HackRF, Airspy, Pluto, LimeSDR, USRP) for the bands an RTL-SDR cannot reach."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sensors.sources.base import SourceCounters, SourceError, SourceFault, SourceInfo


class SoapyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["soapy"] = "soapy"
    device: str = Field(default="", description="SoapySDR device arguments, e.g. 'driver=hackrf' or 'driver=lime'")
    sample_rate_hz: float = Field(default=2.4e6, gt=0)
    antenna: str | None = Field(default=None, description="RX antenna port name, when the device has several")


def load_soapy_library() -> Any:
    try:
        import SoapySDR
    except ImportError:
        raise SourceError(
            "SoapySDR Python bindings are not installed: apt-get install python3-soapysdr plus the module for "
            "your device (soapysdr-module-hackrf, -airspy, -lms7, -uhd, -plutosdr), and create the "
            "virtualenv with --system-site-packages so it can see them"
        ) from None
    return SoapySDR


class SoapySource:
    """One RX channel of a SoapySDR device, complex float32 samples."""

    def __init__(self, config: SoapyConfig, library_loader=load_soapy_library) -> None:
        self.config = config
        self._load = library_loader
        self._soapy: Any = None
        self._device: Any = None
        self._stream: Any = None
        self.counters = SourceCounters()
        self.first_sample_s: float | None = None
        self.info = SourceInfo("soapy", config.device or "first device", config.sample_rate_hz, 0.0, 6e9)
        self._gain_range = (0.0, 60.0)

    def open(self) -> None:
        soapy = self._load()
        self._soapy = soapy
        try:
            device = soapy.Device(self.config.device)
            device.setSampleRate(soapy.SOAPY_SDR_RX, 0, self.config.sample_rate_hz)
            if self.config.antenna:
                device.setAntenna(soapy.SOAPY_SDR_RX, 0, self.config.antenna)
            device.setGainMode(soapy.SOAPY_SDR_RX, 0, False)
            freq = device.getFrequencyRange(soapy.SOAPY_SDR_RX, 0)
            gain = device.getGainRange(soapy.SOAPY_SDR_RX, 0)
            self._gain_range = (gain.minimum(), gain.maximum())
            self.info = SourceInfo(
                "soapy",
                self.config.device or "first device",
                self.config.sample_rate_hz,
                min(r.minimum() for r in freq),
                max(r.maximum() for r in freq),
            )
            stream = device.setupStream(soapy.SOAPY_SDR_RX, soapy.SOAPY_SDR_CF32)
            device.activateStream(stream)
        except (RuntimeError, ValueError) as exc:
            raise SourceFault(f"SoapySDR device {self.config.device!r} not available ({exc})") from None
        self._device, self._stream = device, stream

    def close(self) -> None:
        if self._device is not None and self._stream is not None:
            with contextlib.suppress(RuntimeError):  # device already gone
                self._device.deactivateStream(self._stream)
                self._device.closeStream(self._stream)
        self._device = self._stream = None

    def _require(self) -> Any:
        if self._device is None:
            raise SourceFault("SoapySDR source is not open")
        return self._device

    def _failed(self, what: str, exc: Exception) -> SourceFault:
        # SoapySDR's bindings raise RuntimeError for a device that went away: a fault the node retries
        self.counters.usb_errors += 1
        return SourceFault(f"SoapySDR {what} failed, device unplugged? ({exc})")

    def tune(self, freq_hz: float) -> float:
        device = self._require()
        try:
            device.setFrequency(self._soapy.SOAPY_SDR_RX, 0, freq_hz)
            return float(device.getFrequency(self._soapy.SOAPY_SDR_RX, 0))
        except RuntimeError as exc:
            raise self._failed(f"tune to {freq_hz / 1e6:.3f} MHz", exc) from None

    def gains_db(self) -> list[float]:
        low, high = self._gain_range
        return [float(g) for g in np.arange(low, high + 0.5, 1.0)]

    def set_gain(self, gain_db: float) -> float:
        device = self._require()
        gain = float(np.clip(gain_db, *self._gain_range))
        try:
            device.setGain(self._soapy.SOAPY_SDR_RX, 0, gain)
        except RuntimeError as exc:
            raise self._failed("set gain", exc) from None
        return gain

    def read(self, num_samples: int) -> np.ndarray:
        device = self._require()
        out = np.empty(num_samples, np.complex64)
        got = 0
        while got < num_samples:
            try:
                result = device.readStream(self._stream, [out[got:]], num_samples - got, timeoutUs=1_000_000)
            except RuntimeError as exc:
                raise self._failed("read", exc) from None
            if result.ret < 0:
                self.counters.usb_errors += 1
                raise SourceFault(f"SoapySDR read failed (error {result.ret})")
            got += result.ret
        if not np.isfinite(out.view(np.float32)).all():  # passed on, they would blind the detector's floor
            self.counters.usb_errors += 1
            raise SourceFault("SoapySDR delivered samples that are NaN or infinite: a corrupt transfer")
        self.counters.samples_in += num_samples
        return out
