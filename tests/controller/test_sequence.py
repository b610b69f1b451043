"""Seq bookkeeping per sensor stream: gaps are measured loss, late arrivals count back, repeats and replays."""

from __future__ import annotations

from controller.sequence import SeqTracker, SeqVerdict


def tracker(stored=None) -> SeqTracker:
    return SeqTracker(max_missing=100, stored_digest=lambda s, n, q: (stored or {}).get((s, n, q)))


def test_first_message_sets_the_baseline_without_counting_earlier_seqs_as_lost():
    t = tracker()
    verdict, stream, lost = t.check("s1", "cellward.detections/1", 5000, "d5000")
    assert verdict is SeqVerdict.new and lost == 0 and stream.lost == 0


def test_a_gap_is_measured_loss_and_a_late_arrival_counts_back():
    t = tracker()
    t.check("s1", "d/1", 1, "a")
    verdict, stream, lost = t.check("s1", "d/1", 5, "e")
    assert verdict is SeqVerdict.new and lost == 3 and stream.lost == 3, "seqs 2, 3, 4 are missing"
    verdict, stream, lost = t.check("s1", "d/1", 3, "c")
    assert verdict is SeqVerdict.late and lost == -1 and stream.lost == 2
    assert stream.missing == [2, 4]


def test_the_same_message_again_is_a_duplicate_and_other_content_under_an_old_seq_a_replay():
    t = tracker()
    t.check("s1", "d/1", 1, "a")
    t.check("s1", "d/1", 2, "b")
    assert t.check("s1", "d/1", 2, "b")[0] is SeqVerdict.duplicate
    assert t.check("s1", "d/1", 1, "forged")[0] is SeqVerdict.replayed


def test_seq_counts_separately_per_message_name():
    t = tracker()
    t.check("s1", "cellward.detections/1", 10, "a")
    verdict, _, lost = t.check("s1", "cellward.status/1", 3, "b")
    assert verdict is SeqVerdict.new and lost == 0, "each message name has its own seq"


def test_duplicates_beyond_the_recent_window_are_recognised_from_the_database():
    stored = {("s1", "d/1", 1): "a"}
    t = tracker(stored)
    t.check("s1", "d/1", 1, "a")
    for seq in range(2, 400):
        t.check("s1", "d/1", seq, f"x{seq}")
    assert t.check("s1", "d/1", 1, "a")[0] is SeqVerdict.duplicate


def test_an_earlier_seq_than_the_first_heard_moves_the_baseline_down_when_sent_again():
    """After a broker crash a stream's first messages may arrive after later ones (the sensor resends them)."""
    t = tracker()
    t.check("s1", "d/1", 4, "d")
    verdict, stream, lost = t.check("s1", "d/1", 2, "b")
    assert verdict is SeqVerdict.late and lost == 1 and stream.missing == [3], "3 is now known missing"
    assert stream.first_seq == 2 and stream.lost == 1
    assert t.check("s1", "d/1", 3, "c")[0] is SeqVerdict.late and stream.lost == 0
    assert t.check("s1", "d/1", 2, "forged")[0] is SeqVerdict.replayed, "stored seqs keep replay protection"


def test_a_seq_far_below_the_baseline_is_still_a_replay():
    t = tracker()  # tracks up to 100 missing seqs
    t.check("s1", "d/1", 5000, "a")
    assert t.check("s1", "d/1", 4800, "b")[0] is SeqVerdict.replayed
