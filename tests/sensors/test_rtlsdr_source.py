"""The RTL-SDR source on a fake pyrtlsdr: the dongle picked by index or serial, gains on the tuner's steps,
the bias-tee, and a node that throws away each retune's settling samples before its detector sees any."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import sensors.node
from dsp.detector import Detector
from sensors.config import load_sensor_config
from sensors.sources import SourceFault
from sensors.sources.base import R820T_GAINS_DB
from sensors.sources.rtlsdr import RtlSdrConfig, RtlSdrSource
from tests.sensors.harness import make_keys, running_node, write_config
from tests.support.fake_rtlsdr import UsbBus
from tests.support.mosquitto import MosquittoBroker

SERIALS = ["00000001", "00000042", "00000043"]


def _opened(monkeypatch: pytest.MonkeyPatch, **config: object) -> tuple[RtlSdrSource, UsbBus]:
    bus = UsbBus(serials=list(SERIALS)).install(monkeypatch)
    source = RtlSdrSource(RtlSdrConfig(**config))
    source.open()
    return source, bus


def test_rtlsdr_dongle_is_chosen_by_index(monkeypatch: pytest.MonkeyPatch) -> None:
    _, bus = _opened(monkeypatch, device_index=2)
    assert [d.device_index for d in bus.opened] == [2], "the third dongle on the bus, and only it"


def test_rtlsdr_dongle_is_chosen_by_serial_before_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    source, bus = _opened(monkeypatch, serial="00000042", device_index=0)
    assert [d.device_index for d in bus.opened] == [1], "the dongle whose EEPROM says 00000042"
    assert source.info.description == "serial 00000042", "status names the dongle the way the fitter set it"


def test_rtlsdr_gain_snaps_to_the_tuners_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    source, bus = _opened(monkeypatch)
    device = bus.opened[-1]
    assert device.manual_gain, "the tuner's AGC is off: the node manages gain per band"
    assert source.gains_db() == sorted(R820T_GAINS_DB), "librtlsdr's tenths of dB, in dB"
    assert source.set_gain(30.0) == 29.7 and device.gain == 29.7, "30 dB is no R820T step; 29.7 dB is the nearest"
    assert source.set_gain(60.0) == 49.6 and device.gain == 49.6, "above the top step: the top step"
    assert source.set_gain(-3.0) == 0.0 and device.gain == 0.0


@pytest.mark.parametrize("bias_tee", [True, False])
def test_rtlsdr_bias_tee_is_on_only_when_configured(monkeypatch: pytest.MonkeyPatch, bias_tee: bool) -> None:
    _, bus = _opened(monkeypatch, bias_tee=bias_tee)
    assert bus.opened[-1].bias_tee is bias_tee, "an LNA is powered through the coax only when asked"


def test_rtlsdr_tune_returns_the_frequency_the_tuner_set(monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = _opened(monkeypatch, sample_rate_hz=2.4e6)
    assert source.tune(897_400_000.4) == 897_400_000.0


def test_rtlsdr_without_a_dongle_is_a_retryable_fault_naming_the_blacklist(monkeypatch: pytest.MonkeyPatch) -> None:
    UsbBus(serials=[]).install(monkeypatch)
    with pytest.raises(SourceFault, match="dvb_usb_rtl28xxu"):
        RtlSdrSource(RtlSdrConfig()).open()
    with pytest.raises(SourceFault, match="serial 0042"):
        RtlSdrSource(RtlSdrConfig(serial="0042")).open()


def test_node_discards_the_settling_samples_after_every_retune(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each retune is followed by 10 ms of full-scale transient on the fake dongle, exactly the node's settle_s:
    the node reads and drops them, so neither the detector nor the clipping count (and with it the gain and
    the reports) ever sees one."""
    make_keys(tmp_path)
    config = load_sensor_config(write_config(tmp_path, mosquitto.port, source={"kind": "rtlsdr"}))
    fs = config.source.sample_rate_hz
    bus = UsbBus(transient_samples=round(config.scan.settle_s * fs)).install(monkeypatch)
    heard_peaks: list[float] = []
    clipped: list[float] = []
    process, clipped_fraction = Detector.process, sensors.node.clipped_fraction

    def spy_process(detector: Detector, block: np.ndarray) -> list:
        heard_peaks.append(float(np.abs(block).max()))
        return process(detector, block)

    def spy_clipped(samples: np.ndarray) -> float:
        clipped.append(clipped_fraction(samples))
        return clipped[-1]

    monkeypatch.setattr(Detector, "process", spy_process)
    monkeypatch.setattr(sensors.node, "clipped_fraction", spy_clipped)
    with running_node(tmp_path / "sensor.yaml", config) as running:
        deadline = time.monotonic() + 30
        while running.node.counts.dwells < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        dwells = running.node.counts.dwells
    assert dwells >= 8, f"the node scanned ({dwells} dwells in 30 s)"
    assert bus.opened[-1].transient_served >= dwells * bus.transient_samples, "every dwell began with a transient"
    assert heard_peaks and max(heard_peaks) < 0.5, f"the detector saw a transient sample (peak {max(heard_peaks)})"
    assert max(clipped) == 0.0, "no settling sample was counted as clipping, so the gain was not backed off"
