"""`cellward bench false-alarms`: phone-labelled bursts over simulated time with no phone on the air.

The target (SYSTEM.md 4) is at most one phone-labelled false burst per sensor-hour. Half the time the
tuner sits on the SRD band at 865 MHz (LoRa, FSK telemetry, a spur, impulses), half on the B20 uplink at
851 MHz with a drifting spur and impulses: the two scenes of `tests/dsp/test_false_alarms.py`, which runs
five minutes of each and this bench as long as asked. Each scene is rendered a second at a time, back to
back, through one detector, with the spur continuous across the seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dsp.burst import Burst
from dsp.detector import Detector

if TYPE_CHECKING:
    from sim.signals.receiver import Receiver
    from sim.signals.scene import Scene

FS = 2.048e6
SRD_FC = 865.0e6
B20_FC = 851.0e6
PHONES = ("gsm", "lte", "nr")
SECONDS_PER_HOUR = 3600.0


def srd_second(t: float, rng: np.random.Generator, receiver: Receiver, spur_snr_db: float) -> Scene:
    """One second on the SRD band: a LoRa packet, a 2-GFSK telemetry frame, a CW spur, three impulses."""
    from sim.signals import non_phone
    from sim.signals.scene import Scene

    return Scene(FS, SRD_FC, 1.0, receiver, seed=int(t), start_s=t).add(
        non_phone.lora(
            FS, 864.3e6, int(rng.integers(7, 11)), t + float(rng.uniform(0, 0.5)), 20, float(rng.uniform(5, 25)), rng
        ),
        non_phone.gfsk(FS, 865.4e6, t + float(rng.uniform(0, 0.9)), 400, float(rng.uniform(5, 25)), rng),
        non_phone.cw(FS, 865.63e6, t, 1.0, spur_snr_db, rng),
        non_phone.impulses(FS, SRD_FC, list(t + rng.uniform(0, 1, 3)), float(rng.uniform(8, 25)), rng),
    )


def uplink_second(t: float, rng: np.random.Generator, receiver: Receiver, spur_snr_db: float) -> Scene:
    """One second of an empty B20 uplink: a drifting CW spur and four impulses."""
    from sim.signals import non_phone
    from sim.signals.scene import Scene

    return Scene(FS, B20_FC, 1.0, receiver, seed=int(t), start_s=t).add(
        non_phone.cw(FS, 851.37e6, t, 1.0, spur_snr_db, rng),
        non_phone.impulses(FS, B20_FC, list(t + rng.uniform(0, 1, 4)), float(rng.uniform(8, 25)), rng),
    )


SceneMaker = Callable[[float, np.random.Generator, "Receiver", float], "Scene"]
SCENES: dict[str, tuple[SceneMaker, float]] = {"srd-band": (srd_second, SRD_FC), "b20-uplink": (uplink_second, B20_FC)}


@dataclass(frozen=True)
class SceneRun:
    name: str
    seconds: int
    transmitted: int  # non-phone emissions on the air
    bursts: int  # everything the detector reported
    phone_labelled: tuple[Burst, ...]


def run_scene(name: str, seconds: int, seed: int = 7, stop_at_first: bool = False, progress_every: int = 0) -> SceneRun:
    """`seconds` of one scene through one detector; with `stop_at_first`, stop at the first phone-labelled burst.
    With `progress_every`, print the count so far every that many seconds (a long run can be read while it goes)."""
    from sim.signals.receiver import Receiver

    make_second, fc = SCENES[name]
    rng = np.random.default_rng(seed)
    receiver = Receiver.varied(rng)
    spur_snr_db = float(rng.uniform(10, 30))
    detector = Detector(FS, fc)
    transmitted = reported = 0
    phone: list[Burst] = []
    for second in range(seconds):
        x, truth = make_second(float(second), rng, receiver, spur_snr_db).render_complex()
        transmitted += len(truth)
        bursts = detector.process(x)
        if second == seconds - 1:
            bursts += detector.flush()
        reported += len(bursts)
        phone += [b for b in bursts if b.technology in PHONES]
        if progress_every and (second + 1) % progress_every == 0:
            print(f"  {name}: {second + 1} s, {reported} bursts, {len(phone)} phone-labelled", flush=True)
        if phone and stop_at_first:
            return SceneRun(name, second + 1, transmitted, reported, tuple(phone))
    return SceneRun(name, seconds, transmitted, reported, tuple(phone))


def per_sensor_hour(count: int, seconds: float) -> float:
    """A count over `seconds` of listening as a rate per hour."""
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    return count * SECONDS_PER_HOUR / seconds


def run_bench(minutes: float, seed: int, scenes: tuple[str, ...] = tuple(SCENES)) -> int:
    """`minutes` shared equally by `scenes`; prints every phone-labelled burst and the rate per sensor-hour."""
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    unknown = sorted(set(scenes) - set(SCENES))
    if unknown or not scenes:
        raise ValueError(f"scenes must be some of {', '.join(SCENES)}, got {', '.join(unknown) or 'none'}")
    seconds = max(1, round(60 * minutes / len(scenes)))  # each scene's share, in whole seconds
    runs = [run_scene(name, seconds, seed, progress_every=300) for name in scenes]
    total_s = sum(r.seconds for r in runs)
    for r in runs:
        print(
            f"{r.name:12s} {r.seconds:5d} s  emissions {r.transmitted:6d}  bursts {r.bursts:6d}  "
            f"phone-labelled {len(r.phone_labelled)}"
        )
        for b in r.phone_labelled:
            print(
                f"    {b.start_s:9.4f} s  {b.freq_hz / 1e6:10.4f} MHz  {b.bandwidth_hz / 1e3:7.1f} kHz  "
                f"{b.duration_s * 1e3:6.3f} ms  {b.snr_db:5.1f} dB  {b.technology}"
            )
    count = sum(len(r.phone_labelled) for r in runs)
    rate = per_sensor_hour(count, total_s)
    print(f"total {total_s} s ({total_s / 60:g} min): {count} phone-labelled, {rate:.2f} per sensor-hour (target <= 1)")
    return 0
