"""RTL-SDR over USB through pyrtlsdr: device by index or serial, gain, bias-tee; errors a fitter can act on."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cellward.recording import to_complex64
from sensors.sources.base import SourceCounters, SourceError, SourceFault, SourceInfo, nearest_gain
from sensors.sources.pacing import StreamClock

RTLSDR_RANGE_HZ = (24e6, 1766e6)  # R820T2 / R828D tuners


class RtlSdrConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["rtlsdr"] = "rtlsdr"
    device_index: int | None = Field(default=None, ge=0, description="USB device index (0 = first dongle)")
    serial: str | None = Field(default=None, description="device serial (rtl_eeprom -s), preferred over the index")
    sample_rate_hz: float = Field(default=2.4e6, gt=0.9e6, le=3.2e6, description="2.4 MS/s is reliable on a Pi")
    bias_tee: bool = Field(default=False, description="power an LNA through the antenna cable (V3/V4 only)")


def load_rtlsdr_library() -> Any:
    """The pyrtlsdr RtlSdr class, or SourceError saying what is missing (no traceback for the fitter)."""
    try:
        from rtlsdr import RtlSdr
    except ImportError as exc:
        raise SourceError(
            f"pyrtlsdr or librtlsdr is missing ({exc}); install the rtl-sdr package (apt-get install rtl-sdr) "
            "and `pip install pyrtlsdr`"
        ) from None
    except (OSError, AttributeError) as exc:
        # pyrtlsdr binds every librtlsdr symbol at import; an old or absent library fails here.
        raise SourceError(
            f"librtlsdr cannot be used by pyrtlsdr ({exc}); install a librtlsdr that matches pyrtlsdr "
            "(the RTL-SDR Blog build of rtl-sdr, or pin an older pyrtlsdr)"
        ) from None
    return RtlSdr


class RtlSdrSource:
    """An RTL2832U dongle: raw cu8 from pyrtlsdr, handed out as complex64 in [-1, 1]."""

    def __init__(self, config: RtlSdrConfig, library_loader=load_rtlsdr_library) -> None:
        self.config = config
        self._load = library_loader
        self._device: Any = None
        which = f"serial {config.serial}" if config.serial else f"index {config.device_index or 0}"
        self.info = SourceInfo("rtlsdr", which, config.sample_rate_hz, *RTLSDR_RANGE_HZ)
        self.counters = SourceCounters()
        self.first_sample_s: float | None = None
        self._gains: list[float] = []
        self._clock = StreamClock(config.sample_rate_hz)

    def open(self) -> None:
        RtlSdr = self._load()
        try:
            index = self.config.device_index or 0
            if self.config.serial:
                index = RtlSdr.get_device_index_by_serial(self.config.serial)
            device = RtlSdr(device_index=index)
        except (OSError, LookupError, ValueError) as exc:
            raise SourceFault(
                f"RTL-SDR {self.info.description} not found or busy ({exc}): check it is plugged in, that "
                "dvb_usb_rtl28xxu is blacklisted and that no other program holds it"
            ) from None
        try:
            device.sample_rate = self.config.sample_rate_hz
            device.set_manual_gain_enabled(True)
            if self.config.bias_tee:
                device.set_bias_tee(True)
            self._gains = sorted(g / 10 for g in device.get_gains())
        except (OSError, AttributeError) as exc:
            device.close()
            raise SourceFault(f"RTL-SDR {self.info.description} refused its settings ({exc})") from None
        self._device = device

    def close(self) -> None:
        if self._device is not None:
            with contextlib.suppress(OSError):  # already gone (unplugged): nothing to release
                self._device.close()
            self._device = None

    def _require(self) -> Any:
        if self._device is None:
            raise SourceFault("RTL-SDR is not open")
        return self._device

    def tune(self, freq_hz: float) -> float:
        device = self._require()
        try:
            device.center_freq = freq_hz
            self._clock.restart()
            return float(device.center_freq)
        except OSError as exc:
            self.counters.usb_errors += 1
            raise SourceFault(f"RTL-SDR tune to {freq_hz / 1e6:.3f} MHz failed ({exc})") from None

    def gains_db(self) -> list[float]:
        return list(self._gains)

    def set_gain(self, gain_db: float) -> float:
        device = self._require()
        gain = nearest_gain(self._gains, gain_db) if self._gains else gain_db
        try:
            device.gain = gain
        except OSError as exc:
            self.counters.usb_errors += 1
            raise SourceFault(f"RTL-SDR set gain failed ({exc})") from None
        return gain

    def read(self, num_samples: int) -> np.ndarray:
        device = self._require()
        try:
            # the raw bytes, converted by our numba kernel: pyrtlsdr's read_samples goes through float64
            # and costs 15 times as much (2.3 ms against 0.15 ms per 90 ms dwell)
            raw = device.read_bytes(2 * num_samples)
        except OSError as exc:
            self.counters.usb_errors += 1
            raise SourceFault(f"RTL-SDR read failed, dongle unplugged? ({exc})") from None
        # a read that took longer than its samples last (beyond the transfer buffers) means the dongle's
        # FIFO overran while the host was away: those samples are gone (librtlsdr does not say so itself)
        self.counters.samples_dropped += self._clock.after_read(num_samples)
        self.counters.samples_in += num_samples
        return to_complex64(np.frombuffer(raw, np.uint8), "cu8")
