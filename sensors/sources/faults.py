"""Scheduled faults for any source: the dongle 'unplugged' for a while, to test recovery end to end."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sensors.sources.base import IQSource, SourceFault


class FaultWindow(BaseModel):
    """The source fails (reads error, reopening finds no device) from `after_s` for `for_s` seconds."""

    model_config = ConfigDict(extra="forbid")
    after_s: float = Field(ge=0, description="seconds after the source is first opened")
    for_s: float = Field(gt=0, description="how long the device stays away")


class FaultySource:
    """Wraps a source and fails it during the configured windows, exactly as an unplugged dongle would."""

    def __init__(self, inner: IQSource, windows: list[FaultWindow]) -> None:
        self.inner = inner
        self.windows = windows
        self._t0: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _unplugged(self) -> bool:
        if self._t0 is None:
            return False
        elapsed = time.monotonic() - self._t0
        return any(w.after_s <= elapsed < w.after_s + w.for_s for w in self.windows)

    def _check(self, what: str) -> None:
        if self._unplugged():
            self.inner.counters.usb_errors += 1
            raise SourceFault(f"{self.inner.info.kind} {what} failed: device disappeared (injected fault)")

    def open(self) -> None:
        if self._t0 is None:
            self._t0 = time.monotonic()
        self._check("open")
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def tune(self, freq_hz: float) -> float:
        self._check("tune")
        return self.inner.tune(freq_hz)

    def set_gain(self, gain_db: float) -> float:
        self._check("set gain")
        return self.inner.set_gain(gain_db)

    def gains_db(self) -> list[float]:
        return self.inner.gains_db()

    def read(self, num_samples: int) -> np.ndarray:
        self._check("read")
        return self.inner.read(num_samples)
