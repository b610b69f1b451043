"""Event-mode sensor nodes keep their `seq` across a restart of the fleet process, as a real node does
(the counters live in each node's on-disk spool), so the controller stores a restarted fleet's messages
instead of refusing them as replays. Real processes: Mosquitto with `cellward provision`'s accounts and
ACLs, the controller on SQLite, `python -m sensors.event_fleet` started, stopped and started again."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cellward.provision import provision
from cellward.site import small_site_path
from controller.config import load_controller_config
from controller.runtime import Controller
from tests.e2e.brokers import start_broker, stop_broker
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.slow
SITE = "hmp-small"
SCENARIO = Path(__file__).resolve().parents[2] / "sim" / "scenarios" / "small-evening.yaml"
BATCHES_PER_RUN = 6  # detections batches the controller stores from each run before it is stopped
RUN_TIMEOUT_S = 180.0  # warm-up and publishing on a loaded 2-core machine
CONFIRM_S = 60.0


def _scenario(tmp_path: Path) -> Path:
    """The small evening, starting now on the wall clock, with the burner calling throughout."""
    document = yaml.safe_load(SCENARIO.read_text())
    document["start_utc"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    document["duration_s"] = 3600
    burner = next(p for p in document["phones"] if p["id"] == "burner")
    burner["activities"] = [{"kind": "gsm_call", "start_s": 1, "duration_s": 3500, "dtx": False}]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _stored(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return dict(
            conn.execute(
                "select sender, count(*) from messages where schema = 'cellward.detections/1' group by sender"
            ).fetchall()
        )


def _run_fleet(argv: list[str], log: Path, db: Path, at_least: int) -> dict[str, int]:
    """Start the fleet, let the controller store `at_least` more detections batches, stop it with SIGTERM;
    returns each node's last detections seq from its `event=sensor_stopped` line."""
    before = sum(_stored(db).values()) if db.exists() else 0
    with log.open("w") as out:
        fleet = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while (sum(_stored(db).values()) if db.exists() else 0) - before < at_least:
            assert fleet.poll() is None, f"the fleet exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the controller stored too little: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        fleet.send_signal(signal.SIGTERM)
        assert fleet.wait(CONFIRM_S + 30) == 0, log.read_text()[-3000:]
    finally:
        if fleet.poll() is None:
            fleet.kill()
    lines = [line for line in log.read_text().splitlines() if "event=sensor_stopped" in line]
    stopped = [dict(re.findall(r"(\w+)=(\S+)", line)) for line in lines]
    return {fields["sensor"]: int(fields["detections_seq"]) for fields in stopped}


def test_a_restarted_fleet_continues_its_seqs_and_the_controller_stores_them(tmp_path, monkeypatch):
    prov = provision(small_site_path(), SITE, tmp_path / "site", broker_port=free_port())
    broker = start_broker(prov.mosquitto_conf, prov.broker_port, tmp_path / "broker.log")
    monkeypatch.setenv("CELLWARD_MQTT_PASSWORD", prov.passwords["controller"])
    controller = Controller.from_config(load_controller_config(prov.controller_config))
    try:
        controller.start()
        assert controller.ingest.wait_subscribed(10)
        argv = [sys.executable, "-m", "sensors.event_fleet", "--scenario", str(_scenario(tmp_path))]
        argv += ["--site-id", SITE, "--provisioned", str(prov.out), "--port", str(prov.broker_port)]
        argv += ["--sensors", ",".join(sorted(prov.sensor_configs)), "--confirm-s", str(CONFIRM_S)]
        db = prov.out / "controller.db"
        first = _run_fleet(argv, tmp_path / "fleet-1.log", db, BATCHES_PER_RUN)
        second = _run_fleet(argv, tmp_path / "fleet-2.log", db, BATCHES_PER_RUN)
        time.sleep(1.0)  # the last acknowledged batch is committed before its ack; nothing more is due
        stored = _stored(db)
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            streams = {
                row[0]: row[1:]
                for row in conn.execute(
                    "select sensor_id, first_seq, highest_seq, duplicates from sensor_streams"
                    " where message_name = 'cellward.detections/1'"
                )
            }
        replayed = controller.metrics.messages_rejected.labels(reason="replayed")._value.get()
    finally:
        controller.stop()
        stop_broker(broker)
    assert sum(second.values()) > sum(first.values()) >= BATCHES_PER_RUN, (first, second)
    for sensor, seq in second.items():
        assert seq >= first.get(sensor, 0), f"{sensor} went back from seq {first.get(sensor)} to {seq}"
        if seq:
            assert stored.get(sensor, 0) == seq, f"{sensor}: made {seq} batches over both runs, stored {stored}"
            assert streams[sensor][:2] == (1, seq), f"{sensor}: seqs 1..{seq} expected, stream {streams[sensor]}"
    assert replayed == 0, "no message of the restarted fleet may be refused as a replay"
