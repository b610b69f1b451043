"""One line naming the machine a benchmark ran on, for the figures it prints."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np


def describe_machine() -> str:
    """CPU model, cores, Python, numpy and the target numba compiles the kernels for."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"numba compiles for {numba_target()}"
    )


def numba_target() -> str:
    """The CPU numba compiles the kernels for and its widest vectors. Ratios to numpy's FFT depend on it (our
    kernels are vectorised, numpy's FFT is not), and "AMD EPYC" names three generations of core;
    NUMBA_CPU_NAME and NUMBA_CPU_FEATURES measure a narrower target on the same box."""
    import llvmlite.binding as llvm
    from numba.core import codegen, config

    name = config.CPU_NAME or llvm.get_host_cpu_name()
    # as numba's own codegen reads it: an empty string (NUMBA_CPU_NAME=generic) means no features, not the host's
    chosen = config.CPU_FEATURES if config.CPU_FEATURES is not None else codegen.get_host_cpu_features()
    features = set(chosen.split(","))
    vectors = next(
        (label for flag, label in (("+avx512f", "AVX-512"), ("+avx2", "AVX2"), ("+neon", "NEON")) if flag in features),
        "no wide vectors",
    )
    return f"{name} ({vectors})"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
