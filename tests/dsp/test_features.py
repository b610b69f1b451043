"""Burst features on degenerate regions: a sensor node must never crash on a dwell."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.bursts import core_frames
from dsp.features import _spectral_shape


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_region_below_the_floor_has_no_shape_rather_than_a_division_by_zero():
    # the demo's IQ node died on this (ZeroDivisionError): no frame of the region stands above the floor,
    # so core_frames chose none and the band profile was the mean of nothing
    below_floor = np.full((3, 5), 0.5, np.float32)
    assert core_frames(below_floor.sum(axis=1) - 5).all()
    assert _spectral_shape(below_floor, 10e3) == {"bw_3db_hz": 0.0, "flatness": 0.0}
    burst = np.ones((4, 6), np.float32)
    burst[:, 2:4] = 20.0
    shape = _spectral_shape(burst, 10e3)
    assert shape["bw_3db_hz"] > 0 and 0 < shape["flatness"] <= 1
