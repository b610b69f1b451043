"""Judges a sensor's health from what ingest recorded: silence, availability, clock offset, measured loss."""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import AlertRules
from controller.db.reports import SensorState


@dataclass(frozen=True)
class SensorProblem:
    rule: str  # the alert rule that reports it: sensor_silent, clock_drift or loss
    message: str


def lost_fraction(state: SensorState) -> float:
    expected = state.messages_received + state.messages_lost
    return state.messages_lost / expected if expected else 0.0


def sensor_problems(
    state: SensorState | None, sensor_id: str, rules: AlertRules, now: float, learnt_offset_s: float | None = None
) -> list[SensorProblem]:
    """Every problem with one sensor right now; an empty list means healthy. `learnt_offset_s`: its clock minus
    the site's consensus as its bursts show it (controller/sensor_clocks.py), whatever its own time daemon says."""
    if state is None or state.last_seen is None:
        return [SensorProblem("sensor_silent", f"sensor {sensor_id} has never been heard")]
    problems = []
    silent_s = now - state.last_seen
    if state.availability in ("offline", "stopped"):
        problems.append(SensorProblem("sensor_silent", f"sensor {sensor_id} is {state.availability}"))
    elif silent_s > rules.sensor_silent.silent_after_s:
        problems.append(SensorProblem("sensor_silent", f"sensor {sensor_id} silent for {silent_s:.0f} s"))
    if state.clock_offset_s is not None and abs(state.clock_offset_s) > rules.clock_drift.max_offset_s:
        problems.append(
            SensorProblem(
                "clock_drift",
                f"sensor {sensor_id} clock off by {state.clock_offset_s * 1e3:.1f} ms "
                f"(limit {rules.clock_drift.max_offset_s * 1e3:.1f} ms)",
            )
        )
    elif learnt_offset_s is not None and abs(learnt_offset_s) > rules.clock_drift.max_learnt_offset_s:
        problems.append(
            SensorProblem(
                "clock_drift",
                f"sensor {sensor_id} bursts arrive {learnt_offset_s * 1e3:+.1f} ms off the other sensors' "
                f"(limit {rules.clock_drift.max_learnt_offset_s * 1e3:.1f} ms): its clock or its sample timing",
            )
        )
    expected = state.messages_received + state.messages_lost
    fraction = lost_fraction(state)
    if expected >= rules.loss.min_messages and fraction > rules.loss.max_lost_fraction:
        problems.append(
            SensorProblem(
                "loss", f"sensor {sensor_id} lost {state.messages_lost} of {expected} messages ({fraction:.1%})"
            )
        )
    return problems
