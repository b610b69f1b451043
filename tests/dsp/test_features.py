"""Burst features on degenerate regions: a sensor node must never crash on a dwell."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.features import _spectral_shape


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_region_without_a_measurable_profile_has_no_shape_rather_than_a_division_by_zero():
    # the demo's IQ node died on this (ZeroDivisionError) after the re-measured rectangles landed
    unmeasurable = np.full((3, 5), np.nan, np.float32)
    assert _spectral_shape(unmeasurable, 10e3) == {"bw_3db_hz": 0.0, "flatness": 0.0}
    burst = np.ones((4, 6), np.float32)
    burst[:, 2:4] = 20.0
    shape = _spectral_shape(burst, 10e3)
    assert shape["bw_3db_hz"] > 0 and 0 < shape["flatness"] <= 1
