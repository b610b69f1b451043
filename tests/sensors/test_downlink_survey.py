"""Downlink survey: a base station's carrier is found and paired with the uplink its phones use."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cellward.cli import app
from dsp.band_plan import BandPlan
from sensors.downlink_survey import survey_downlinks
from sim.signals import non_phone
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from tests.sensors.harness import make_keys, write_config

FS = 2.4e6


class DownlinkWorld:
    """A source whose air holds one 5 MHz LTE downlink at 806 MHz (B20, uplink 847 MHz) and a GSM-like
    200 kHz carrier at 947.6 MHz (B8, uplink 902.6 MHz)."""

    def __init__(self) -> None:
        from sensors.sources.base import SourceCounters, SourceInfo

        self.info = SourceInfo("test", "downlink world", FS, 24e6, 1766e6)
        self.counters = SourceCounters()
        self._freq = 0.0
        self._rng = np.random.default_rng(4)
        self.tunings: list[float] = []

    def tune(self, freq_hz: float) -> float:
        self._freq = freq_hz
        self.tunings.append(freq_hz)
        return freq_hz

    def read(self, n: int) -> np.ndarray:
        scene = Scene(FS, self._freq, n / FS, Receiver(ppm=0.0), seed=int(self._rng.integers(1 << 30)))
        for centre, rbs in ((806e6, 25), (947.6e6, 1)):
            for part in np.arange(centre - rbs * 90e3 + 90e3, centre + rbs * 90e3, 180e3):
                if abs(part - self._freq) < FS / 2:
                    scene.add(non_phone.lte_downlink(FS, part, 1, 0.0, n / FS, 25.0, self._rng))
        samples, _ = scene.render_complex()
        return samples


@pytest.fixture(scope="module")
def carriers():
    return survey_downlinks(DownlinkWorld(), BandPlan.load(), bands=["B20", "B8"], capture_s=0.02)


def test_lte_downlink_is_found_and_mapped_to_its_uplink(carriers) -> None:
    b20 = [c for c in carriers if c.band == "B20"]
    assert len(b20) == 1, f"one B20 carrier on the air: {carriers}"
    carrier = b20[0]
    assert carrier.downlink_low_hz == pytest.approx(803.8e6, abs=300e3)
    assert carrier.downlink_high_hz == pytest.approx(808.2e6, abs=300e3)
    # B20 is reversed: uplink = downlink + 41 MHz
    assert carrier.uplink_low_hz == pytest.approx(carrier.downlink_low_hz + 41e6)
    assert "Vodafone" in carrier.operators, "847 MHz uplink lies in Vodafone's B20 block"


def test_narrow_carrier_is_one_channel_and_nothing_else_is_reported(carriers) -> None:
    b8 = [c for c in carriers if c.band == "B8"]
    assert len(b8) == 1, f"one B8 carrier on the air: {b8}"
    assert b8[0].downlink_high_hz - b8[0].downlink_low_hz <= 400e3
    assert b8[0].uplink_low_hz == pytest.approx(b8[0].downlink_low_hz - 45e6)


def test_survey_command_prints_carriers_as_json_lines(tmp_path) -> None:
    make_keys(tmp_path)
    source = {
        "kind": "scene",
        "realtime": False,
        "emitters": [{"technology": "tone", "freq_hz": 947.6e6, "snr_db": 40}],
    }
    config = write_config(tmp_path, 1883, source=source, scan={"bands": ["B8"]})
    result = CliRunner().invoke(app, ["sensor", "survey", "--config", str(config)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["band"] for r in records] == ["B8"]
    assert records[0]["uplink_low_hz"] == pytest.approx(902.5e6, abs=200e3), "947.6 MHz downlink pairs with 902.6"
