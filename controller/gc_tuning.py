"""The cyclic garbage collector tuned for ingest.

Each message's reports and bursts are model objects that live until their batch is stored, so the default
young-generation threshold (700 new container objects) promoted them and then traversed the whole heap
again and again: a fifth to a quarter of ingest's CPU in `cellward bench controller --in-process`. Reference
counting still frees them as soon as they are dropped; only cycles wait for the collector."""

from __future__ import annotations

import gc

YOUNG_COLLECTION_THRESHOLD = 50_000


def tune_for_ingest() -> None:
    """Call once the controller has started: what exists then (site, locator tables, loaded state) lives as
    long as the process and is left out of every collection from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
