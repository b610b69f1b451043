"""A capture: emissions placed in time and frequency at their SNR, through one receiver, with truth.

SNR follows the development recordings' definition: a burst's mean power over its active samples,
divided by the thermal noise power in its occupied bandwidth (noise density 2 sigma^2 / fs).
"""

from __future__ import annotations

import numpy as np

from cellward.recording import to_complex64
from sim.signals.receiver import Receiver
from sim.signals.truth import Emission, TruthBurst


class Scene:
    """Emissions seen by one receiver tuned to `center_freq_hz` at `sample_rate_hz` for `duration_s`."""

    def __init__(
        self,
        sample_rate_hz: float,
        center_freq_hz: float,
        duration_s: float,
        receiver: Receiver | None = None,
        seed: int = 0,
        start_s: float = 0.0,
    ) -> None:
        self.start_s = start_s  # absolute time of the first sample; burst times are absolute too
        self.sample_rate_hz = sample_rate_hz
        self.center_freq_hz = center_freq_hz
        self.num_samples = round(duration_s * sample_rate_hz)
        self.receiver = receiver or Receiver()
        self.rng = np.random.default_rng(seed)
        self.emissions: list[Emission] = []

    def add(self, *emissions: Emission) -> Scene:
        self.emissions.extend(emissions)
        return self

    def render(self) -> tuple[np.ndarray, list[TruthBurst], float]:
        """(interleaved cu8 samples, truth of every burst visible in the capture, clipped fraction)."""
        fs = self.sample_rate_hz
        signal = np.zeros(self.num_samples, np.complex128)
        truth: list[TruthBurst] = []
        shift = self.receiver.apparent_shift_hz(self.center_freq_hz)
        density = self.receiver.noise_density(fs)
        half = fs / 2
        for emission in self.emissions:
            for burst in emission.bursts:
                centre_hz = emission.carrier_hz + burst.offset_hz
                offset = centre_hz - self.center_freq_hz + shift
                low, high = offset - burst.bandwidth_hz / 2, offset + burst.bandwidth_hz / 2
                first = round((burst.start_s - burst.lead_s - self.start_s) * fs)
                if high <= -half or low >= half or first >= self.num_samples:
                    continue
                snr_db = emission.snr_db + burst.gain_db
                power = 10 ** (snr_db / 10) * density * burst.bandwidth_hz
                samples = burst.samples.astype(np.complex128)
                lead = round(burst.lead_s * fs)
                active = samples[lead : lead + max(1, round(burst.duration_s * fs))]
                scale = np.sqrt(power / np.mean(np.abs(active) ** 2))
                begin = max(first, 0)
                end = max(begin, min(first + samples.shape[0], self.num_samples))  # the part inside the capture
                absolute_s = self.start_s + np.arange(begin, end) / fs
                signal[begin:end] += (
                    scale * samples[begin - first : end - first] * np.exp(2j * np.pi * offset * absolute_s)
                )
                start_s = max(burst.start_s, self.start_s)
                end_s = min(burst.start_s + burst.duration_s, self.start_s + self.num_samples / fs)
                if end_s <= start_s:
                    continue
                visible_low, visible_high = max(low, -half), min(high, half)
                truth.append(
                    TruthBurst(
                        start_s=start_s,
                        duration_s=end_s - start_s,
                        freq_hz=self.center_freq_hz + (visible_low + visible_high) / 2 - shift,
                        bandwidth_hz=visible_high - visible_low,
                        technology=emission.technology,
                        channel=burst.channel,
                        snr_db=snr_db,
                    )
                )
        cu8, clipped = self.receiver.receive(signal, self.rng)
        return cu8, sorted(truth, key=lambda b: b.start_s), clipped

    def render_complex(self) -> tuple[np.ndarray, list[TruthBurst]]:
        """The capture as the detector sees it: complex64 at ADC full scale = 1, and the truth."""
        cu8, truth, _ = self.render()
        return to_complex64(cu8, "cu8"), truth
