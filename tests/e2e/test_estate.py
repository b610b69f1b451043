"""Estate scale on loopback: two sites, each with its own Mosquitto bridged (config from `cellward provision
--bridge`) to one central Mosquitto, and the central store (`cellward controller central`) putting both sites'
incident and alert lifecycle messages into one PostgreSQL database, with the site id on every row.

Each site's messages are signed with that site's controller key (provisioned) and published on its own
broker under the controller's account, as a site controller publishes them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from cellward.provision import mosquitto_password_line, provision
from cellward.signing import NodeKey, sign_message
from cellward.site import small_site_path
from controller.central.config import CentralConfig
from controller.central.run import Central
from controller.central.tables import CentralAlert, CentralIncident, CentralStream
from controller.config import DatabaseConfig, MqttConfig
from controller.wire import AlertLifecycle, AlertState, IncidentLifecycle, IncidentState, controller_topic
from tests.controller.conftest import postgresql_url  # noqa: F401 - fixture, used by name
from tests.e2e.brokers import start_broker, stop_broker
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.slow
SITES = ("hmp-north", "hmp-south")
INCIDENTS_PER_SITE = 200
CENTRAL_USER, CENTRAL_PASSWORD = "estate-store", "central store password"


def _incident_state(incident_id: str, status: str, now: datetime) -> IncidentState:
    return IncidentState(
        id=incident_id, status=status, cell_id="A-1-03", wing="A", landing=1, zone="cells", region=[],
        method="rss", confidence=0.9, runners_up=[], band="B8", operators=["O2"], technology="gsm",
        freq_hz=902.6e6, bandwidth_hz=200e3, first_seen=now, last_seen=now, activity_count=3, suppressed=False,
        suppression_reason=None,
    )  # fmt: skip


class SiteController:
    """Signs lifecycle messages with the site's provisioned controller key and publishes them on its broker."""

    def __init__(self, site: str, prov, port: int) -> None:
        self.site = site
        self.key = NodeKey.load(prov.out / "keys" / "controller.pem", "controller")
        self.seq = {"incidents": 0, "alerts": 0}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ctl-{site}-{uuid.uuid4().hex[:6]}")
        self.client.username_pw_set("controller", prov.passwords["controller"])
        self.client.max_inflight_messages_set(200)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.sent: list[mqtt.MQTTMessageInfo] = []

    def _publish(self, leaf: str, message, key: NodeKey | None = None) -> bytes:
        payload = json.dumps(sign_message(message.to_wire(), key or self.key)).encode()
        self.sent.append(self.client.publish(controller_topic(self.site, leaf), payload, qos=1))
        return payload

    def _head(self, leaf: str) -> dict:
        self.seq[leaf] += 1
        return {"site": self.site, "sender": "controller", "ts": datetime.now(UTC), "seq": self.seq[leaf]}

    def incident(self, incident_id: str, kind: str, before: str | None, after: str) -> bytes:
        now = datetime.now(UTC)
        message = IncidentLifecycle(
            **self._head("incidents"), type=kind, id=incident_id,
            before=_incident_state(incident_id, before, now) if before else None,
            after=_incident_state(incident_id, after, now),
        )  # fmt: skip
        return self._publish("incidents", message)

    def alert(self, incident_id: str) -> None:
        now = datetime.now(UTC)
        state = AlertState(
            id=str(uuid.uuid4()), rule="new_incident", **{"class": "incident"}, severity="high",
            incident_id=incident_id, sensor_id=None, key=f"new_incident:{incident_id}", message="phone in A-1-03",
            active=True, occurrences=1, created_at=now, last_at=now, ended_at=None, acknowledged_by=None,
        )  # fmt: skip
        self._publish(
            "alerts", AlertLifecycle(**self._head("alerts"), type="new", id=state.id, before=None, after=state)
        )

    def flush(self) -> None:
        for info in self.sent:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _central_broker(tmp_path, port: int, provisioned: list) -> tuple:
    directory = tmp_path / "central"
    directory.mkdir()
    passwd = "".join((p.out / "mosquitto" / "central-passwd").read_text() for p in provisioned)
    acl = "\n".join((p.out / "mosquitto" / "central-acl").read_text() for p in provisioned)
    (directory / "passwd").write_text(passwd + mosquitto_password_line(CENTRAL_USER, CENTRAL_PASSWORD) + "\n")
    (directory / "acl").write_text(acl + f"\nuser {CENTRAL_USER}\ntopic read cellward/+/controller/#\n")
    (directory / "mosquitto.conf").write_text(
        f"user root\nallow_anonymous false\npassword_file {directory / 'passwd'}\nacl_file {directory / 'acl'}\n"
        f"listener {port} 127.0.0.1\npersistence true\npersistence_location {directory}/\n"
    )
    return start_broker(directory / "mosquitto.conf", port, tmp_path / "central.log")


