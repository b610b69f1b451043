"""The host figures for stats and /metrics: the Pi's SoC temperature read from its thermal zone."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensors import system_health
from sensors.system_health import temperature_c


def test_pi_soc_temperature_is_read_in_degrees_from_millidegrees(tmp_path: Path) -> None:
    zone = tmp_path / "temp"
    zone.write_text("61250\n")  # /sys/class/thermal/thermal_zone0/temp on a warm Pi 4
    assert temperature_c(zone) == 61.25


def test_the_default_zone_is_read_at_each_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zone = tmp_path / "temp"
    zone.write_text("47000\n")
    monkeypatch.setattr(system_health, "THERMAL_ZONE", zone)
    assert temperature_c() == 47.0
    zone.write_text("72500\n")
    assert temperature_c() == 72.5, "a heating Pi shows in the next stats, not the reading at start-up"


@pytest.mark.parametrize("content", [None, "", "n/a\n"])
def test_no_readable_thermal_zone_is_none_not_an_error(tmp_path: Path, content: str | None) -> None:
    zone = tmp_path / "temp"
    if content is not None:
        zone.write_text(content)
    assert temperature_c(zone) is None, "a PC or a container has no SoC sensor: stats say null, /metrics NaN"
