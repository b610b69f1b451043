"""The controller process tunes the cyclic garbage collector once it has started."""

from __future__ import annotations

import gc

from controller.gc_tuning import YOUNG_COLLECTION_THRESHOLD, tune_for_ingest


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
