"""`cellward provision` gives each blocker unit what it needs to run securely: an account the broker's
ACL pins to its own topics, a signing key, the controller's public key and a config that loads."""

from __future__ import annotations

import json
import threading
import time

from cellward.messages import BlockerCommand, blocker_command_topic
from cellward.provision import provision
from cellward.signing import Keyring, NodeKey, sign_message, verify_message
from cellward.site import small_site_path
from sensors.blocker.config import SimActuatorConfig, load_blocker_config
from sensors.blocker.node import BlockerNode
from tests.e2e.brokers import Client, start_broker, stop_broker
from tests.support.mosquitto import free_port

SITE = "hmp-small"


def test_a_provisioned_blocker_node_logs_in_and_obeys_the_provisioned_controller(tmp_path) -> None:
    result = provision(small_site_path(), SITE, tmp_path / "site", broker_port=free_port())
    assert sorted(result.blocker_configs) == ["BLK-A"]
    config = load_blocker_config(result.blocker_configs["BLK-A"])
    assert config.zones == ["cells-A"] and {band: limit.max_power_dbm for band, limit in config.bands.items()} == {
        "B8": 20.0,
        "B3": 20.0,
    }, "zones, bands and the EIRP limit come from the site file"
    assert config.actuator.kind == "gpio" and config.actuator.lines == {"B8": 17, "B3": 27}
    # on this machine the unit is simulated; everything else is as provisioned
    config = config.model_copy(
        update={"actuator": SimActuatorConfig(site=str(small_site_path()), switch_log=tmp_path / "switches.jsonl")}
    )
    broker = start_broker(result.mosquitto_conf, result.broker_port, tmp_path / "broker.log")
    controller = Client(result.broker_port, "controller", result.passwords["controller"])
    controller.subscribe(f"cellward/{SITE}/blocker/#")
    node = BlockerNode(config)
    thread = threading.Thread(target=node.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not controller.received(f"cellward/{SITE}/blocker/BLK-A/availability") and time.monotonic() < deadline:
            time.sleep(0.05)
        key = NodeKey.load(result.out / "keys" / "controller.pem", "controller")
        now = time.time()
        command = BlockerCommand(
            site=SITE,
            sender="controller",
            ts=now,
            seq=1,
            command="set_blocking",
            id="p-1",
            target="BLK-A",
            expires=now + 30,
            params={"zone": "cells-A", "bands": ["B8"], "on": True},
        )
        controller.client.publish(
            blocker_command_topic(SITE, "BLK-A", "set_blocking"),
            json.dumps(sign_message(command.to_wire(), key)),
            qos=1,
        ).wait_for_publish(5)
        ack_topic = f"cellward/{SITE}/blocker/BLK-A/cmd/set_blocking/state"
        while len(controller.received(ack_topic)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        acks = [json.loads(p) for p in controller.received(ack_topic)]
    finally:
        node.stop()
        thread.join(15)
        controller.close()
        stop_broker(broker)
    assert [a["result"] for a in acks] == ["accepted", "applied"], acks
    keyring = Keyring.load(result.out / "keyring.json")
    for ack in acks:
        verify_message(ack, keyring)
