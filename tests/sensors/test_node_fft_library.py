"""A node configured with `fft_library: fftw` runs its detector's FFT by FFTW, and hears its phone with it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from dsp.fft_libraries.fftw import FftwBatches
from sensors.config import load_sensor_config
from tests.sensors.harness import make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker


def test_a_node_with_fftw_hears_its_phone_through_fftw(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_keys(tmp_path)
    config = load_sensor_config(write_config(tmp_path, mosquitto.port, fft_library="fftw"))
    transform = FftwBatches.transform
    frames_by_fftw = [0]

    def counted(batches: FftwBatches, count: int) -> np.ndarray:
        frames_by_fftw[0] += count
        return transform(batches, count)

    monkeypatch.setattr(FftwBatches, "transform", counted)
    with running_node(tmp_path / "sensor.yaml", config) as running:
        deadline = time.monotonic() + 60
        while running.node.counts.dwells < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        dwells, bursts = running.node.counts.dwells, running.node.counts.bursts

    assert dwells >= 4, f"the node scanned ({dwells} dwells in 60 s)"
    assert frames_by_fftw[0] >= 1500 * (dwells - 1), f"{frames_by_fftw[0]} frames by FFTW in {dwells} dwells of 90 ms"
    assert bursts >= 10 * (dwells - 1), f"{bursts} bursts of the GSM call in {dwells} dwells"
