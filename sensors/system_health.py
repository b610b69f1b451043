"""The host's figures for stats and /metrics: process CPU share, resident memory, SoC temperature."""

from __future__ import annotations

import os
import time
from pathlib import Path

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")  # the Pi's SoC sensor, millidegrees C


def rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def temperature_c(zone: Path | None = None) -> float | None:
    """The SoC temperature in °C from a thermal zone (millidegrees), None where there is none (not a Pi)."""
    try:
        return int((THERMAL_ZONE if zone is None else zone).read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


class CpuMeter:
    """Process CPU time over wall time since the previous call, in percent of one core."""

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def percent(self) -> float:
        cpu, wall = time.process_time(), time.monotonic()
        share = (cpu - self._cpu) / max(wall - self._wall, 1e-6)
        self._cpu, self._wall = cpu, wall
        return round(100 * share, 2)
