"""Per-burst fading at each sensor from the site model's fading law, drawn so any window can be asked alone.

`PropagationModel.fading_db` draws Rician fading (averaged over the burst's bandwidth) from a generator.
Burst ids are cut into fixed blocks; each (sensor, block, bandwidth) gets its own generator seeded from
the world's seed, so a burst's fading never depends on which window or which other bursts were asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from cellward.site.propagation import PropagationModel

BLOCK = 4096
CACHE_BLOCKS = 4096


class BurstFading:
    """Fading (dB) of each burst at each sensor for one world."""

    def __init__(self, model: PropagationModel, seed: int, bandwidth_hz: np.ndarray) -> None:
        self.model = model
        self.seed = seed
        self.bandwidth_hz = bandwidth_hz  # of every burst, by id
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # rtl_tcp servers read one world from several threads

    def _block(self, sensor: int, block: int) -> np.ndarray:
        key = (sensor, block)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        widths = self.bandwidth_hz[block * BLOCK : (block + 1) * BLOCK]
        values = np.empty(widths.shape[0])
        for width in np.unique(widths):
            where = widths == width
            rng = np.random.default_rng([self.seed, sensor, block, round(float(width))])
            values[where] = self.model.fading_db(rng, int(where.sum()), float(width))
        with self._lock:
            self._cache[key] = values
            if len(self._cache) > CACHE_BLOCKS:
                self._cache.popitem(last=False)
        return values

    def db(self, burst_ids: np.ndarray, sensor: int) -> np.ndarray:
        """Fading of each burst at `sensor`, dB (mean linear power gain 1)."""
        burst_ids = np.asarray(burst_ids, int)
        out = np.empty(burst_ids.shape[0])
        blocks = burst_ids // BLOCK
        for block in np.unique(blocks):
            where = blocks == block
            out[where] = self._block(sensor, int(block))[burst_ids[where] - block * BLOCK]
        return out
