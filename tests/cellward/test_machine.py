"""The benchmarks name the target numba compiles for, since the ratios they print depend on it."""

from __future__ import annotations

import pytest
from numba.core import config

from cellward.machine import numba_target


@pytest.mark.parametrize(
    ("name", "features", "expected"),
    [
        ("znver3", "+64bit,+avx,+avx2,+fma,-avx512f,-avx512bw", "znver3 (AVX2)"),
        ("znver5", "+avx2,+avx512f,+avx512bw", "znver5 (AVX-512)"),
        ("cortex-a72", "+neon,+crc", "cortex-a72 (NEON)"),
        ("x86-64", "+sse2,-avx", "x86-64 (no wide vectors)"),
        ("generic", "", "generic (no wide vectors)"),  # NUMBA_CPU_NAME=generic: none, not the host's
    ],
)
def test_the_bench_names_the_cpu_and_widest_vectors_numba_compiles_for(
    monkeypatch: pytest.MonkeyPatch, name: str, features: str, expected: str
) -> None:
    monkeypatch.setattr(config, "CPU_NAME", name)
    monkeypatch.setattr(config, "CPU_FEATURES", features)
    assert numba_target() == expected
