"""GSM uplink: GMSK normal and access bursts in 200 kHz channels on the TDMA frame grid.

Physics (3GPP TS 45.002/45.004): a normal burst is 148 bits at 270.833 kbit/s (546 us) in a 577 us
slot, an access burst 88 bits (325 us); a phone in a call sends one burst per 4.615 ms frame; GMSK is
constant-envelope with a bell-shaped spectrum about 200 kHz wide at -10 dB.
"""

from __future__ import annotations

from dsp.classify.base import Candidate, Context
from dsp.classify.evidence import GSM_FRAME_S, grid_matches, log_duration_near, log_kurtosis, log_width_near

NORMAL_BURST_MS = 0.555  # 546 us of bits plus half of each power ramp, as measured at half power
ACCESS_BURST_MS = 0.335


class GsmClassifier:
    technology = "gsm"
    reads = ("bandwidth_hz", "duration_s", "envelope_kurtosis", "start_s")
    false_positive_conditions = (
        "an LTE PUCCH blip (180 kHz, 0.5 ms) whose envelope kurtosis is mis-measured at low SNR",
        "narrowband FSK telemetry of about 200 kHz with bursts near 0.5 ms, if transmitted inside a GSM block",
        "a 1-RB LTE burst cut by a dwell's start or end to under 0.15 ms: its width, neighbours and band plan judge it",
    )

    def log_likelihood(self, candidate: Candidate, context: Context) -> float:
        # a weak burst is measured shorter and narrower than it is, never longer or wider
        weak = 1.0 / max(candidate.snr, 0.3)
        ll = log_width_near(candidate, 205.0, 30.0, sigma_below_khz=30.0 + 60.0 * weak)
        ll += log_duration_near(candidate, ((NORMAL_BURST_MS, 0.03), (ACCESS_BURST_MS, 0.03)), 0.03 + 0.25 * weak)
        ll += log_kurtosis(candidate, 1.04)
        on_grid = grid_matches(candidate, context.neighbours, GSM_FRAME_S, 25e-6, 8)
        return ll + 1.5 * min(on_grid, 3)
