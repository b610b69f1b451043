"""The gauges a node reads from /proc, /sys and its spool's database are read at most once a second, not every
dwell (eight a second): reading them cost the node 0.45 ms of a dwell's 3 ms of its radio loop."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

import pytest

import sensors.node
from sensors.config import load_sensor_config
from sensors.node import SensorNode
from tests.sensors.harness import make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker


def test_host_figures_are_read_once_a_second_and_exported_from_the_first_dwell(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_keys(tmp_path)
    config = load_sensor_config(write_config(tmp_path, mosquitto.port))
    reads: list[float] = []
    read_host_figures = SensorNode._update_host_figures

    def counted(node: SensorNode) -> None:
        reads.append(time.monotonic())
        read_host_figures(node)

    monkeypatch.setattr(sensors.node, "rss_mb", lambda: 123.0)
    monkeypatch.setattr(SensorNode, "_update_host_figures", counted)
    with running_node(tmp_path / "sensor.yaml", config) as running:
        deadline = time.monotonic() + 60
        while running.node.counts.dwells < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        first_dwells = running.node.counts.dwells
        port = running.node.http.port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        dwells_before = running.node.counts.dwells
        time.sleep(3.0)
        dwells = running.node.counts.dwells - dwells_before

    assert first_dwells >= 1 and re.search(r"^cellward_sensor_rss_mb\{[^}]*\} 123\.0$", metrics, re.M), (
        "the figure is in /metrics from the first dwell on"
    )
    assert dwells >= 16, f"the node scanned its eight dwells a second ({dwells} in 3 s)"
    assert len(reads) >= 3, "the figures are still read every second"
    span_s = reads[-1] - reads[0]
    assert len(reads) <= span_s / 1.0 + 1, f"{len(reads)} reads in {span_s:.1f} s: at most one a second"
