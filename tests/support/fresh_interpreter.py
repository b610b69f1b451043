"""Running a probe in a fresh Python process: what a test process has long compiled or imported is new there."""

from __future__ import annotations

import subprocess
import sys


def run_fresh(probe: str, timeout_s: float = 300) -> str:
    """`probe`'s standard output; its exit status must be 0 (the assertion shows its standard error)."""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout
