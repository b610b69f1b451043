"""Spans a sensor heard without listing: who may have heard a channel at a moment."""

from __future__ import annotations

import numpy as np

from controller.unlisted import SPANS_KEPT_S, UnlistedSpans


def spans(*added: tuple[str, list[int], list[float], list[float]]) -> UnlistedSpans:
    kept = UnlistedSpans()
    for sensor, channels, start_s, end_s in added:
        kept.add(np.array(channels), sensor, np.array(start_s), np.array(end_s))
    return kept


def test_a_span_covers_its_channel_from_its_start_up_to_not_including_its_end():
    kept = spans(("A", [10, 11], [1.0, 1.0], [2.0, 3.0]), ("B", [10], [1.5], [4.0]))
    asked = kept.covering([10, 10, 10, 11, 12, 10], [0.5, 1.0, 1.7, 2.5, 1.5, 2.0])
    assert asked == [set(), {"A"}, {"A", "B"}, {"A"}, set(), {"B"}], "[start, end) per channel and sensor"


def test_an_empty_span_is_not_kept():
    """A report whose last listed burst ends its window left nothing unlisted."""
    kept = spans(("A", [10, 11], [2.0, 1.0], [2.0, 3.0]))
    assert kept.covering([10, 11], [2.0, 2.0]) == [set(), {"A"}]


def test_spans_added_between_questions_are_all_found():
    kept = spans(("A", [10], [1.0], [2.0]))
    assert kept.covering([10], [1.5]) == [{"A"}]
    kept.add(np.array([10, 11]), "B", np.array([1.2, 1.2]), np.array([1.8, 1.8]))
    kept.add(np.array([11]), "A", np.array([1.4]), np.array([1.6]))
    assert kept.covering([11, 10], [1.5, 1.5]) == [{"A", "B"}, {"A", "B"}]


def test_spans_that_ended_long_before_the_horizon_are_forgotten():
    kept = spans(("A", [10, 11], [1.0, 5.0], [2.0, 6.0]), ("B", [10], [3.0], [4.0]))
    kept.forget_before(2.5 + SPANS_KEPT_S)
    assert kept.covering([10, 10, 11], [1.5, 3.5, 5.5]) == [set(), {"B"}, {"A"}], "only what ended before 2.5"
    kept.forget_before(100.0)
    assert kept.covering([10, 11], [3.5, 5.5]) == [set(), set()]


def test_no_question_no_answer():
    assert spans(("A", [10], [1.0], [2.0])).covering([], []) == []
