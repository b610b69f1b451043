"""5G NR uplink: CP-OFDM (or DFT-s-OFDM) PUSCH in 12-subcarrier PRBs at 15 or 30 kHz spacing.

Physics (3GPP TS 38.211): a PRB is 180 kHz at 15 kHz SCS and 360 kHz at 30 kHz; a slot is 1 ms or
0.5 ms. CP-OFDM is a sum of many subcarriers, so its envelope is near-Gaussian (kurtosis about 2),
and 30 kHz spacing puts the cyclic-prefix correlation at a 33.3 us lag, which LTE never has.
"""

from __future__ import annotations

import math

from dsp.classify.base import Candidate, Context
from dsp.classify.evidence import PRB_KHZ, duration_anywhere, log_kurtosis, slot_runs, width_within


class NrClassifier:
    technology = "nr"
    reads = ("bandwidth_hz", "duration_s", "envelope_kurtosis", "cp30")
    false_positive_conditions = (
        "any other OFDM uplink (Wi-Fi-like, LTE with many subcarriers at high order QAM) whose kurtosis is near 2",
        "DFT-s-OFDM NR looks like LTE and is classified by the band plan's prior alone",
    )

    def log_likelihood(self, candidate: Candidate, context: Context) -> float:
        slots_30khz = 0.49 * slot_runs(candidate, 0.5, 0.04)
        slots_15khz = 0.49 * slot_runs(candidate, 1.0, 0.05)
        anything = 0.02 * duration_anywhere(candidate)  # merged with a neighbour
        # whole PRBs of at least 180 kHz (a 30 kHz PRB is 360 kHz, but asking that of the 0.5 ms slots halved
        # NR's odds on narrow runs of whole milliseconds and gave a 1-PRB 15 kHz run to LTE on the simulator)
        ll = math.log(width_within(candidate, PRB_KHZ)) + math.log(slots_30khz + slots_15khz + anything)
        ll += log_kurtosis(candidate, 1.95, 0.1)
        cp30 = candidate.features.get("cp30", float("nan"))
        if cp30 >= 2.9:
            ll += 2.0
        return ll
