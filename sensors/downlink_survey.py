"""Which carriers are on the air nearby, from their downlink, and where their phones will transmit.

A base station's downlink is continuous and far stronger than any phone, so a short look at each FDD
band's downlink shows which carriers serve the site; the paired uplink (uplink = downlink - duplex)
is where their phones will be heard. Method: per tuning, the mean power spectrum (Hann, 10 kHz bins)
over `capture_s`; the floor is the spectrum's 20th percentile; 200 kHz channels whose mean power is
`threshold_db` above the floor are occupied, and adjacent occupied channels merge into one carrier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.band_plan import BandPlan
from sensors.sources.base import IQSource

CHANNEL_HZ = 200e3


@dataclass(frozen=True, slots=True)
class DownlinkCarrier:
    band: str
    downlink_low_hz: float
    downlink_high_hz: float
    uplink_low_hz: float
    uplink_high_hz: float
    operators: tuple[str, ...]
    power_over_floor_db: float

    def to_record(self) -> dict[str, object]:
        return {
            "band": self.band,
            "downlink_low_hz": self.downlink_low_hz,
            "downlink_high_hz": self.downlink_high_hz,
            "uplink_low_hz": self.uplink_low_hz,
            "uplink_high_hz": self.uplink_high_hz,
            "operators": list(self.operators),
            "power_over_floor_db": round(self.power_over_floor_db, 1),
        }


def mean_spectrum(samples: np.ndarray, sample_rate_hz: float, centre_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(absolute frequency Hz, mean power) of Hann-windowed ~10 kHz bins over the whole capture."""
    nfft = 1 << math.ceil(math.log2(sample_rate_hz / 10e3))
    frames = max(1, len(samples) // nfft)
    blocks = np.resize(samples, frames * nfft).reshape(frames, nfft) * np.hanning(nfft)
    power = (np.abs(np.fft.fftshift(np.fft.fft(blocks), axes=1)) ** 2).mean(axis=0)
    return centre_hz + (np.arange(nfft) - nfft // 2) * sample_rate_hz / nfft, power


def survey_downlinks(
    source: IQSource,
    band_plan: BandPlan,
    bands: list[str] | None = None,
    capture_s: float = 0.05,
    usable_fraction: float = 0.85,
    threshold_db: float = 10.0,
    settle_s: float = 0.01,
) -> list[DownlinkCarrier]:
    """Look at every reachable FDD downlink of `bands` once; the carriers found, with their uplinks.

    The floor is taken over the whole band, not per tuning, so a tuning that lies entirely inside a
    wide carrier does not mistake the carrier for the floor.
    """
    fs = source.info.sample_rate_hz
    span = usable_fraction * fs
    carriers: list[DownlinkCarrier] = []
    for band in band_plan.bands:
        if (bands is not None and band.name not in bands) or band.duplex_hz == 0:
            continue
        low = max(band.downlink_low_hz, source.info.freq_min_hz)
        high = min(band.downlink_high_hz, source.info.freq_max_hz)
        if high <= low:
            continue
        freqs, powers = [], []
        for i in range(math.ceil((high - low) / span)):
            centre = min(low + (i + 0.5) * span, high - span / 2) if high - low > span else (low + high) / 2
            actual = source.tune(centre)
            source.read(round(settle_s * fs))
            f, p = mean_spectrum(source.read(round(capture_s * fs)), fs, actual)
            # the searched span only, and never the DC spike
            keep = (np.abs(f - actual) <= span / 2) & (np.abs(f - actual) > 2 * fs / len(f)) & (f >= low) & (f <= high)
            freqs.append(f[keep])
            powers.append(p[keep])
        f, p = np.concatenate(freqs), np.concatenate(powers)
        floor = float(np.percentile(p, 20))
        channels = {}
        for k in range(math.ceil(low / CHANNEL_HZ), math.floor(high / CHANNEL_HZ) + 1):
            inside = np.abs(f - k * CHANNEL_HZ) < CHANNEL_HZ / 2
            if inside.any():
                level_db = 10 * math.log10(float(p[inside].mean()) / floor)
                if level_db >= threshold_db:
                    channels[k * CHANNEL_HZ] = level_db
        carriers += _merge(band.name, band.duplex_hz, channels, band_plan)
    return carriers


def _merge(band: str, duplex_hz: float, channels: dict[float, float], band_plan: BandPlan) -> list[DownlinkCarrier]:
    merged: list[DownlinkCarrier] = []
    run: list[float] = []
    for freq in [*sorted(channels), math.inf]:
        if run and freq - run[-1] > CHANNEL_HZ * 1.01:
            dl_low, dl_high = run[0] - CHANNEL_HZ / 2, run[-1] + CHANNEL_HZ / 2
            ul_low, ul_high = dl_low - duplex_hz, dl_high - duplex_hz
            merged.append(
                DownlinkCarrier(
                    band,
                    dl_low,
                    dl_high,
                    ul_low,
                    ul_high,
                    band_plan.operators(ul_low, ul_high),
                    max(channels[f] for f in run),
                )
            )
            run = []
        run.append(freq)
    return merged
