"""The controller process tunes the cyclic garbage collector once it has started."""

from __future__ import annotations

import gc

from controller.gc_tuning import YOUNG_COLLECTION_THRESHOLD, collector_paused, tune_for_ingest


def test_startup_objects_are_frozen_and_young_collections_wait_for_many_more_objects() -> None:
    before = gc.get_threshold()
    long_lived = [{"table": i} for i in range(1000)]
    try:
        tune_for_ingest()
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() >= len(long_lived)
        assert gc.get_count()[0] < YOUNG_COLLECTION_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_no_collection_runs_inside_a_batch_and_the_collector_comes_back_after_it() -> None:
    collections_before = sum(stats["collections"] for stats in gc.get_stats())
    with collector_paused():
        assert not gc.isenabled()
        alive = [[i] for i in range(200_000)]  # far past every threshold
        assert sum(stats["collections"] for stats in gc.get_stats()) == collections_before
    assert gc.isenabled() and alive
    try:
        with collector_paused():
            raise RuntimeError("a failed batch")
    except RuntimeError:
        pass
    assert gc.isenabled(), "a failed batch leaves the collector on"
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
