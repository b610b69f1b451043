"""`cellward bench false-alarms`: phone-labelled bursts over simulated time with no phone on the air.

The target (SYSTEM.md 4) is at most one phone-labelled false burst per sensor-hour. Half the time the
tuner sits on the SRD band at 865 MHz (LoRa, FSK telemetry, a spur, impulses), half on the B20 uplink at
851 MHz with a drifting spur and impulses: the two scenes of `tests/dsp/test_false_alarms.py`, which runs
five minutes of each and this bench as long as asked. Each scene is rendered a second at a time, back to
back, with the spur continuous across the seconds, and heard twice: as a sensor hears it, in 90 ms dwells
with the detector restarted for each (the figure the target is about), and through one detector
throughout, as `cellward detect` reads a long recording. Rendering costs several times what detecting does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dsp.burst import Burst
from dsp.detector import Detector
from dsp.dwells import Dwells

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


class Continuous:
    """The scene through one detector from its first sample to its last."""

    def __init__(self, center_freq_hz: float) -> None:
        self.detector = Detector(FS, center_freq_hz)

    def hear(self, samples: np.ndarray) -> list[Burst]:
        return self.detector.process(samples)

    def finish(self) -> list[Burst]:
        return self.detector.flush()


@dataclass(frozen=True)
class Heard:
    """What one way of listening to a scene reported."""

    bursts: int
    phone_labelled: tuple[Burst, ...]


@dataclass(frozen=True)
class SceneRun:
    name: str
    seconds: int
    transmitted: int  # non-phone emissions on the air
    bursts: int  # everything the detector reported in a sensor's dwells
    phone_labelled: tuple[Burst, ...]  # of those
    continuous: Heard | None = None  # the same scene through one detector throughout, when heard so too


def run_scene(name: str, seconds: int, seed: int = 7, stop_at_first: bool = False, progress_every: int = 0) -> SceneRun:
    """`seconds` of one scene heard in a sensor's dwells and continuously; with `stop_at_first`, stop at the first
    phone-labelled burst of either. With `progress_every`, print the counts so far every that many seconds (a long
    run can be read while it goes)."""
    from sensors.scan_plan import ScanConfig
    from sim.signals.receiver import Receiver

    make_second, fc = SCENES[name]
    rng = np.random.default_rng(seed)
    receiver = Receiver.varied(rng)
    spur_snr_db = float(rng.uniform(10, 30))
    listeners: dict[str, Dwells | Continuous] = {
        "dwells": Dwells(FS, fc, ScanConfig().dwell_s),
        "continuous": Continuous(fc),
    }
    reported = dict.fromkeys(listeners, 0)
    phone: dict[str, list[Burst]] = {key: [] for key in listeners}
    transmitted = done = 0
    for second in range(seconds):
        x, truth = make_second(float(second), rng, receiver, spur_snr_db).render_complex()
        transmitted += len(truth)
        done = second + 1
        for key, listener in listeners.items():
            bursts = listener.hear(x) + (listener.finish() if done == seconds else [])
            reported[key] += len(bursts)
            phone[key] += [b for b in bursts if b.technology in PHONES]
        if progress_every and done % progress_every == 0:
            counts = ", ".join(f"{key} {reported[key]} bursts, {len(phone[key])} phone-labelled" for key in listeners)
            print(f"  {name}: {done} s, {counts}", flush=True)
        if stop_at_first and any(phone.values()):
            break
    continuous = Heard(reported["continuous"], tuple(phone["continuous"]))
    return SceneRun(name, done, transmitted, reported["dwells"], tuple(phone["dwells"]), continuous)


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
        print(f"{r.name:12s} {r.seconds:5d} s  emissions {r.transmitted:6d}")
        _print_heard("in dwells", Heard(r.bursts, r.phone_labelled))
        if r.continuous is not None:
            _print_heard("continuous", r.continuous)
    count = sum(len(r.phone_labelled) for r in runs)
    print(
        f"total {total_s} s ({total_s / 60:g} min): {count} phone-labelled, "
        f"{per_sensor_hour(count, total_s):.2f} per sensor-hour (target <= 1), in a sensor's dwells"
    )
    continuous = [r.continuous for r in runs if r.continuous is not None]
    if continuous:
        count = sum(len(heard.phone_labelled) for heard in continuous)
        print(f"  continuous: {count} phone-labelled, {per_sensor_hour(count, total_s):.2f} per sensor-hour")
    return 0


def _print_heard(listening: str, heard: Heard) -> None:
    print(f"    {listening:10s} bursts {heard.bursts:6d}  phone-labelled {len(heard.phone_labelled)}")
    for b in heard.phone_labelled:
        cut = " cut at its start" if b.cut_at_start else " cut at its end" if b.cut_at_end else ""
        print(
            f"      {b.start_s:9.4f} s  {b.freq_hz / 1e6:10.4f} MHz  {b.bandwidth_hz / 1e3:7.1f} kHz  "
            f"{b.duration_s * 1e3:6.3f} ms  {b.snr_db:5.1f} dB  {b.technology}{cut}"
        )
