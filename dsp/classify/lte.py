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
    PRB_KHZ,
    duration_anywhere,
    duration_near,
    grid_matches,
    log_kurtosis,
    log_width_near,
    slot_runs,
    width_within,
)

SRS_MIN_KHZ = 600.0  # SRS spans at least 4 resource blocks (TS 36.211 table 5.5.3.2): a narrow blip is not one


def _width_density(candidate: Candidate, mean_khz: float, sigma_khz: float, min_khz: float = 0.0) -> float:
    log_width = log_width_near(candidate, mean_khz, sigma_khz, floor=-50.0, min_khz=min_khz)
    return math.exp(log_width) / math.sqrt(2 * math.pi)


class LteClassifier:
    technology = "lte"
    reads = ("bandwidth_hz", "duration_s", "envelope_kurtosis", "cp15", "cp30", "start_s")
    false_positive_conditions = (
        "NR uplink with DFT-s-OFDM (transform precoding) at 15 kHz: the same waveform; the band plan decides",
        "a GSM burst whose kurtosis is mis-measured at low SNR and whose timing neighbours are missed",
    )

    def log_likelihood(self, candidate: Candidate, context: Context) -> float:
        allocation = width_within(candidate, PRB_KHZ)  # whole resource blocks
        # one component per kind of LTE burst, each a joint density of duration and bandwidth
        pucch = 0.30 * duration_near(candidate, 0.5, 0.03) * _width_density(candidate, 200.0, 25.0, PRB_KHZ)
        srs = 0.10 * duration_near(candidate, 0.085, 0.03) * width_within(candidate, SRS_MIN_KHZ)
        prach = 0.05 * duration_near(candidate, 0.9, 0.06) * _width_density(candidate, 1070.0, 60.0)
        pusch = 0.53 * slot_runs(candidate, 1.0, 0.06) * allocation  # whole subframes, some shortened
        anything = 0.02 * duration_anywhere(candidate) * allocation  # merged with a neighbour
        ll = math.log(pucch + srs + prach + pusch + anything)
        ll += log_kurtosis(candidate, 1.45, 0.15)
        if candidate.features.get("cp30", 0.0) >= 2.9:
            ll -= 1.5
        on_grid = grid_matches(candidate, context.neighbours, LTE_SLOT_S, 12e-6, 40, same_shape=False)
        return ll + 0.7 * min(on_grid, 4)
