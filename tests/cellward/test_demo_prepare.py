from __future__ import annotations

import yaml

from cellward.demo import IQ_SAMPLE_RATE_HZ, prepare
from cellward.site import load_site, reference_site_path
from sim.feed import simulated_dongle_calibration


def test_the_demos_iq_mode_nodes_carry_their_simulated_dongles_power_calibration(tmp_path):
    """Uncalibrated (the -12 dBm of a typical R820T2), an IQ-mode node read every level about 20 dB above the
    event-mode nodes beside it, and the locator placed phones near it that were not there."""
    demo = prepare(tmp_path, "A1-2,A1-4", None)
    seed = yaml.safe_load(demo.scenario.read_text(encoding="utf-8"))["seed"]
    site = load_site(reference_site_path())
    for sensor_id in ("A1-2", "A1-4"):
        config = yaml.safe_load(demo.provisioned.sensor_configs[sensor_id].read_text(encoding="utf-8"))
        assert config["source"]["sample_rate_hz"] == IQ_SAMPLE_RATE_HZ
        written = config["power_calibration"]["dbfs_to_dbm_at_0db"]
        assert written == round(simulated_dongle_calibration(site, seed, sensor_id, IQ_SAMPLE_RATE_HZ), 2)
        assert -40.0 < written < -28.0
    event_mode = yaml.safe_load(demo.provisioned.sensor_configs["B1-1"].read_text(encoding="utf-8"))
    assert "power_calibration" not in event_mode
