"""Emitters that are not phones: SRD telemetry (LoRa, FSK), CW spurs, impulsive noise and blockers.

Each planner turns a scenario's emitter into planned bursts; the waveforms come from sim.signals.
Continuous emitters (a spur, a blocker) are one long burst that sim.waveforms synthesises slice by slice.
A blocker is wideband noise in a downlink band: the stub the blocking issue will switch on and off.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.burst_plan import PlannedBursts
from sim.scenario import OtherEmitter

LORA_BANDWIDTH_HZ = 125e3
FSK_BIT_RATE = 50e3
FSK_BANDWIDTH_HZ = 100e3  # 2 x 25 kHz deviation + bit rate
CW_BANDWIDTH_HZ = 1.2e3  # +-600 Hz drift
IMPULSE_BANDWIDTH_HZ = 20e6  # a switching transient is flat far beyond any tuning
IMPULSE_MAX_S = 25e-6
CONTINUOUS_WAVES = ("cw", "blocker")


def _span(emitter: OtherEmitter, scenario_s: float) -> tuple[float, float]:
    end = scenario_s if emitter.duration_s is None else min(scenario_s, emitter.start_s + emitter.duration_s)
    return emitter.start_s, end


def _packets(emitter: OtherEmitter, scenario_s: float, rng: np.random.Generator) -> np.ndarray:
    start, end = _span(emitter, scenario_s)
    times = start + emitter.period_s * (np.arange(int((end - start) / emitter.period_s) + 1) + rng.uniform(0, 0.5))
    return times[times < end]


def lora(emitter: OtherEmitter, scenario_s: float, rng: np.random.Generator) -> PlannedBursts:
    rows = []
    for t in _packets(emitter, scenario_s, rng):
        sf, payload = int(rng.integers(7, 10)), int(rng.integers(16, 40))
        duration = (12.25 + payload) * 2**sf / LORA_BANDWIDTH_HZ
        rows.append((float(t), duration, 0.0, LORA_BANDWIDTH_HZ, f"lora:{sf}:{payload}", f"SF{sf}"))
    return PlannedBursts.from_rows(rows)


def fsk(emitter: OtherEmitter, scenario_s: float, rng: np.random.Generator) -> PlannedBursts:
    rows = []
    for t in _packets(emitter, scenario_s, rng):
        bits = int(rng.integers(8, 33)) * 8
        rows.append((float(t), (48 + bits) / FSK_BIT_RATE, 0.0, FSK_BANDWIDTH_HZ, f"fsk:{bits}", "FSK"))
    return PlannedBursts.from_rows(rows)


def cw(emitter: OtherEmitter, scenario_s: float, rng: np.random.Generator) -> PlannedBursts:
    start, end = _span(emitter, scenario_s)
    return PlannedBursts.from_rows([(start, end - start, 0.0, CW_BANDWIDTH_HZ, "cw", "CW")])


def impulses(emitter: OtherEmitter, scenario_s: float, rng: np.random.Generator) -> PlannedBursts:
    start, end = _span(emitter, scenario_s)
    gaps = rng.exponential(emitter.period_s, int(3 * (end - start) / emitter.period_s) + 10)
    times = start + np.cumsum(gaps)
    times = times[times < end]
    return PlannedBursts.from_rows(
        [(float(t), IMPULSE_MAX_S, 0.0, IMPULSE_BANDWIDTH_HZ, "impulse", "impulse") for t in times]
    )


def blocker(emitter: OtherEmitter, scenario_s: float, rng: np.random.Generator) -> PlannedBursts:
    start, end = _span(emitter, scenario_s)
    return PlannedBursts.from_rows([(start, end - start, 0.0, emitter.bandwidth_hz, "blocker", "blocker")])


EMITTERS: dict[str, Callable[[OtherEmitter, float, np.random.Generator], PlannedBursts]] = {
    "lora": lora,
    "fsk": fsk,
    "cw": cw,
    "impulses": impulses,
    "blocker": blocker,
}
