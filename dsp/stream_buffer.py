"""A growable array that is appended at the end and consumed from the front, without copying the
whole content on every append (the detector keeps samples and spectra for a lookback window)."""

from __future__ import annotations

import numpy as np


class StreamBuffer:
    """Rows of a fixed shape along axis 0; `view` is always a C-contiguous array of the live rows."""

    def __init__(self, row_shape: tuple[int, ...], dtype: np.dtype | type, capacity: int = 64) -> None:
        self._data = np.empty((capacity, *row_shape), dtype)
        self._start = 0
        self._stop = 0

    def __len__(self) -> int:
        return self._stop - self._start

    @property
    def view(self) -> np.ndarray:
        return self._data[self._start : self._stop]

    def reserve(self, rows: int) -> np.ndarray:
        """Append `rows` uninitialised rows and return them for the caller to fill."""
        live = len(self)
        if self._stop + rows > self._data.shape[0]:
            if live + rows > self._data.shape[0] // 2:
                grown = np.empty((2 * (live + rows), *self._data.shape[1:]), self._data.dtype)
                grown[:live] = self.view
                self._data = grown
            else:
                self._data[:live] = self.view
            self._start, self._stop = 0, live
        self._stop += rows
        return self._data[self._stop - rows : self._stop]

    def extend(self, rows: np.ndarray) -> None:
        self.reserve(rows.shape[0])[:] = rows

    def clear(self) -> None:
        """Drop every row, keeping the capacity."""
        self._start = self._stop = 0

    def drop_front(self, rows: int) -> None:
        self._start += min(rows, len(self))
