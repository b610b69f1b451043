"""IQ mode: the complex baseband one sensor's dongle delivers for any tuning and time window.

Only the bursts on the air in the window and inside the tuned band are synthesised, each at the level
the world gives it at this sensor (transmit power, propagation, fading), at its true time (so the same
burst sits at the same instant at every sensor), shifted by the sensor's tuner error, and the sum goes
through the sensor's receiver model (noise, passband, IQ imbalance, DC, 8 bits).

Levels: the receiver's thermal noise is kT(F) referred to the antenna, -174 dBm/Hz + noise figure, so a
burst of P dBm lands at 10^((P - N0) / 10) * (2 sigma^2 / fs) LSB^2, where 2 sigma^2 is the receiver's
noise power in LSB^2 over the sample rate fs. A phone a few metres away (-65 dBm) clips the ADC at the
nominal gain, as on a real RTL-SDR (SYSTEM.md 3.3). A sensor node turns dBFS into dBm with its power
calibration, which a site measures per unit with a signal generator; `dbfs_to_dbm_at_0db` is that
measurement for a simulated dongle (about -34 dBm, against the -12 of a typical R820T2 the node assumes
unless told: uncalibrated, an IQ-mode node reads every level some 20 dB high).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from cellward.recording import to_complex64
from cellward.site import Site
from sim.signals.receiver import Receiver
from sim.waveforms import POOL_SIZE, WIDEBAND_WAVES, burst_samples, continuous_samples, wideband_samples
from sim.world import THERMAL_DBM_PER_HZ, World, sensor_dongles

NOMINAL_GAIN_DB = 40.2  # the tuner gain at which levels land as above
FULL_SCALE_LSB = 127.5  # an 8-bit sample's full scale about its midpoint: 1.0 once converted to complex64


def dbfs_to_dbm_at_0db(receiver: Receiver, noise_figure_db: float, sample_rate_hz: float) -> float:
    """The dBm at a simulated dongle's antenna input that reads 0 dBFS at 0 dB tuner gain (the sensors'
    `power_calibration.dbfs_to_dbm_at_0db`), at this sample rate."""
    noise_dbm = THERMAL_DBM_PER_HZ + noise_figure_db + 10 * math.log10(sample_rate_hz)
    return noise_dbm + 10 * math.log10(FULL_SCALE_LSB**2 / (2 * receiver.noise_sigma_lsb**2)) + NOMINAL_GAIN_DB


def simulated_dongle_calibration(site: Site, seed: int, sensor_id: str, sample_rate_hz: float) -> float:
    """`dbfs_to_dbm_at_0db` of one sensor's dongle in a world of this site and scenario seed, without planning
    the world: what a node running against the simulator puts in its `power_calibration`."""
    index = [s.id for s in site.sensors].index(sensor_id)
    receivers, noise_figures_db = sensor_dongles(seed, len(site.sensors))
    return dbfs_to_dbm_at_0db(receivers[index], float(noise_figures_db[index]), sample_rate_hz)


class SensorFeed:
    """The dongle of one sensor of a world. `gain_db` moves signal and noise together (tuner gain
    relative to nominal) and `ppm_correction` offsets the tuner's crystal error: what an rtl_tcp client
    changes with its gain and frequency-correction commands."""

    def __init__(self, world: World, sensor_id: str, gain_db: float = 0.0, ppm_correction: float = 0.0) -> None:
        if sensor_id not in world.sensor_index:
            known = ", ".join(world.sensor_index) or "none"
            raise KeyError(f"sensor {sensor_id!r} is not in site {world.site.name} (sensors: {known})")
        self.world = world
        self.sensor_id = sensor_id
        self.sensor = world.sensor_index[sensor_id]
        self.gain_db = gain_db
        self.ppm_correction = ppm_correction
        self.last_clipped_fraction = 0.0

    def set_tuner_gain(self, gain_db: float) -> None:
        """The tuner's gain as a client sets it (dB on the R820T's scale): levels move with it from the nominal."""
        self.gain_db = gain_db - NOMINAL_GAIN_DB

    @property
    def receiver(self) -> Receiver:
        """The sensor's receiver model at the current gain and frequency correction."""
        base = self.world.receivers[self.sensor]
        return dataclasses.replace(
            base, noise_sigma_lsb=base.noise_sigma_lsb * 10 ** (self.gain_db / 20), ppm=base.ppm - self.ppm_correction
        )

    def signal_lsb(self, center_freq_hz: float, sample_rate_hz: float, start_s: float, n_samples: int) -> np.ndarray:
        """The sum of all emissions at the ADC input, before noise and quantisation (complex LSB)."""
        world, fs = self.world, sample_rate_hz
        receiver = self.receiver
        end_s = start_s + n_samples / fs
        half = fs / 2
        ids = world.in_capture(start_s, end_s, center_freq_hz, fs)
        signal = np.zeros(n_samples, np.complex64)
        if ids.size == 0:
            return signal
        b = world.bursts
        rx_dbm = world.received_dbm(ids, self.sensor)
        n0_dbm_hz = float(world.noise_dbm(self.sensor, 1.0))
        lsb2_per_unit = receiver.noise_density(fs)  # LSB^2 per Hz of thermal noise
        shift = receiver.apparent_shift_hz(center_freq_hz)
        first_index = round(start_s * fs)  # sample grid anchored at t = 0: the same instant at every sensor
        for burst, power_dbm in zip(ids, rx_dbm, strict=True):
            wave = b.wave[burst]
            offset = b.freq_hz[burst] - center_freq_hz + shift
            width = b.bandwidth_hz[burst]
            power = 10 ** ((power_dbm - n0_dbm_hz) / 10) * lsb2_per_unit
            begin = max(b.start_s[burst], start_s)
            stop = min(b.start_s[burst] + b.duration_s[burst], end_s)
            if wave in WIDEBAND_WAVES:
                low, high = max(offset - width / 2, -half), min(offset + width / 2, half)
                a, z = round(begin * fs) - first_index, round(stop * fs) - first_index
                if z <= a or high <= low:
                    continue
                samples = wideband_samples(wave, fs, z - a, low, high, world.seed + int(burst), a + first_index)
                signal[a:z] += np.sqrt(power * (high - low) / width).astype(np.float32) * samples
                continue
            if wave == "cw":
                a, z = round(begin * fs) - first_index, round(stop * fs) - first_index
                samples = continuous_samples(wave, fs, begin, z - a, world.seed + int(burst))
                t0 = begin
            else:
                samples, lead_s = burst_samples(wave, fs, int(burst) % POOL_SIZE)
                t0 = b.start_s[burst] - lead_s
                a = round(t0 * fs) - first_index
                z = a + samples.shape[0]
            lo, hi = max(a, 0), min(z, n_samples)
            if hi <= lo:
                continue
            part = samples[lo - a : hi - a]
            t = (np.arange(lo, hi) + first_index) / fs
            rotate = np.exp(2j * np.pi * offset * t).astype(np.complex64)
            signal[lo:hi] += np.float32(np.sqrt(power)) * part * rotate
        return signal

    def read_cu8(self, center_freq_hz: float, sample_rate_hz: float, start_s: float, n_samples: int) -> np.ndarray:
        """Interleaved unsigned 8-bit I/Q, as the dongle's USB stream (2 * n_samples bytes)."""
        signal = self.signal_lsb(center_freq_hz, sample_rate_hz, start_s, n_samples)
        rng = np.random.default_rng(
            [self.world.seed, self.sensor, round(start_s * sample_rate_hz), int(center_freq_hz), int(sample_rate_hz)]
        )
        cu8, self.last_clipped_fraction = self.receiver.receive(signal, rng)
        return cu8

    def read(self, center_freq_hz: float, sample_rate_hz: float, start_s: float, n_samples: int) -> np.ndarray:
        """Complex64 samples (ADC full scale = 1.0) from simulation time `start_s` at this tuning."""
        return to_complex64(self.read_cu8(center_freq_hz, sample_rate_hz, start_s, n_samples), "cu8")
