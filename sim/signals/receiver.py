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
from scipy.signal import firwin2, oaconvolve


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
        noise = rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(self.noise_sigma_lsb)
        x = signal_lsb + noise
        if self.passband_rolloff:
            taps = firwin2(63, [0, 0.86, 0.94, 1.0], [1.0, 1.0, 0.63, 0.3])
            x = oaconvolve(x, taps)[:n]
        gain = 10 ** (self.iq_gain_db / 20)
        phase = np.deg2rad(self.iq_phase_deg)
        x = np.asarray(x, np.complex64)
        wander = np.cumsum(rng.standard_normal(n, dtype=np.float32)) * np.float32(0.002)
        interleaved = np.empty(2 * n, np.float32)
        interleaved[0::2] = x.real * np.float32(np.sqrt(gain)) + np.float32(self.dc_offset_lsb) * (
            1 + np.float32(0.2) * np.sin(wander)
        )
        interleaved[1::2] = (x.imag * np.float32(np.cos(phase)) + x.real * np.float32(np.sin(phase))) / np.float32(
            np.sqrt(gain)
        ) + np.float32(0.7 * self.dc_offset_lsb) * (1 + np.float32(0.2) * np.cos(wander))
        interleaved += np.float32(127.5)
        np.rint(interleaved, out=interleaved)
        clipped = float(np.count_nonzero((interleaved < 0) | (interleaved > 255))) / interleaved.size
        return np.clip(interleaved, 0, 255).astype(np.uint8), clipped
