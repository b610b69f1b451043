"""`cellward bench sensor`: CPU share of one core and memory of one sensor scanning at 2.4 MS/s.

The sensor runs as its own process (`cellward sensor run`) on a SigMF replay paced to real time, so
the figures are the whole node's: reading and converting 8-bit samples (as the RTL-SDR source does with
a dongle), gain and clipping checks, the detector on every dwell, activity reports, signing and the
SQLite spool (the broker is unreachable, so every message is spooled). CPU is measured from
/proc/<pid>/stat over a window that starts a warm-up after the node's first dwell (imports and, in a fresh
checkout, numba's compilation come before it); peak RSS is the kernel's high-water mark (VmHWM), start-up
included; RSS at end is VmRSS when the window closes. Dwells per second come from the node's /metrics.
Two recordings: receiver noise only (most of a sensor's life) and a GSM call in the band.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import yaml

from cellward.machine import describe_machine
from cellward.ports import free_port
from cellward.recording import write_recording
from cellward.signing import NodeKey
from sensors.scan_plan import ScanConfig

FS = 2.4e6
CENTRE_HZ = 897.0e6
STARTUP_TIMEOUT_S = 300.0  # compiling every numba kernel in a fresh checkout takes minutes on a slow box


def _recording(directory: Path, name: str, with_phone: bool) -> Path:
    from sim.signals import gsm
    from sim.signals.receiver import Receiver
    from sim.signals.scene import Scene

    scene = Scene(FS, CENTRE_HZ, 2.0, Receiver(), seed=1)
    if with_phone:
        scene.add(gsm.call(FS, 897.4e6, 2, 0.0, 2.0, 25.0, np.random.default_rng(1)))
    cu8, _, _ = scene.render()
    return write_recording(directory / name, cu8, datatype="cu8", sample_rate_hz=FS, center_freq_hz=CENTRE_HZ)


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _proc_status_mb(pid: int, field: str) -> float:
    """VmHWM (peak resident) or VmRSS (resident now) of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _dwells(port: int) -> float:
    """The node's dwell count from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("cellward_sensor_dwells_total"):
                return float(line.split()[-1])
    raise RuntimeError("the sensor's /metrics has no cellward_sensor_dwells_total")


def _wait_until_scanning(process: subprocess.Popen, port: int, timeout_s: float) -> None:
    """Until the node has searched a dwell: a first run in a fresh tree compiles numba's kernels first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sensor exited early with status {process.returncode}")
        try:
            if _dwells(port) > 0:
                return
        except OSError:  # its /metrics is not up yet
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the sensor searched no dwell within {timeout_s:.0f} s")


def _measure(
    directory: Path, recording: Path, seconds: float, warmup_s: float, fft_library: str
) -> tuple[float, float, float, float]:
    """CPU % of one core, peak and final RSS (MB), and dwells searched per second."""
    port = free_port()
    config = {
        "site": "bench",
        "sensor_id": "bench-1",
        "source": {"kind": "sigmf", "path": str(recording), "realtime": True, "loop": True},
        "mqtt": {"host": "127.0.0.1", "port": 9, "reconnect_max_s": 30},  # discard port: nobody listens
        "signing_key": str(directory / "bench.pem"),
        "state_dir": str(directory / f"state-{recording.stem}"),
        "http": {"host": "127.0.0.1", "port": port},
        "stats_interval_s": 10,
        "fft_library": fft_library,
    }
    path = directory / f"{recording.stem}.yaml"
    path.write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "cellward.cli", "sensor", "run", "--config", str(path), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_scanning(process, port, STARTUP_TIMEOUT_S)
        time.sleep(warmup_s)
        if process.poll() is not None:
            raise RuntimeError(f"the sensor exited early with status {process.returncode}")
        dwells0, cpu0, wall0 = _dwells(port), _proc_cpu_s(process.pid), time.monotonic()
        time.sleep(seconds)
        dwells1, cpu1, wall1 = _dwells(port), _proc_cpu_s(process.pid), time.monotonic()
        hwm, rss = _proc_status_mb(process.pid, "VmHWM"), _proc_status_mb(process.pid, "VmRSS")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    wall = wall1 - wall0
    return 100 * (cpu1 - cpu0) / wall, hwm, rss, (dwells1 - dwells0) / wall


def run_bench(seconds: float, warmup_s: float = 8.0, fft_library: str = "pocketfft") -> int:
    with tempfile.TemporaryDirectory(prefix="cellward-bench-sensor-") as tmp:
        directory = Path(tmp)
        NodeKey.generate("bench-1").save(directory / "bench.pem")
        cases = [
            ("receiver noise only", _recording(directory, "quiet", with_phone=False)),
            ("GSM call in band", _recording(directory, "gsm", with_phone=True)),
        ]
        print(f"cellward bench sensor  {time.strftime('%Y-%m-%d')}  {describe_machine()}")
        print(
            f"one sensor, SigMF replay at {FS / 1e6:.1f} MS/s in real time, {seconds:.0f} s after {warmup_s:.0f} s "
            "warm-up; targets: <= 10 % of one core, <= 200 MB; a node that keeps up searches every slot "
            f"({1 / ScanConfig().slot_s:.0f} dwells a second); the detector's FFT by {fft_library}"
        )
        print(f"{'case':<24}{'CPU % of one core':>20}{'peak RSS MB':>14}{'RSS at end MB':>16}{'dwells/s':>10}")
        for label, recording in cases:
            cpu, hwm, rss, dwells = _measure(directory, recording, seconds, warmup_s, fft_library)
            print(f"{label:<24}{cpu:>20.1f}{hwm:>14.0f}{rss:>16.0f}{dwells:>10.2f}")
    return 0
