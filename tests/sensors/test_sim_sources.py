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


def test_on_the_wall_clock_a_dwell_is_stamped_with_its_simulated_sample_time_however_slow_the_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synthesis slower than the samples last (an LTE carrier on a busy box) returns the read late; stamped by
    the return, the dwell would be late at this sensor alone and its bursts would not meet the other
    sensors'. The source says when its first sample was, on the simulated timeline the other sensors share."""
    import time
    from datetime import UTC, datetime

    from sensors.sources.sim_feed import SimConfig, SimFeedSource

    start_utc = datetime.fromtimestamp(time.time() - 5.0, UTC).isoformat().replace("+00:00", "Z")
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO + f"start_utc: '{start_utc}'\n")
    source = SimFeedSource(SimConfig(scenario=path, sensor=SENSOR, wall_clock=True))
    synthesised_from: list[float] = []
    render = source.feed.read

    def slow_render(centre_hz: float, rate_hz: float, start_s: float, count: int):
        synthesised_from.append(start_s)
        time.sleep(0.12)  # longer than the 90 ms dwell
        return render(centre_hz, rate_hz, start_s, count)

    monkeypatch.setattr(source.feed, "read", slow_render)
    source.open()
    source.tune(_carrier_hz(source.feed.world) + 500e3)
    source.read(24_000)  # the settle samples
    source.read(216_000)  # the dwell
    returned_at = time.time()
    assert source.first_sample_s == pytest.approx(source.feed.world.epoch_s(synthesised_from[-1]), abs=1e-6)
    assert returned_at - 216_000 / 2.4e6 - source.first_sample_s > 0.02, "stamped by the return it would be late"
