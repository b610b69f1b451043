"""A node searches each dwell while it reads the next, so a phone in band (tens of ms of searching a dwell)
does not push the next read past its slot."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dsp.detector import Detector
from sensors.config import load_sensor_config
from sensors.sources.scene import SceneSource
from tests.sensors.harness import make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker


def test_a_dwell_is_searched_while_the_next_is_read(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_keys(tmp_path)
    config = load_sensor_config(write_config(tmp_path, mosquitto.port))
    read, process = SceneSource.read, Detector.process
    reads = threading.Condition()
    read_count = [0]
    overlapped: list[bool] = []
    search_threads: set[str] = set()

    def counted_read(source: SceneSource, num_samples: int) -> np.ndarray:
        with reads:
            read_count[0] += 1
            reads.notify_all()
        return read(source, num_samples)

    def search_awaiting_a_read(detector: Detector, block: np.ndarray) -> list:
        search_threads.add(threading.current_thread().name)
        with reads:
            before = read_count[0]
            # searched in the radio loop's own thread, no read could begin until this search ends
            overlapped.append(reads.wait_for(lambda: read_count[0] > before, timeout=5.0))
        return process(detector, block)

    monkeypatch.setattr(SceneSource, "read", counted_read)
    monkeypatch.setattr(Detector, "process", search_awaiting_a_read)
    with running_node(tmp_path / "sensor.yaml", config) as running:
        deadline = time.monotonic() + 60
        while running.node.counts.dwells < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        dwells, loop_thread = running.node.counts.dwells, running.thread.name

    assert dwells >= 4, f"the node scanned ({dwells} dwells in 60 s)"
    assert loop_thread not in search_threads, "dwells are searched beside the radio loop, not in it"
    assert all(overlapped[:dwells]), f"each search saw the next read begin: {overlapped}"
