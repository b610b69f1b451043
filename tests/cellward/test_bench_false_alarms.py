"""`cellward bench false-alarms`: its rate arithmetic, its split of the time between scenes, its bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cellward import bench_false_alarms as bench
from dsp.burst import Burst


def test_a_count_becomes_a_rate_per_sensor_hour() -> None:
    assert bench.per_sensor_hour(1, 3600.0) == 1.0
    assert bench.per_sensor_hour(1, 600.0) == 6.0  # one in ten minutes is six an hour
    assert bench.per_sensor_hour(0, 60.0) == 0.0
    with pytest.raises(ValueError, match="positive"):
        bench.per_sensor_hour(1, 0.0)


def fake_run(seconds_seen: list[tuple[str, int]], phone_labelled: int) -> Callable[..., bench.SceneRun]:
    """run_scene that records what it was asked and reports `phone_labelled` bursts per scene."""

    def run_scene(name: str, seconds: int, seed: int = 7, **_: object) -> bench.SceneRun:
        seconds_seen.append((name, seconds))
        burst = Burst(1.0, 5e-4, 851e6, 180e3, power_dbfs=-60.0, snr_db=7.0, energy_dbfs_s=-93.0, technology="lte")
        return bench.SceneRun(name, seconds, 3 * seconds, 10, (burst,) * phone_labelled)

    return run_scene


def test_the_minutes_are_shared_by_the_scenes_and_the_rate_counts_both(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(bench, "run_scene", fake_run(seen, phone_labelled=1))
    assert bench.run_bench(60.0, seed=7) == 0
    assert seen == [("srd-band", 1800), ("b20-uplink", 1800)]
    assert "total 3600 s (60 min): 2 phone-labelled, 2.00 per sensor-hour" in capsys.readouterr().out
    seen.clear()
    bench.run_bench(10.0, seed=7, scenes=("b20-uplink",))
    assert seen == [("b20-uplink", 600)]
    assert "1 phone-labelled, 6.00 per sensor-hour" in capsys.readouterr().out


@pytest.mark.parametrize(("minutes", "scenes"), [(0.0, ("srd-band",)), (5.0, ("fm-broadcast",)), (5.0, ())])
def test_bad_minutes_or_scenes_are_refused(minutes: float, scenes: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"minutes must be positive|scenes must be some of"):
        bench.run_bench(minutes, seed=7, scenes=scenes)


def test_two_seconds_of_a_scene_put_confusers_on_the_air_and_no_phone() -> None:
    run = bench.run_scene("srd-band", 2, seed=7)
    assert run.seconds == 2 and run.transmitted >= 6
    assert run.phone_labelled == ()
