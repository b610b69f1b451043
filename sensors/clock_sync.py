"""The state of the system clock as the time daemon reports it (chrony, else timedatectl), never guessed."""

from __future__ import annotations

import shutil
import subprocess
import time

from cellward.messages import ClockState

UNKNOWN = ClockState(state="unknown", source="none", offset_s=None)


def _run(args: list[str]) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=2.0, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_chronyc_tracking(csv_line: str) -> ClockState | None:
    """`chronyc -c tracking`: field 5 is the system clock's offset from NTP time (s), the last the leap status."""
    fields = csv_line.strip().split(",")
    if len(fields) < 14:
        return None
    try:
        offset_s = float(fields[4])
        stratum = int(fields[2])
    except ValueError:
        return None
    synced = fields[-1].strip() != "Not synchronised" and 0 < stratum < 16
    return ClockState(state="synced" if synced else "unsynced", source="chrony", offset_s=offset_s)


def read_clock_state() -> ClockState:
    """Ask chrony, then systemd's timedatectl; `unknown` when neither answers."""
    tracking = _run(["chronyc", "-c", "tracking"])
    if tracking:
        state = parse_chronyc_tracking(tracking.splitlines()[0])
        if state is not None:
            return state
    synced = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if synced is not None and synced.strip() in ("yes", "no"):
        return ClockState(
            state="synced" if synced.strip() == "yes" else "unsynced", source="timedatectl", offset_s=None
        )
    return UNKNOWN


class ClockMonitor:
    """Reads the clock state at most every `period_s` (it costs a subprocess)."""

    def __init__(self, period_s: float = 30.0, reader=read_clock_state) -> None:
        self.period_s = period_s
        self._reader = reader
        self._state = UNKNOWN
        self._read_at = -float("inf")

    def state(self) -> ClockState:
        now = time.monotonic()
        if now - self._read_at >= self.period_s:
            self._state = self._reader()
            self._read_at = now
        return self._state
