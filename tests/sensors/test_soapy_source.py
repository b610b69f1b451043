"""The SoapySDR source against a fake `SoapySDR` module (the bindings' API): open, tune, gain, read, and a
device that goes away becoming a SourceFault the node retries, never an exception that escapes its loop."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import numpy as np
import pytest

from sensors.sources import SourceFault
from sensors.sources.soapy import SoapyConfig, SoapySource

RX, CF32 = 1, "CF32"
MAX_READ = 4096  # elements one readStream call returns, as a driver's MTU would


class Range:
    def __init__(self, low: float, high: float) -> None:
        self._low, self._high = low, high

    def minimum(self) -> float:
        return self._low

    def maximum(self) -> float:
        return self._high


class StreamResult:
    def __init__(self, ret: int) -> None:
        self.ret = ret


class FakeDevice:
    """A HackRF-like device: 1 MHz-6 GHz, gain 0-62 dB, samples k/1e6 + 0j counting up across reads."""

    last: FakeDevice | None = None

    def __init__(self, args: str) -> None:
        self.args = args
        self.settings: dict[str, object] = {}
        self.active = False
        self.unplugged = False
        self.corrupt = False  # a transfer that delivers a NaN
        self._next = 0
        FakeDevice.last = self

    def _alive(self) -> None:
        if self.unplugged:
            raise RuntimeError("SoapySDR::Device: LIBUSB_ERROR_NO_DEVICE")

    def setSampleRate(self, direction: int, channel: int, rate: float) -> None:  # noqa: N802 - SoapySDR's names
        self.settings["rate"] = rate

    def setAntenna(self, direction: int, channel: int, name: str) -> None:  # noqa: N802
        self.settings["antenna"] = name

    def setGainMode(self, direction: int, channel: int, automatic: bool) -> None:  # noqa: N802
        self.settings["agc"] = automatic

    def getFrequencyRange(self, direction: int, channel: int) -> list[Range]:  # noqa: N802
        return [Range(1e6, 3e9), Range(3e9, 6e9)]

    def getGainRange(self, direction: int, channel: int) -> Range:  # noqa: N802
        return Range(0.0, 62.0)

    def setupStream(self, direction: int, fmt: str) -> str:  # noqa: N802
        assert (direction, fmt) == (RX, CF32), "one RX channel of complex float32"
        return "rx0"

    def activateStream(self, stream: str) -> None:  # noqa: N802
        self.active = True

    def deactivateStream(self, stream: str) -> None:  # noqa: N802
        self._alive()
        self.active = False

    def closeStream(self, stream: str) -> None:  # noqa: N802
        pass

    def setFrequency(self, direction: int, channel: int, freq_hz: float) -> None:  # noqa: N802
        self._alive()
        self.settings["freq"] = round(freq_hz / 1e3) * 1e3  # the synthesiser's 1 kHz step

    def getFrequency(self, direction: int, channel: int) -> float:  # noqa: N802
        self._alive()
        return float(self.settings["freq"])  # type: ignore[arg-type]

    def setGain(self, direction: int, channel: int, gain_db: float) -> None:  # noqa: N802
        self._alive()
        self.settings["gain"] = gain_db

    def readStream(self, stream: str, buffs: list[np.ndarray], num: int, timeoutUs: int = 100_000) -> StreamResult:  # noqa: N802
        self._alive()
        n = min(num, MAX_READ)
        buffs[0][:n] = (self._next + np.arange(n)) / 1e6
        if self.corrupt:
            buffs[0][n // 2] = complex(np.nan, 0.0)
        self._next += n
        return StreamResult(n)


@pytest.fixture
def soapy(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    module = types.ModuleType("SoapySDR")
    module.SOAPY_SDR_RX, module.SOAPY_SDR_CF32, module.Device = RX, CF32, FakeDevice  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "SoapySDR", module)
    yield module
    FakeDevice.last = None


def _opened() -> tuple[SoapySource, FakeDevice]:
    source = SoapySource(SoapyConfig(device="driver=hackrf", sample_rate_hz=2.4e6, antenna="TX/RX"))
    source.open()
    assert FakeDevice.last is not None
    return source, FakeDevice.last


def test_soapy_device_opens_tunes_sets_gain_and_reads(soapy: types.ModuleType) -> None:
    source, device = _opened()
    assert device.args == "driver=hackrf" and device.active, "the configured device, its RX stream running"
    assert device.settings == {"rate": 2.4e6, "antenna": "TX/RX", "agc": False}, "manual gain: the node manages it"
    assert (source.info.freq_min_hz, source.info.freq_max_hz) == (1e6, 6e9), "the range the device reports"
    assert source.tune(1_850_200_400.0) == 1_850_200_000.0, "tune returns the frequency the device really set"
    assert source.set_gain(75.0) == 62.0 and device.settings["gain"] == 62.0, "gain held inside the device's range"
    samples = source.read(10_000)
    assert samples.dtype == np.complex64
    np.testing.assert_array_equal(samples.real, np.arange(10_000, dtype=np.float32) / 1e6, "short reads joined")
    assert source.counters.samples_in == 10_000


@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("tune", lambda s: s.tune(1_850e6)),
        ("set gain", lambda s: s.set_gain(30.0)),
        ("read", lambda s: s.read(1000)),
    ],
)
def test_soapy_device_that_goes_away_is_a_source_fault(soapy: types.ModuleType, what: str, call) -> None:
    source, device = _opened()
    device.unplugged = True
    with pytest.raises(SourceFault, match=f"SoapySDR {what}.*failed.*LIBUSB_ERROR_NO_DEVICE"):
        call(source)
    assert source.counters.usb_errors == 1, "counted for stats and /metrics"
    source.close()  # releasing a device that is gone does not raise either


def test_a_read_holding_nan_or_infinity_is_a_source_fault_not_samples(soapy: types.ModuleType) -> None:
    source, device = _opened()
    device.corrupt = True
    with pytest.raises(SourceFault, match="NaN or infinite"):
        source.read(10_000)
    assert source.counters.usb_errors == 1 and source.counters.samples_in == 0
