"""Ready-made captures: the demo's landing, and the benchmark's busy uplink."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sim.signals import gsm, lte, non_phone, nr
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene

DEMO_LANDING_FREQ_HZ = 897.1e6  # the demo landing's tuning, in B8


def demo_landing(seconds: float, seed: int, sample_rate_hz: float = 2.4e6) -> Scene:
    """A sensor on a landing tuned to 897.1 MHz (B8): a GSM call, an SMS, a VoLTE phone, a CW spur and
    some impulses."""
    rng = np.random.default_rng(seed)
    fs, fc = sample_rate_hz, DEMO_LANDING_FREQ_HZ
    return Scene(fs, fc, seconds, Receiver.varied(rng), seed).add(
        gsm.call(fs, gsm.uplink_arfcn_hz(33), 4, 0.0, seconds, 18.0, rng, fading_db=2.0),
        gsm.access(fs, gsm.uplink_arfcn_hz(38), [0.05 * seconds], 14.0, rng),
        gsm.sdcch(fs, gsm.uplink_arfcn_hz(38), 5, 0.2 * seconds, 14.0, rng),
        lte.volte(fs, 897.75e6, 6, 0.0, seconds, 12.0, rng),
        non_phone.cw(fs, 896.3e6, 0.0, seconds, 20.0, rng),
        non_phone.impulses(fs, fc, list(rng.uniform(0, seconds, 5)), 15.0, rng),
    )


def busy_uplink(sample_rate_hz: float, center_freq_hz: float, seconds: float, seed: int) -> Iterator[np.ndarray]:
    """Interleaved cu8 blocks of one second: two GSM calls, an LTE data session and NR slots, about
    550 bursts a second, through a dongle drawn at random."""
    rng = np.random.default_rng(seed)
    receiver = Receiver.varied(rng)
    fs, fc = sample_rate_hz, center_freq_hz
    for second in range(int(np.ceil(seconds))):
        length = min(1.0, seconds - second)
        scene = Scene(fs, fc, length, receiver, seed + second).add(
            gsm.call(fs, fc - 500e3, 2, 0.0, length, 15.0, rng),
            gsm.call(fs, fc + 300e3, 6, 0.0, length, 9.0, rng),
            lte.data_session(fs, fc + 100e3, 6, 0.0, length, 12.0, rng, max_rbs=4),
            nr.data_session(fs, fc - 200e3, 5, 30e3, 0.0, length, 10.0, rng, max_prbs=3),
        )
        yield scene.render()[0]
