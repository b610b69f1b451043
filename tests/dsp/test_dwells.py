"""A stream heard in a node's dwells: burst times on the stream's clock, whatever blocks the samples come in."""

from __future__ import annotations

import pytest

from dsp.dwells import Dwells
from tests.dsp.synthetic import Rect, scene

FS = 2.4e6
CENTRE_HZ = 1747.5e6  # B3 uplink


def heard(samples, block: int) -> list:
    dwells = Dwells(FS, CENTRE_HZ, 0.09)
    bursts = [b for first in range(0, len(samples), block) for b in dwells.hear(samples[first : first + block])]
    return bursts + dwells.finish()


def test_bursts_of_later_dwells_keep_the_streams_times_whatever_the_blocks() -> None:
    starts = (0.02, 0.13, 0.25)  # in the first, second and third dwell
    samples = scene(FS, 0.3, [Rect(t, 0.002, 300e3, 540e3, 15.0) for t in starts], seed=4)
    bursts = heard(samples, len(samples))
    assert [round(b.start_s, 3) for b in bursts] == list(starts)
    in_odd_blocks = heard(samples, 50_001)
    assert [(b.start_s, b.freq_hz) for b in in_odd_blocks] == [(b.start_s, b.freq_hz) for b in bursts]


def test_a_dwell_must_last() -> None:
    with pytest.raises(ValueError, match="more than 0 s"):
        Dwells(FS, CENTRE_HZ, 0.0)


def test_an_emission_on_through_every_dwell_is_heard_in_every_one_at_its_level_and_nothing_else() -> None:
    """A phone on for minutes on a steady allocation (a video upload) lifts every seed of its tuning in its own
    bins; learnt as floor, it went unheard from the fourth dwell on. Its component reaches across the band through
    the low hysteresis map, and where a bin was seeded low, a strip of noise there passed as a burst (6 in 16
    dwells, one bin wide at -6 to -4 dB)."""
    quiet_s, dwell_s, dwells = 0.18, 0.09, 16
    samples = scene(FS, quiet_s + dwells * dwell_s, [Rect(quiet_s, dwells * dwell_s, -300e3, 540e3, 15.0)], seed=5)
    bursts = heard(samples, len(samples))
    elsewhere = [b for b in bursts if abs(b.freq_hz - CENTRE_HZ + 300e3) > 270e3]
    assert not elsewhere, f"heard off the emission: {elsewhere}"
    per_dwell = [
        [b for b in bursts if quiet_s + k * dwell_s <= b.start_s < quiet_s + (k + 1) * dwell_s and b.snr_db > 10]
        for k in range(dwells)
    ]
    covered_ms = [round(sum(b.duration_s for b in found) * 1e3) for found in per_dwell]
    assert all(ms >= 85 for ms in covered_ms), f"ms of each dwell heard: {covered_ms}"
    snr_db = [max(b.snr_db for b in found) for found in per_dwell]
    assert max(snr_db) - min(snr_db) < 1.0, f"its level must not sink as the dwells go on: {snr_db}"


def test_a_phone_on_from_the_first_dwell_is_heard_in_every_dwell_once_one_has_started_without_it() -> None:
    """A node that starts while a phone streams learns the phone as that tuning's floor (there is nothing to
    check the first seed against). A dwell that starts in a pause of the phone shows the real floor, which must
    then be kept: before, the phone was learnt again in the next dwell and went unheard while it lasted."""
    dwell_s, pause_s = 0.09, 0.02
    first_on, back_at = 5 * dwell_s, 5 * dwell_s + pause_s  # the sixth dwell starts in the pause
    samples = scene(
        FS,
        12 * dwell_s,
        [Rect(0.0, first_on, -300e3, 540e3, 15.0), Rect(back_at, 12 * dwell_s - back_at, -300e3, 540e3, 15.0)],
        seed=6,
    )
    bursts = heard(samples, len(samples))
    heard_in = sorted({int(b.start_s // dwell_s) for b in bursts if b.snr_db > 10})
    assert set(range(5, 12)) <= set(heard_in), f"dwells the phone was heard in: {heard_in}"
