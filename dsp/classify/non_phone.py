"""Everything that is not a phone uplink: hard reasons first, then the broad model of "other energy".

Hard reasons need no statistics: a frequency where no phone transmits (downlink bands, SRD 863-870
MHz, outside every uplink band), a spectrum narrower than any uplink channel that lasts (a CW spur or
the RTL-SDR's DC spike), a burst filling the whole capture for tens of microseconds (an impulse), or
the receiver's own image of a much stronger burst mirrored about the tuner centre.
A blip both shorter and narrower than any phone burst is not one either.
The soft model spreads its probability evenly
over every bandwidth, duration and kurtosis, so it wins only when no phone model fits.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.band_plan import BandPlan
from dsp.classify.base import Candidate, Context, Neighbours
from dsp.classify.evidence import KURTOSIS_RANGE, duration_anywhere, envelope_kurtosis, log_uniform, width_within

MAX_PHONE_BURST_S = 0.2  # phones are scheduled in TTIs with gaps; a carrier on for 200 ms is not one
IMPULSE_MIN_KURTOSIS = 4.0  # phone waveforms stay below about 2.2; an SRS symbol is wide and short too
IMAGE_MIN_RATIO_DB = 20.0
# The shortest phone bursts are wide (an SRS symbol: 71 us over at least 4 resource blocks) and the
# narrowest are long (a PUCCH slot: 180 kHz for 0.5 ms; a GSM access burst: 200 kHz for 325 us), so a
# blip under half a resource block wide and a quarter millisecond long is no phone's.
BLIP_MAX_BANDWIDTH_HZ = 90e3
BLIP_MAX_DURATION_S = 0.25e-3  # RTL-SDR image rejection is 25-40 dB; an image is much weaker than its source


def not_a_phone_reason(candidate: Candidate, context: Context, band_plan: BandPlan) -> str | None:
    """Why this burst cannot be a phone uplink, or None if it might be."""
    if band_plan.downlink_band(candidate.freq_hz) is not None:
        return "in a downlink band (a base station, not a phone)"
    allocation = band_plan.non_phone_allocation(candidate.freq_hz)
    if allocation is not None:
        return f"in {allocation.name}"
    if band_plan.uplink_band(candidate.freq_hz) is None:
        return "outside every uplink band"
    if candidate.duration_s > MAX_PHONE_BURST_S:
        return "continuous for longer than a phone transmits: a carrier (base station, downlink leakage)"
    if candidate.bandwidth_hz < 30e3 and (candidate.duration_s > 5e-3 or candidate.snr > 10):
        return "narrower than any uplink channel (CW spur or carrier)"
    if candidate.bandwidth_hz < BLIP_MAX_BANDWIDTH_HZ and candidate.duration_s < BLIP_MAX_DURATION_S:
        return "shorter and narrower than any phone burst (a noise blip or an impulse's remnant)"
    if abs(candidate.offset_from_tuner_hz) < 20e3 and candidate.bandwidth_hz < 60e3:
        return "at the tuner's DC offset"
    kurtosis = candidate.features.get("envelope_kurtosis", math.nan)
    wide_and_short = candidate.bandwidth_hz > 1.4 * candidate.capture_half_width_hz and candidate.duration_s < 0.2e-3
    if wide_and_short and (math.isnan(kurtosis) or kurtosis > IMPULSE_MIN_KURTOSIS):
        return "fills the capture for microseconds with a peaked envelope (impulse)"
    if images_of(candidate, context.neighbours).any():
        return "IQ-imbalance image of a stronger burst at the mirror frequency"
    return None


def images_of(candidate: Candidate, sources: Neighbours) -> np.ndarray:
    """Which of `sources` `candidate` is the receiver's mirror image of: same time, frequency mirrored
    about the tuner centre, and far weaker (IQ gain and phase imbalance leave a faint copy)."""
    mirror_hz = -candidate.offset_from_tuner_hz
    half_width = 0.5 * np.maximum(sources.bandwidth_hz, candidate.bandwidth_hz)
    overlap_s = np.minimum(sources.end_s, candidate.end_s) - np.maximum(sources.start_s, candidate.start_s)
    return (
        (np.abs(sources.offset_from_tuner_hz - mirror_hz) <= half_width)
        & (overlap_s >= 0.5 * candidate.duration_s)
        & (sources.power >= candidate.power * 10 ** (IMAGE_MIN_RATIO_DB / 10))
    )


class NonPhoneClassifier:
    technology = "unknown"
    reads = ("bandwidth_hz", "duration_s", "envelope_kurtosis")
    false_positive_conditions = ("a phone burst too weak or too cut by the capture edge for any phone model to fit",)

    def log_likelihood(self, candidate: Candidate, context: Context) -> float:
        ll = math.log(width_within(candidate, 0.0)) + math.log(duration_anywhere(candidate))
        if not math.isnan(envelope_kurtosis(candidate)):
            ll += log_uniform(KURTOSIS_RANGE)
        return ll
