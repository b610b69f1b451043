"""The compiled pass of `wire_time.texts_epoch_s`, in its own module so that only code reading whole batches of
timestamps imports numba (a command-line tool reading one message does not pay for it)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _digits(text: np.ndarray, first: int, count: int) -> int:
    value = 0
    for k in range(first, first + count):
        value = value * 10 + (np.int64(text[k]) - 48)
    return value


@njit(cache=True)
def epoch_s(chars: np.ndarray, width: int, digits: int) -> np.ndarray:
    """Epoch seconds of the wire texts laid end to end in `chars` (ASCII codes), `width` bytes each. Days from the
    civil date by H. Hinnant's algorithm; integer microseconds divided by 1e6, as numpy divides them."""
    n = chars.shape[0] // width
    out = np.empty(n)
    scale = 10 ** (6 - digits)
    for i in range(n):
        text = chars[i * width : (i + 1) * width]
        month = _digits(text, 5, 2)
        year = _digits(text, 0, 4) - (1 if month <= 2 else 0)  # the year counted from March: a leap day ends it
        era = year // 400
        year_of_era = year - era * 400
        day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + _digits(text, 8, 2) - 1
        days = era * 146097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year - 719468
        seconds = days * 86400 + _digits(text, 11, 2) * 3600 + _digits(text, 14, 2) * 60 + _digits(text, 17, 2)
        out[i] = (seconds * 10**6 + _digits(text, 20, digits) * scale) / 1e6
    return out
