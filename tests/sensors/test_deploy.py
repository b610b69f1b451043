"""The deployment files agree with the code: the example config loads, the unit uses the watchdog."""

from __future__ import annotations

from pathlib import Path

from sensors.config import load_sensor_config

DEPLOY = Path(__file__).resolve().parents[2] / "sensors" / "deploy"


def test_example_sensor_config_is_valid() -> None:
    config = load_sensor_config(DEPLOY / "sensor.example.yaml")
    assert config.source.kind == "rtlsdr" and config.mqtt.tls is not None, "the example shows the secure set-up"
    assert config.signing_key == DEPLOY / "A-2-01.pem", "relative paths are anchored to the config file"


def test_systemd_unit_is_a_notify_service_with_a_watchdog() -> None:
    unit = (DEPLOY / "cellward-sensor.service").read_text()
    for line in ("Type=notify", "WatchdogSec=30", "Restart=always", "cellward sensor run --config"):
        assert line in unit, f"the unit needs {line!r}"


def test_the_dvb_driver_that_grabs_the_dongle_is_blacklisted() -> None:
    assert "blacklist dvb_usb_rtl28xxu" in (DEPLOY / "blacklist-rtl-sdr.conf").read_text()
    assert 'ATTRS{idProduct}=="2838"' in (DEPLOY / "20-rtlsdr.rules").read_text()
