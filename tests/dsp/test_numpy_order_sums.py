"""The segmentation and feature kernels sum as numpy does, so moving a step into numba changes no burst.

Their tests compare floats against thresholds; a sum formed in another order differs in the last bits and can
flip one. These pin the kernels' sums to numpy's reductions of the same arrays, bit for bit (a numpy upgrade
that changes its summation order fails here rather than shifting detections quietly).
"""

from __future__ import annotations

import numpy as np
import pytest

from dsp.bursts import _column_sums, _full_sum, _row_sums, pairwise_sum


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_sum_equals_numpys_sum_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    for n in [*range(0, 300), 1000, 4097, 20000]:
        values = (rng.normal(size=n) * rng.exponential(size=n) * 1e3).astype(dtype)
        assert pairwise_sum(values) == values.sum(), f"contiguous, n={n}"
        assert pairwise_sum(values[::3]) == values[::3].sum(), f"strided, n={n}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_column_and_full_sums_of_views_equal_numpys_bit_for_bit(dtype):
    rng = np.random.default_rng(2)
    for _ in range(300):
        frames, bins, width = int(rng.integers(1, 300)), int(rng.integers(1, 150)), 160
        parent = ((rng.exponential(size=(frames, width)) - 1.0) * (rng.random((frames, width)) > 0.3)).astype(dtype)
        first = int(rng.integers(0, width - bins + 1))
        view = parent[:, first : first + bins]
        assert np.array_equal(_row_sums(view), view.sum(axis=1)), f"rows of {view.shape}"
        assert np.array_equal(_column_sums(view), view.sum(axis=0)), f"columns of {view.shape}"
        assert _full_sum(view, width) == view.sum(), f"all of {view.shape} in rows of {width}"
    tall = (rng.exponential(size=(20000, 3)) - 1.0).astype(dtype)  # longer than numpy's 8192-element buffer
    for view in (tall[:, :1], tall[:, :2], tall):
        assert _full_sum(view, 3) == view.sum(), f"all of {view.shape}"
        assert np.array_equal(_column_sums(view), view.sum(axis=0)), f"columns of {view.shape}"
