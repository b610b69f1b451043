"""Matching detections to ground truth the way the development recordings' scorer does."""

from __future__ import annotations

from collections.abc import Sequence

from dsp.burst import Burst
from sim.signals.truth import TruthBurst


def qualifies(burst: Burst, truth: TruthBurst, freq_tolerance_hz: float = 0.0) -> float | None:
    """Time overlap as a share of the shorter burst if they match (>= 50 %, bands overlapping), else None."""
    overlap = min(burst.end_s, truth.end_s) - max(burst.start_s, truth.start_s)
    shorter = min(burst.duration_s, truth.duration_s)
    if shorter <= 0 or overlap < 0.5 * shorter:
        return None
    half_truth = max(truth.bandwidth_hz, 1e3) / 2 + freq_tolerance_hz
    half_burst = max(burst.bandwidth_hz, 1e3) / 2
    if min(burst.freq_hz + half_burst, truth.freq_hz + half_truth) <= max(
        burst.freq_hz - half_burst, truth.freq_hz - half_truth
    ):
        return None
    return overlap / shorter


def match(bursts: Sequence[Burst], truth: Sequence[TruthBurst], freq_tolerance_hz: float = 0.0) -> dict[int, int]:
    """One-to-one greedy matching by decreasing overlap: {truth index: burst index}."""
    pairs = sorted(
        (
            (q, i, j)
            for i, t in enumerate(truth)
            for j, b in enumerate(bursts)
            if (q := qualifies(b, t, freq_tolerance_hz)) is not None
        ),
        key=lambda p: -p[0],
    )
    truth_match: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in pairs:
        if i not in truth_match and j not in used:
            truth_match[i] = j
            used.add(j)
    return truth_match
