"""LTE uplink: SC-FDMA in 180 kHz resource blocks on the 0.5 ms slot grid.

Physics (3GPP TS 36.211): PUSCH allocations are whole resource blocks in subframes of 1 ms (the last
symbol may carry SRS instead); PUCCH is one resource block at a carrier edge for one 0.5 ms slot, then
hops to the other edge; SRS fills one 71 us symbol; PRACH format 0 occupies 1.08 MHz for about 0.9 ms.
DFT-spread OFDM keeps the envelope kurtosis near 1.4 (between GMSK's 1 and OFDM's 2), and the 15 kHz
numerology's cyclic prefix shows in the lag-66.7 us correlation.
"""

from __future__ import annotations

import math

from dsp.classify.base import Candidate, Context
from dsp.classify.evidence import (
    LTE_SLOT_S,
    MAX_BANDWIDTH_KHZ,
    MAX_DURATION_MS,
    grid_matches,
    log_gauss,
    log_kurtosis,
)


class LteClassifier:
    technology = "lte"
    reads = ("bandwidth_hz", "duration_s", "envelope_kurtosis", "cp15", "cp30", "start_s")
    false_positive_conditions = (
        "NR uplink with DFT-s-OFDM (transform precoding) at 15 kHz: the same waveform; the band plan decides",
        "a GSM burst whose kurtosis is mis-measured at low SNR and whose timing neighbours are missed",
    )

    def log_likelihood(self, candidate: Candidate, context: Context) -> float:
        bandwidth_khz = candidate.bandwidth_hz / 1e3
        duration_ms = candidate.duration_s * 1e3
        one_rb = 0.4 * math.exp(log_gauss(bandwidth_khz, 200.0, 25.0))
        any_allocation = 0.6 / MAX_BANDWIDTH_KHZ
        ll = math.log(one_rb + any_allocation)
        slot = 0.35 * math.exp(log_gauss(duration_ms, 0.5, 0.03))
        symbol = 0.1 * math.exp(log_gauss(duration_ms, 0.085, 0.03))
        prach = 0.05 * math.exp(log_gauss(duration_ms, 0.9, 0.06))
        run = 0.5 / MAX_DURATION_MS if duration_ms > 0.4 else 0.0
        ll += math.log(slot + symbol + prach + run + 1e-12)
        ll += log_kurtosis(candidate, 1.40, 0.1)
        if candidate.features.get("cp30", 0.0) >= 2.9:
            ll -= 1.5
        on_grid = grid_matches(candidate, context.neighbours, LTE_SLOT_S, 12e-6, 40, same_shape=False)
        return ll + 0.7 * min(on_grid, 4)
