"""The node on the simulator: its SensorFeed as a source, and its rtl_tcp server through our rtl_tcp client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.commands import load_world
from sim.rtl_tcp_server import RtlTcpServer
from sim.world import World
from tests.sensors.harness import Listener, make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker

SCENARIO = """\
name: sensor-test
site: small
seed: 5
duration_s: 600
phones:
  - id: burner
    band: B8
    operator: O2
    place: {position: [3, 2, 1.5]}
    tx_power_dbm: 0
    activities: [{kind: gsm_call, start_s: 0, duration_s: 600}]
"""
SENSOR = "A0-1"


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


def _carrier_hz(world: World) -> float:
    first = next(iter(world.truth(0.0, 1.0)))
    return float(first["freq_hz"])


def _gsm_reports(listener: Listener, carrier_hz: float) -> list[dict]:
    return [
        r
        for batch in listener.of("detections")
        for r in batch["reports"]
        if abs(r["freq_hz"] - carrier_hz) <= 200e3 and r["technology"] == "gsm"
    ]


def test_node_on_the_simulated_site_reports_the_phone(
    tmp_path: Path, scenario: Path, mosquitto: MosquittoBroker
) -> None:
    make_keys(tmp_path)
    carrier = _carrier_hz(load_world(None, scenario))
    config = write_config(
        tmp_path,
        mosquitto.port,
        source={"kind": "sim", "scenario": "scenario.yaml", "sensor": SENSOR},
        scan={"bands": ["B8"], "range_hz": [carrier - 1e6, carrier + 1e6]},
    )
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(config):
            listener.wait_for(lambda lst: _gsm_reports(lst, carrier), 40, f"a GSM report near {carrier / 1e6} MHz")
    finally:
        listener.close()
    report = _gsm_reports(listener, carrier)[0]
    assert report["band"] == "B8" and "O2" in report["operators"], report


@pytest.fixture
def sim_server(scenario: Path) -> Iterator[tuple[RtlTcpServer, float]]:
    """h-sim's rtl_tcp server for one sensor, on its own event loop thread."""
    world = load_world(None, scenario)
    loop = asyncio.new_event_loop()
    server = RtlTcpServer(world, SENSOR)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    yield server, _carrier_hz(world)
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_node_through_rtl_tcp_to_the_simulator_reports_the_phone(
    tmp_path: Path, sim_server: tuple[RtlTcpServer, float], mosquitto: MosquittoBroker
) -> None:
    server, carrier = sim_server
    make_keys(tmp_path)
    config = write_config(
        tmp_path,
        mosquitto.port,
        source={"kind": "rtl_tcp", "port": server.port},
        # rtl_tcp streams continuously, so the samples of the previous tuning drain during the settle time
        scan={"bands": ["B8"], "range_hz": [carrier - 1e6, carrier + 1e6], "settle_s": 0.03, "dwell_s": 0.08},
    )
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(config):
            listener.wait_for(lambda lst: _gsm_reports(lst, carrier), 40, f"a GSM report near {carrier / 1e6} MHz")
    finally:
        listener.close()
    assert _gsm_reports(listener, carrier)[0]["band"] == "B8"
