"""`cellward provision` output run by a real Mosquitto: per-node accounts, ACLs, and the bridge to a central broker."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cellward.messages import scan_focus_topic
from cellward.provision import provision
from cellward.site import small_site_path
from tests.e2e.brokers import Client, start_broker, stop_broker
from tests.support.mosquitto import free_port

SITE = "hmp-small"
SETTLE_S = 1.0  # long enough for a message the broker would deliver to arrive on loopback


@pytest.fixture
def site_broker(tmp_path):
    result = provision(small_site_path(), SITE, tmp_path / "site", broker_port=free_port())
    process = start_broker(result.mosquitto_conf, result.broker_port, tmp_path / "site-broker.log")
    yield result
    stop_broker(process)


def test_a_sensor_account_cannot_publish_as_another_sensor(site_broker):
    first, second = sorted(site_broker.sensor_configs)[:2]
    controller = Client(site_broker.broker_port, "controller", site_broker.passwords["controller"])
    controller.subscribe(f"cellward/{SITE}/#")
    sensor = Client(site_broker.broker_port, first, site_broker.passwords[first])
    try:
        sensor.publish(f"cellward/{SITE}/sensor/{first}/detections", b"own")
        sensor.publish(f"cellward/{SITE}/sensor/{second}/detections", b"forged")
        sensor.publish(f"cellward/{SITE}/sensor/{second}/cmd/restart/set", b"forged command")
        time.sleep(SETTLE_S)
    finally:
        sensor.close()
        controller.close()
    assert controller.received(f"cellward/{SITE}/sensor/{first}/detections") == [b"own"], "own topic must pass"
    forged = [t for t, _ in controller.messages if f"/sensor/{second}/" in t]
    assert forged == [], f"the broker's ACL must drop {first}'s messages under {second}'s id, got {forged}"


def test_a_sensor_hears_only_its_own_commands_and_the_site_focus_and_only_the_controller_sends_them(site_broker):
    first, second = sorted(site_broker.sensor_configs)[:2]
    sensor = Client(site_broker.broker_port, first, site_broker.passwords[first])
    sensor.subscribe(f"cellward/{SITE}/#")  # asks for everything; the ACL grants only its command topic
    controller = Client(site_broker.broker_port, "controller", site_broker.passwords["controller"])
    other = Client(site_broker.broker_port, second, site_broker.passwords[second])
    try:
        controller.publish(f"cellward/{SITE}/sensor/{first}/cmd/rescan/set", b"to first")
        controller.publish(f"cellward/{SITE}/sensor/{second}/cmd/rescan/set", b"to second")
        other.publish(f"cellward/{SITE}/sensor/{first}/cmd/rescan/set", b"from a sensor")
        other.publish(f"cellward/{SITE}/sensor/{second}/detections", b"second's report")
        other.publish(scan_focus_topic(SITE), b"focus from a sensor")
        controller.publish(scan_focus_topic(SITE), b"the site's focus")
        time.sleep(SETTLE_S)
    finally:
        for client in (sensor, controller, other):
            client.close()
    got = sorted(p for _, p in sensor.messages)
    assert got == [b"the site's focus", b"to first"], f"sensor {first} got {sensor.messages}"


def test_a_blocker_account_writes_only_its_own_streams_and_hears_only_its_own_commands(site_broker):
    blocker = "BLK-A"  # the small site's one unit
    controller = Client(site_broker.broker_port, "controller", site_broker.passwords["controller"])
    controller.subscribe(f"cellward/{SITE}/#")
    node = Client(site_broker.broker_port, blocker, site_broker.passwords[blocker])
    node.subscribe(f"cellward/{SITE}/#")  # asks for everything; the ACL grants only its command topics
    sensor = sorted(site_broker.sensor_configs)[0]
    own = [f"cellward/{SITE}/blocker/{blocker}/{leaf}" for leaf in ("availability", "state", "heartbeat", "faults")]
    own.append(f"cellward/{SITE}/blocker/{blocker}/cmd/set_blocking/state")
    forged = [
        f"cellward/{SITE}/blocker/BLK-Z/state",
        f"cellward/{SITE}/blocker/{blocker}/cmd/set_blocking/set",  # a unit must not command itself
        f"cellward/{SITE}/blocker/{blocker}/detections",  # a sensor leaf is not a blocker's
        f"cellward/{SITE}/sensor/{sensor}/detections",
    ]
    try:
        for topic in own + forged:
            node.publish(topic, b"x")
        controller.publish(f"cellward/{SITE}/blocker/{blocker}/cmd/set_blocking/set", b"to BLK-A")
        controller.publish(f"cellward/{SITE}/blocker/BLK-Z/cmd/set_blocking/set", b"to another unit")
        controller.publish(f"cellward/{SITE}/sensor/{sensor}/cmd/pause/set", b"to a sensor")
        time.sleep(SETTLE_S)
    finally:
        node.close()
        controller.close()
    got = {t for t, p in controller.messages if p == b"x"}
    assert got == set(own), f"the ACL must pass exactly the unit's own streams; passed {sorted(got)}"
    assert [p for _, p in node.messages] == [b"to BLK-A"], f"{blocker} must hear only its own commands"


def test_wrong_password_and_anonymous_logins_are_refused(site_broker):
    first = sorted(site_broker.sensor_configs)[0]
    assert Client(site_broker.broker_port, first, "not the password").refused is not None
    assert Client(site_broker.broker_port, "", "").refused is not None


def test_provision_command_writes_a_config_mosquitto_accepts(tmp_path):
    port = free_port()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cellward.cli",
            "provision",
            "--site",
            "small",
            "--out",
            str(tmp_path / "p"),
            "--site-id",
            SITE,
            "--broker-port",
            str(port),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    stop_broker(start_broker(tmp_path / "p" / "mosquitto" / "mosquitto.conf", port, tmp_path / "b.log"))
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cellward.cli",
            "provision",
            "--site",
            str(tmp_path / "missing.yaml"),
            "--out",
            str(tmp_path / "q"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "missing.yaml" in bad.stderr, bad.stderr


ESTATE_PASSWORD = "central reader"


def _bridged_site(tmp_path) -> tuple:
    """A provisioned site broker bridged to a central broker on which the account `estate` reads and writes
    everything; returns (provisioned, central process, site process, central port)."""
    from cellward.provision import mosquitto_password_line

    central_port, site_port = free_port(), free_port()
    result = provision(
        small_site_path(), SITE, tmp_path / "site", broker_port=site_port, bridge=f"127.0.0.1:{central_port}"
    )
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    (central_dir / "passwd").write_text(
        (result.out / "mosquitto" / "central-passwd").read_text()
        + mosquitto_password_line("estate", ESTATE_PASSWORD)
        + "\n"
    )
    (central_dir / "acl").write_text(
        (result.out / "mosquitto" / "central-acl").read_text() + "\nuser estate\ntopic readwrite cellward/#\n"
    )
    (central_dir / "mosquitto.conf").write_text(
        f"user root\nallow_anonymous false\npassword_file {central_dir / 'passwd'}\nacl_file {central_dir / 'acl'}\n"
        f"listener {central_port} 127.0.0.1\n"
    )
    central = start_broker(central_dir / "mosquitto.conf", central_port, tmp_path / "central.log")
    site = start_broker(result.mosquitto_conf, site_port, tmp_path / "site.log")
    return result, central, site, central_port


def test_site_reports_reach_the_central_broker_and_only_commands_come_back(tmp_path):
    result, central, site, central_port = _bridged_site(tmp_path)
    site_port = result.broker_port
    sensor_id = sorted(result.sensor_configs)[0]
    estate = Client(central_port, "estate", ESTATE_PASSWORD)
    sensor = Client(site_port, sensor_id, result.passwords[sensor_id])
    local_controller = Client(site_port, "controller", result.passwords["controller"])
    try:
        estate.subscribe(f"cellward/{SITE}/#")
        sensor.subscribe(f"cellward/{SITE}/sensor/{sensor_id}/cmd/+/set")
        local_controller.subscribe(f"cellward/{SITE}/#")
        deadline = time.monotonic() + 15
        while not estate.received(f"cellward/{SITE}/sensor/{sensor_id}/detections") and time.monotonic() < deadline:
            sensor.publish(f"cellward/{SITE}/sensor/{sensor_id}/detections", b"report")  # until the bridge is up
            time.sleep(0.5)
        estate.publish(f"cellward/{SITE}/sensor/{sensor_id}/cmd/rescan/set", b"central command")
        estate.publish(f"cellward/{SITE}/sensor/{sensor_id}/detections", b"forged at the centre")
        time.sleep(SETTLE_S)
    finally:
        for client in (estate, sensor, local_controller):
            client.close()
        stop_broker(site)
        stop_broker(central)
    assert estate.received(f"cellward/{SITE}/sensor/{sensor_id}/detections"), "a site report must cross the bridge"
    assert sensor.received(f"cellward/{SITE}/sensor/{sensor_id}/cmd/rescan/set") == [b"central command"]
    forged = [p for p in local_controller.received(f"cellward/{SITE}/sensor/{sensor_id}/detections") if p != b"report"]
    assert forged == [], "only commands flow from the central broker into the site"


def test_blocker_health_reaches_the_central_broker_and_no_blocker_command_crosses_either_way(tmp_path):
    result, central, site, central_port = _bridged_site(tmp_path)
    unit = "BLK-A"  # the small site's one unit
    tree = f"cellward/{SITE}/blocker/{unit}"
    estate = Client(central_port, "estate", ESTATE_PASSWORD)
    node = Client(result.broker_port, unit, result.passwords[unit])
    local_controller = Client(result.broker_port, "controller", result.passwords["controller"])
    try:
        estate.subscribe(f"cellward/{SITE}/#")
        node.subscribe(f"{tree}/cmd/+/set")
        local_controller.subscribe(f"cellward/{SITE}/#")
        deadline = time.monotonic() + 15
        while not estate.received(f"{tree}/state") and time.monotonic() < deadline:
            node.publish(f"{tree}/state", b"state")  # until the bridge is up
            time.sleep(0.5)
        for leaf in ("availability", "faults", "heartbeat", "cmd/set_blocking/state"):
            node.publish(f"{tree}/{leaf}", leaf.encode())
        local_controller.publish(f"{tree}/cmd/set_blocking/set", b"site command")
        estate.publish(f"{tree}/cmd/all_off/set", b"central command")
        time.sleep(SETTLE_S)
    finally:
        for client in (estate, node, local_controller):
            client.close()
        stop_broker(site)
        stop_broker(central)
    crossed = {topic.removeprefix(f"{tree}/") for topic, _ in estate.messages if topic.startswith(tree)}
    assert crossed == {"state", "availability", "faults", "cmd/all_off/set"}, (
        f"state, availability and faults go out; heartbeats, answers and site commands stay: {crossed}"
    )
    assert node.received(f"{tree}/cmd/all_off/set") == [], "a command published centrally must not reach the unit"
    assert local_controller.received(f"{tree}/cmd/all_off/set") == [], "nor enter the site at all"
    assert node.received(f"{tree}/cmd/set_blocking/set") == [b"site command"], "the site's own commands still work"


def test_sensors_may_send_spectra_and_snippets_and_obey_the_provisioned_controller_key(site_broker):
    import yaml

    from cellward.signing import Keyring, NodeKey

    first, second = sorted(site_broker.sensor_configs)[:2]
    config = yaml.safe_load(site_broker.sensor_configs[first].read_text())
    ring = Keyring.load(site_broker.sensor_configs[first].parent / config["controller_keyring"])
    controller_key = NodeKey.load(site_broker.out / "keys" / "controller.pem", "controller")
    assert ring.public_keys_b64("controller") == [controller_key.public_b64], "nodes trust the controller's key"
    controller = Client(site_broker.broker_port, "controller", site_broker.passwords["controller"])
    controller.subscribe(f"cellward/{SITE}/#")
    sensor = Client(site_broker.broker_port, first, site_broker.passwords[first])
    try:
        for leaf in ("spectrum", "snippet"):
            sensor.publish(f"cellward/{SITE}/sensor/{first}/{leaf}", leaf.encode())
            sensor.publish(f"cellward/{SITE}/sensor/{second}/{leaf}", b"forged")
        time.sleep(SETTLE_S)
    finally:
        sensor.close()
        controller.close()
    for leaf in ("spectrum", "snippet"):
        assert controller.received(f"cellward/{SITE}/sensor/{first}/{leaf}") == [leaf.encode()]
    assert not [t for t, _ in controller.messages if f"/sensor/{second}/" in t], "only under its own id"
