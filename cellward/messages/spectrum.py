"""Live power spectra of a sensor's dwells while the controller watches (spectrum.v1.json).

One message per dwell: the spectrum the detector already computed, averaged (`mean`) and max-held
(`peak`) over the dwell, in dBm after the sensor's calibration, quantised to one byte per bin:
power_dbm = ref_dbm + level * step_db. Levels travel as standard base64 of the bytes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from cellward.messages.envelope import Envelope
from cellward.messages.wire_time import UtcMs

MAX_SPECTRUM_BINS = 512
STREAM_ID = r"^[A-Za-z0-9_-]{1,64}$"
B64 = r"^[A-Za-z0-9+/]*={0,2}$"


def decode_levels(text: str) -> np.ndarray:
    """Base64 text -> uint8 levels; ValueError when it is not base64."""
    try:
        return np.frombuffer(base64.b64decode(text, validate=True), np.uint8)
    except (binascii.Error, ValueError):
        raise ValueError("levels are not standard base64") from None


def encode_levels(levels: np.ndarray) -> str:
    return base64.b64encode(np.asarray(levels, np.uint8).tobytes()).decode("ascii")


class SpectrumFrame(Envelope):
    """The spectrum of one dwell, sent while a `stream_spectrum` command runs."""

    schema_name: Literal["cellward.spectrum/1"] = Field(default="cellward.spectrum/1", alias="schema")
    stream: str = Field(pattern=STREAM_ID, description="id of the stream_spectrum command that asked for it")
    start: UtcMs = Field(description="first sample of the dwell, UTC")
    listen_s: float = Field(gt=0, le=10, description="length of the dwell, s")
    centre_hz: float = Field(gt=0, description="tuner centre, corrected for the measured ppm, Hz")
    start_hz: float = Field(gt=0, description="centre frequency of the first bin, Hz")
    bin_hz: float = Field(gt=0, description="spacing (and width) of the bins, Hz")
    bins: int = Field(ge=1, le=MAX_SPECTRUM_BINS, description="number of bins in mean and peak")
    band: str | None = Field(max_length=16, description="uplink band scanned in this dwell, None outside one")
    gain_db: float = Field(description="tuner gain in use, dB")
    calibration_db: float = Field(description="power_dbm = power_dbfs + calibration_db at this gain")
    ref_dbm: float = Field(description="power of level 0, dBm per bin")
    step_db: float = Field(gt=0, le=10, description="dB per level")
    mean: str = Field(pattern=B64, max_length=4 * MAX_SPECTRUM_BINS // 3 + 4, description="mean power per bin")
    peak: str = Field(pattern=B64, max_length=4 * MAX_SPECTRUM_BINS // 3 + 4, description="max-hold per bin")

    @model_validator(mode="after")
    def _levels_fill_the_bins(self) -> SpectrumFrame:
        for name in ("mean", "peak"):
            if len(decode_levels(getattr(self, name))) != self.bins:
                raise ValueError(f"{name} must hold exactly `bins` = {self.bins} levels")
        return self

    def power_dbm(self, which: Literal["mean", "peak"] = "peak") -> np.ndarray:
        """The levels back in dBm per bin."""
        return self.ref_dbm + decode_levels(getattr(self, which)).astype(np.float32) * self.step_db

    def freqs_hz(self) -> np.ndarray:
        return self.start_hz + self.bin_hz * np.arange(self.bins)
