"""The RTL-SDR receiver model: what an R820T2/RTL2832U dongle does to the signal on its way to 8 bits.

In order: the tuner's crystal error shifts every emission (applied where emissions are placed, see
`Receiver.apparent_shift_hz`); thermal noise; the decimator's passband, flat with a roll-off towards
the band edges; IQ gain and phase imbalance (a faint mirror image of strong signals); a slowly
wandering DC offset (the spike at the centre); rounding to unsigned 8 bits around 127.5 with clipping.
Levels are in ADC LSB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import firwin2, lfilter


@dataclass(frozen=True)
class Receiver:
    noise_sigma_lsb: float = 2.5  # per I and Q
    ppm: float = 2.0
    dc_offset_lsb: float = 1.5
    iq_gain_db: float = 0.3
    iq_phase_deg: float = 1.5
    passband_rolloff: bool = True

    @classmethod
    def varied(cls, rng: np.random.Generator) -> Receiver:
        """A dongle drawn from the spread of real TCXO units."""
        return cls(
            noise_sigma_lsb=float(rng.uniform(1.8, 3.5)),
            ppm=float(rng.uniform(-6, 6)),
            dc_offset_lsb=float(rng.uniform(0.8, 3.0)),
            iq_gain_db=float(rng.uniform(-0.6, 0.6)),
            iq_phase_deg=float(rng.uniform(-3, 3)),
        )

    def apparent_shift_hz(self, center_freq_hz: float) -> float:
        """How far every emission appears from where it is: a tuner running `ppm` fast sees it lower."""
        return -self.ppm * 1e-6 * center_freq_hz

    def noise_density(self, sample_rate_hz: float) -> float:
        """Thermal noise power per Hz, LSB^2/Hz (complex noise of 2 sigma^2 spread over the sample rate)."""
        return 2 * self.noise_sigma_lsb**2 / sample_rate_hz

    def receive(self, signal_lsb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """Noise, passband, IQ imbalance, DC offset and 8-bit quantisation.

        Returns interleaved cu8 samples and the fraction of I/Q components that clipped.
        """
        n = signal_lsb.shape[0]
        x = signal_lsb + self.noise_sigma_lsb * (rng.normal(size=n) + 1j * rng.normal(size=n))
        if self.passband_rolloff:
            taps = firwin2(63, [0, 0.86, 0.94, 1.0], [1.0, 1.0, 0.63, 0.3])
            x = lfilter(taps, 1, x)
        gain = 10 ** (self.iq_gain_db / 20)
        phase = np.deg2rad(self.iq_phase_deg)
        i = x.real * np.sqrt(gain)
        q = (x.imag * np.cos(phase) + x.real * np.sin(phase)) / np.sqrt(gain)
        wander = np.cumsum(rng.normal(0, 0.002, n))
        i = i + self.dc_offset_lsb * (1 + 0.2 * np.sin(wander))
        q = q + 0.7 * self.dc_offset_lsb * (1 + 0.2 * np.cos(wander))
        interleaved = np.empty(2 * n)
        interleaved[0::2], interleaved[1::2] = i, q
        quantised = np.rint(interleaved + 127.5)
        clipped = float(np.mean((quantised < 0) | (quantised > 255)))
        return np.clip(quantised, 0, 255).astype(np.uint8), clipped
