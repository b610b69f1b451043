"""False alarms over ten simulated minutes of noise and non-phone signals, heard as a sensor hears them.

The target (SYSTEM.md 4) is at most one phone-labelled false burst per sensor-hour, so ten minutes
must give none. Half the time the tuner sits on the SRD band at 865 MHz (LoRa, FSK telemetry, a spur,
impulses), half on the B20 uplink at 851 MHz with a drifting spur and impulses. The captures are
rendered a second at a time, back to back, with the spur continuous across them, and heard twice from
one rendering: in 90 ms dwells with the detector restarted for each, as a sensor node runs it (every
dwell's first and last frames cut whatever is on the air), and through one detector throughout, as
`cellward detect` reads a long recording. (Downlink leakage is covered by the development recordings'
lte_dl clip and the band-plan rule tests.) The scenes are `cellward bench false-alarms`'s, which runs
them for as long as asked (a sensor-hour by default).
"""

from __future__ import annotations

import pytest

from cellward.bench_false_alarms import run_scene

SECONDS_PER_TUNING = 300


@pytest.mark.slow
@pytest.mark.parametrize("scene", ["srd-band", "b20-uplink"])
def test_five_minutes_of_non_phone_signals_give_no_phone_bursts(scene: str) -> None:
    run = run_scene(scene, SECONDS_PER_TUNING, seed=7, stop_at_first=True)  # one is already too many
    assert run.phone_labelled == (), (
        f"phone-labelled false bursts in 90 ms dwells within {run.seconds} s: {run.phone_labelled[:3]}"
    )
    assert run.continuous is not None and run.continuous.phone_labelled == (), (
        f"phone-labelled false bursts heard continuously within {run.seconds} s: {run.continuous}"
    )
    assert run.transmitted >= 3 * SECONDS_PER_TUNING, "confusers must be on the air for this to mean anything"
