"""Spectrogram of IQ for the incident page and the evidence report: a compact, quantised time x frequency matrix.

scipy.signal.spectrogram (periodic Hann, no overlap, two-sided, density scaling) over the whole
recording, frames averaged in groups down to at most `max_rows` rows and bins merged down to at most
`max_cols` columns; values are dB relative to full scale per Hz (dBFS/Hz: the recording carries no
power calibration), quantised to one byte in `step_db` steps above `ref_db`.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy import signal

from cellward.recording import open_recording

MAX_SAMPLES = 1 << 24  # 16 M samples (7 s at 2.4 MS/s): more is not shown, and said so


@dataclass(frozen=True)
class Spectrogram:
    start: str | None  # core:datetime of the first sample
    centre_hz: float
    f0_hz: float  # centre of column 0
    df_hz: float
    dt_s: float  # row spacing
    rows: int
    cols: int
    ref_db: float
    step_db: float
    levels: str  # base64 of rows x cols bytes, row-major, time ascending, frequency ascending
    duration_s: float
    truncated: bool

    def as_json(self) -> dict:
        return asdict(self)

    def matrix_db(self) -> np.ndarray:
        raw = np.frombuffer(base64.b64decode(self.levels), np.uint8).reshape(self.rows, self.cols)
        return self.ref_db + raw.astype(np.float32) * self.step_db


def spectrogram(meta_path: Path, nfft: int = 256, max_rows: int = 200, max_cols: int = 256) -> Spectrogram:
    """The spectrogram of the recording at `meta_path` (RecordingError when it cannot be read)."""
    recording = open_recording(meta_path)
    count = min(recording.num_samples, MAX_SAMPLES)
    samples = np.concatenate(list(recording.blocks(1 << 20)))[:count] if count else np.zeros(0, np.complex64)
    result = spectrogram_of_samples(
        samples, recording.sample_rate_hz, recording.center_freq_hz, nfft, max_rows, max_cols
    )
    return replace(result, start=recording.datetime, truncated=count < recording.num_samples)


def spectrogram_of_samples(
    samples: np.ndarray,
    sample_rate_hz: float,
    centre_hz: float,
    nfft: int = 256,
    max_rows: int = 200,
    max_cols: int = 256,
) -> Spectrogram:
    """The spectrogram of complex baseband `samples` (full scale 1.0) tuned to `centre_hz`."""
    fs = sample_rate_hz
    nfft = min(nfft, max(16, len(samples)))
    if len(samples) < nfft:
        samples = np.concatenate([samples, np.zeros(nfft - len(samples), np.complex64)])
    freqs, _, power = signal.spectrogram(
        samples, fs, window="hann", nperseg=nfft, noverlap=0, return_onesided=False, detrend=False
    )
    power = np.fft.fftshift(power, axes=0).T  # (frames, bins), frequency ascending
    freqs = np.fft.fftshift(freqs)
    group = max(1, -(-power.shape[0] // max_rows))
    rows = max(1, power.shape[0] // group)
    power = power[: rows * group].reshape(rows, group, -1).mean(axis=1)
    merge = max(1, -(-power.shape[1] // max_cols))
    cols = power.shape[1] // merge
    power = power[:, : cols * merge].reshape(rows, cols, merge).mean(axis=2)
    power_db = 10 * np.log10(np.maximum(power, 1e-30))
    step_db = 0.5
    ref_db = float(max(np.floor(np.percentile(power_db, 1)), np.ceil(power_db.max()) - 255 * step_db))
    levels = np.clip(np.rint((power_db - ref_db) / step_db), 0, 255).astype(np.uint8)
    return Spectrogram(
        start=None,
        centre_hz=centre_hz,
        f0_hz=centre_hz + float(freqs[0]) + (merge - 1) * fs / nfft / 2,
        df_hz=fs / nfft * merge,
        dt_s=group * nfft / fs,
        rows=rows,
        cols=cols,
        ref_db=ref_db,
        step_db=step_db,
        levels=base64.b64encode(levels.tobytes()).decode("ascii"),
        duration_s=len(samples) / fs,
        truncated=False,
    )
