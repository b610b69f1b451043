"""The cyclic garbage collector tuned for ingest.

Each message's reports and bursts are model objects that live until their batch is stored, so the default
young-generation threshold (700 new container objects) promoted them and then traversed the whole heap
again and again: a fifth to a quarter of ingest's CPU in `cellward bench controller --in-process`. Reference
counting still frees them as soon as they are dropped; only cycles wait for the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_COLLECTION_THRESHOLD = 50_000


def tune_for_ingest() -> None:
    """Call once the controller has started: what exists then (site, locator tables, loaded state) lives as
    long as the process and is left out of every collection from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def collector_paused() -> Iterator[None]:
    """No collection while a batch is processed: its reports and bursts are all alive until it ends, so a
    collection then would only traverse and promote them (about 0.1 s in 3 s of the bench); the first one after
    it finds them gone."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
