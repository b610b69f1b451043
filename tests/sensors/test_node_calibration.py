"""The node measures its dongle's frequency error on a downlink carrier at start-up and every `interval_s`,
tunes by it, and says so in its retained status."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

import pytest

from sensors.config import load_sensor_config
from sensors.freq_calibration import capture_tuning_hz, corrected_tuning_hz
from sensors.sources.scene import SceneSource
from tests.sensors.harness import GSM_CARRIER_HZ, Listener, make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker

BCCH_HZ = 942.4e6  # a B8 downlink carrier near the site
DONGLE_PPM = 23.0
INTERVAL_S = 61.0  # the shortest the config allows
SLOT_S = 2.0  # node time runs a slot per dwell (the source runs flat out): an interval is ~31 dwells


def test_node_calibrates_at_start_up_and_every_interval_and_reports_it(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_keys(tmp_path)
    source = {
        "kind": "scene",
        "realtime": False,
        "ppm": DONGLE_PPM,
        "emitters": [{"technology": "gsm_bcch", "freq_hz": BCCH_HZ, "snr_db": 20}],
    }
    scan = {"bands": ["B8"], "range_hz": [GSM_CARRIER_HZ - 1e6, GSM_CARRIER_HZ + 1e6], "slot_s": SLOT_S}
    calibration = {"references_hz": [BCCH_HZ], "method": "gsm_fcch", "interval_s": INTERVAL_S}
    path = write_config(tmp_path, mosquitto.port, source=source, scan=scan, frequency_calibration=calibration)
    tuned_hz: list[float] = []
    tune = SceneSource.tune

    def recording_tune(self: SceneSource, freq_hz: float) -> float:
        tuned_hz.append(freq_hz)
        return tune(self, freq_hz)

    monkeypatch.setattr(SceneSource, "tune", recording_tune)
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(path, load_sensor_config(path)) as running:
            deadline = time.monotonic() + 60
            while tuned_hz.count(capture_tuning_hz(BCCH_HZ)) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            running.stop()
        listener.wait_for(lambda lst: lst.of("status")[-1]["state"] == "stopping", 10, "the last status")
    finally:
        listener.close()

    is_capture = [f == capture_tuning_hz(BCCH_HZ) for f in tuned_hz]
    starts = [i for i, capture in enumerate(is_capture) if capture]
    assert len(starts) >= 3, f"three measurements within 60 s, saw {len(starts)}"
    assert starts[0] == 0, "the first measurement comes before the first dwell"
    for before, after in pairwise(starts):
        dwells = after - before - 1
        # node time moves a slot at a time, and the first slot may start up to a slot before start-up
        assert INTERVAL_S <= dwells * SLOT_S <= INTERVAL_S + 3 * SLOT_S, (
            f"{dwells} dwells of {SLOT_S} s between measurements: once every {INTERVAL_S} s of node time"
        )
    corrected = corrected_tuning_hz(GSM_CARRIER_HZ, DONGLE_PPM)
    dwell_hz = tuned_hz[starts[0] + 1]
    assert dwell_hz == pytest.approx(corrected, abs=200), "the dwells tune by the measured error (1 Hz = 0.001 ppm)"

    statuses = listener.of("status")
    assert statuses[0]["calibration"]["method"] == "none", "nothing is claimed before a measurement"
    assert "calibrating" in [m["state"] for m in statuses], "the control room sees the node measuring"
    measured = statuses[-1]["calibration"]
    assert measured["method"] == "gsm_fcch" and measured["reference_hz"] == BCCH_HZ, measured
    assert measured["ppm"] == pytest.approx(DONGLE_PPM, abs=0.05), f"measured {measured['ppm']} ppm"
    assert measured["measured_at"] is not None, "when it was measured, so a stale figure shows"