def test_two_sites_incidents_reach_one_central_database_with_their_site_ids(tmp_path, postgresql_url, monkeypatch):  # noqa: F811
    central_port = free_port()
    provisioned = [
        provision(small_site_path(), site, tmp_path / site, broker_port=free_port(), bridge=f"127.0.0.1:{central_port}")
        for site in SITES
    ]
    central_broker = _central_broker(tmp_path, central_port, provisioned)
    site_brokers = [start_broker(p.mosquitto_conf, p.broker_port, tmp_path / f"{p.site_id}.log") for p in provisioned]
    monkeypatch.setenv("CELLWARD_CENTRAL_PASSWORD", CENTRAL_PASSWORD)
    config = CentralConfig(
        mqtt=MqttConfig(port=central_port, username=CENTRAL_USER, password_env="CELLWARD_CENTRAL_PASSWORD"),
        database=DatabaseConfig(url=postgresql_url),
        sites={p.site_id: p.out / "controller-keyring.json" for p in provisioned},
    )
    central = Central(config)
    central.start()
    controllers = [SiteController(p.site_id, p, p.broker_port) for p in provisioned]
    try:
        assert central.subscribed.wait(10), "the central store must subscribe on the central broker"
        time.sleep(3.0)  # the site bridges connect (restart_timeout 2 s)
        started = time.monotonic()
        again = b""
        for n in range(INCIDENTS_PER_SITE):
            for controller in controllers:
                incident_id = f"{uuid.UUID(int=n)}"
                controller.incident(incident_id, "new", None, "new")
                controller.alert(incident_id)
                update = controller.incident(incident_id, "update", "new", "acknowledged")
                again = update if controller.site == SITES[0] else again
                controller.incident(incident_id, "end", "acknowledged", "closed")
        north, south = controllers
        forged = IncidentLifecycle.model_validate_json(again).model_copy(update={"site": SITES[1], "sig": None})
        south._publish("incidents", forged, key=north.key)  # south's message signed with north's key
        north.sent.append(north.client.publish(controller_topic(SITES[0], "incidents"), again, qos=1))  # redelivery
        for controller in controllers:
            controller.flush()
        expected = len(SITES) * INCIDENTS_PER_SITE

        def all_closed() -> bool:
            with central.sessions() as db:
                return (
                    db.scalar(
                        select(func.count()).select_from(CentralIncident).where(CentralIncident.status == "closed")
                    )
                    == expected
                )

        deadline = time.monotonic() + 60
        while not all_closed() and time.monotonic() < deadline:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        with central.sessions() as db:
            per_site = dict(
                db.execute(select(CentralIncident.site_id, func.count()).group_by(CentralIncident.site_id)).all()
            )
            alerts = dict(db.execute(select(CentralAlert.site_id, func.count()).group_by(CentralAlert.site_id)).all())
            streams = {
                (s.site_id, s.message_name): (s.highest_seq, s.missing) for s in db.scalars(select(CentralStream))
            }
            statuses = set(db.scalars(select(CentralIncident.status)))
    finally:
        for controller in controllers:
            controller.close()
        central.stop()
        for broker in (*site_brokers, central_broker):
            stop_broker(broker)
    messages = expected * 4
    print(f"\n{messages} lifecycle messages from {len(SITES)} sites over the bridges into PostgreSQL in {elapsed:.1f} s"
          f" ({messages / elapsed:.0f} messages/s)")  # fmt: skip
    assert per_site == {site: INCIDENTS_PER_SITE for site in SITES}, f"incidents per site: {per_site}"
    assert alerts == {site: INCIDENTS_PER_SITE for site in SITES}, f"alerts per site: {alerts}"
    assert statuses == {"closed"}, "each incident holds its latest state"
    for site in SITES:
        assert streams[(site, "cellward.controller_incident/1")] == (3 * INCIDENTS_PER_SITE, []), "no seq gap"
    assert central.store.counts["bad_signature"] == 1, "a site's message signed with another site's key is refused"
    assert central.store.counts["duplicate"] == 1, "a redelivered message changes nothing"
