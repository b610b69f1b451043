"""Live spectra for the control room: while a `stream_spectrum` command runs, each dwell's spectrum goes out.

No second FFT: the detector hands every block of power spectra it computes to a `DwellSpectrum` (its
`spectrum_tap`), which keeps their running sum and maximum. After the dwell the searched part of the
tuning is turned into dBm per bin (power_dbfs + the gain's calibration), merged down to at most
MAX_SPECTRUM_BINS bins, and quantised to one byte per bin in STEP_DB steps above a per-frame reference
(the weakest bin, or lower than the strongest by the 127.5 dB a byte spans, whichever is higher).
Frames are published at QoS 0 and never spooled: a live view has no use for old spectra.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cellward.messages import MAX_SPECTRUM_BINS, Envelope, SpectrumFrame, encode_levels
from dsp.spectrum import SpectrumGeometry
from sensors.activity import Dwell

STEP_DB = 0.5
FLOOR_POWER = 1e-20  # full-scale units; keeps log10 finite on an all-zero (dead) input


class DwellSpectrum:
    """Sum and max-hold of the power spectra of one dwell; a Detector's `spectrum_tap`."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.peak: np.ndarray | None = None
        self.frames = 0

    def __call__(self, spectra: np.ndarray) -> None:
        if len(spectra) == 0:
            return
        total, peak = spectra.sum(axis=0, dtype=np.float64), spectra.max(axis=0)
        if self.total is None or self.peak is None:
            self.total, self.peak = total, peak
        else:
            self.total += total
            np.maximum(self.peak, peak, out=self.peak)
        self.frames += len(spectra)


def _merge(power: np.ndarray, factor: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    whole = len(power) // factor * factor
    return reduce(power[:whole].reshape(-1, factor), axis=1)


def _quantise(power_dbm: np.ndarray, ref_dbm: float) -> str:
    return encode_levels(np.clip(np.rint((power_dbm - ref_dbm) / STEP_DB), 0, 255).astype(np.uint8))


class SpectrumStream:
    """Whether a stream runs, for which command and until when; builds and sends one frame per dwell."""

    def __init__(self, site: str, sensor_id: str, send: Callable[[Envelope, str], bool]) -> None:
        self.site = site
        self.sensor_id = sensor_id
        self.send = send
        self.stream_id: str | None = None
        self.until_s = -math.inf
        self.sent = 0
        self.not_sent = 0  # broker away: a live frame is dropped, never queued

    def start(self, stream_id: str, duration_s: float, now_s: float) -> None:
        """Start (or replace) the stream; it stops by itself after `duration_s`."""
        self.stream_id, self.until_s = stream_id, now_s + duration_s

    def tap(self, now_s: float) -> DwellSpectrum | None:
        """An accumulator for the next dwell while a stream runs, else None (the detector then taps nothing)."""
        if self.stream_id is None or now_s >= self.until_s:
            self.stream_id = None
            return None
        return DwellSpectrum()

    def frame(
        self, spectrum: DwellSpectrum, geometry: SpectrumGeometry, dwell: Dwell, band: str | None, now_s: float
    ) -> SpectrumFrame | None:
        """The frame of one dwell's spectrum, restricted to [dwell.low_hz, dwell.high_hz]; None without frames."""
        if spectrum.total is None or spectrum.peak is None or self.stream_id is None:
            return None
        offsets_hz = (np.arange(geometry.nfft) - geometry.nfft / 2) * geometry.bin_hz
        searched = np.flatnonzero(
            (dwell.centre_hz + offsets_hz >= dwell.low_hz) & (dwell.centre_hz + offsets_hz <= dwell.high_hz)
        )
        if len(searched) == 0:
            return None
        mean = (spectrum.total / spectrum.frames)[searched]
        peak = spectrum.peak[searched].astype(np.float64)
        factor = -(-len(searched) // MAX_SPECTRUM_BINS)
        if factor > 1:
            mean, peak = _merge(mean, factor, np.mean), _merge(peak, factor, np.max)
        mean_dbm = 10 * np.log10(np.maximum(mean, FLOOR_POWER)) + dwell.calibration_db
        peak_dbm = 10 * np.log10(np.maximum(peak, FLOOR_POWER)) + dwell.calibration_db
        # level 0 at the floor, unless that would clip the top: 255 steps reach just over the strongest bin
        ref_dbm = float(max(np.floor(mean_dbm.min()), np.ceil(peak_dbm.max()) - 255 * STEP_DB))
        bin_hz = geometry.bin_hz * factor
        first_hz = dwell.centre_hz + offsets_hz[searched[0]] + (factor - 1) * geometry.bin_hz / 2
        return SpectrumFrame(
            site=self.site,
            sender=self.sensor_id,
            ts=now_s,
            seq=1,
            stream=self.stream_id,
            start=dwell.start_s,
            listen_s=round(dwell.listen_s, 6),
            centre_hz=dwell.centre_hz,
            start_hz=first_hz,
            bin_hz=bin_hz,
            bins=len(mean_dbm),
            band=band,
            gain_db=dwell.gain_db,
            calibration_db=round(dwell.calibration_db, 2),
            ref_dbm=ref_dbm,
            step_db=STEP_DB,
            mean=_quantise(mean_dbm, ref_dbm),
            peak=_quantise(peak_dbm, ref_dbm),
        )

    def publish(
        self, spectrum: DwellSpectrum, geometry: SpectrumGeometry, dwell: Dwell, band: str | None, now_s: float
    ) -> None:
        frame = self.frame(spectrum, geometry, dwell, band, now_s)
        if frame is None:
            return
        if self.send(frame, "spectrum"):
            self.sent += 1
        else:
            self.not_sent += 1
