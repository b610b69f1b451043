"""`cellward bench system` reads how many reports the fleets made from the end of their logs."""

from __future__ import annotations

from pathlib import Path

from cellward.bench_system import TAIL_BYTES, offered_reports


def test_offered_reports_are_each_fleets_last_total_summed_however_long_its_log(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    filler = "INFO cellward.sensor.mqtt mqtt_connected sensor=A0-1\n" * (2 * TAIL_BYTES // 50)
    windows = "".join(f"INFO event=window site=s t_s={t} reports_total={100 * t}\n" for t in range(1, 6))
    (logs / "fleet-0.log").write_text(filler + windows + filler[:2000])
    (logs / "fleet-1.log").write_text("INFO event=window site=s t_s=1 reports_total=7\n")
    assert offered_reports(tmp_path, 2) == 500 + 7
    assert offered_reports(tmp_path, 3) == 507, "a fleet that has not logged yet has made nothing"
