"""Estate scale on loopback: two sites, each with its own Mosquitto bridged (config from `cellward provision
--bridge`) to one central Mosquitto, and the central store (`cellward controller central`) putting both sites'
incident and alert lifecycle messages into one PostgreSQL database, with the site id on every row; and a real
site controller's disconnection requests crossing the same way, without their evidence.

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
from controller.central.tables import CentralAlert, CentralIncident, CentralRequest, CentralStream
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
        suppression_reason=None, ended_at=now if status == "closed" else None,
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


def test_a_sites_disconnection_requests_reach_the_central_database_without_their_evidence(
    tmp_path,
    postgresql_url,  # noqa: F811
    monkeypatch,
):
    """A real site controller's request workflow publishes each change; the bridge carries it; the central
    store keeps the latest state per (site, request) with who changed it, and never grounds or identifiers."""
    import yaml

    from controller.config import load_controller_config
    from controller.runtime import Controller
    from tests.controller.test_incident_pipeline import validator
    from tests.e2e.brokers import Client
    from tests.requests.conftest import AUTHORISER, OFFICER, VALID_IMEI, seed_incident

    site, central_port = SITES[0], free_port()
    prov = provision(
        small_site_path(), site, tmp_path / site, broker_port=free_port(), bridge=f"127.0.0.1:{central_port}"
    )
    controller_config = yaml.safe_load(prov.controller_config.read_text())
    controller_config["requests"] = {
        "institution": "HMP North",
        "evidence_dir": str(tmp_path / "evidence"),
        "operators": {"O2": {"adapter": "export_folder", "path": str(tmp_path / "to-o2")}},
        "outbox": {"poll_s": 0.2},
    }
    prov.controller_config.write_text(yaml.safe_dump(controller_config))
    central_broker = _central_broker(tmp_path, central_port, [prov])
    site_broker = start_broker(prov.mosquitto_conf, prov.broker_port, tmp_path / "site.log")
    monkeypatch.setenv("CELLWARD_CENTRAL_PASSWORD", CENTRAL_PASSWORD)
    monkeypatch.setenv("CELLWARD_MQTT_PASSWORD", prov.passwords["controller"])
    central = Central(
        CentralConfig(
            mqtt=MqttConfig(port=central_port, username=CENTRAL_USER, password_env="CELLWARD_CENTRAL_PASSWORD"),
            database=DatabaseConfig(url=postgresql_url),
            sites={site: prov.out / "controller-keyring.json"},
            client_id="central-requests-test",
        )
    )
    central.start()
    watcher = Client(central_port, CENTRAL_USER, CENTRAL_PASSWORD)
    controller = Controller.from_config(load_controller_config(prov.controller_config))
    grounds = "seen by officer Jones in cell A-0-03 on three nights"
    try:
        controller.start()
        assert central.subscribed.wait(10) and controller.ingest.wait_subscribed(10)
        watcher.subscribe(f"cellward/{site}/controller/requests")
        time.sleep(3.0)  # the site bridge connects (restart_timeout 2 s)
        workflow = controller.requests.workflow
        incident_id = seed_incident(controller.sessions, time.time())
        case = workflow.open_case(OFFICER, [incident_id], summary="phone heard in A-0-03")
        workflow.add_identifier(OFFICER, case.id, "imei", VALID_IMEI, "seized_handset", "exhibit JB/1")
        issued = workflow.draft(OFFICER, case.id, grounds)
        workflow.authorise(AUTHORISER, issued.id)  # the requests runtime delivers it: submitted

        def status_of(request_id: str) -> str | None:
            with central.sessions() as db:
                row = db.get(CentralRequest, (site, request_id))
                return row.status if row is not None else None

        deadline = time.monotonic() + 60
        while status_of(issued.id) != "submitted":
            assert time.monotonic() < deadline, (
                f"the submitted request never reached the centre: {status_of(issued.id)}"
            )
            time.sleep(0.2)
        workflow.record_operator_status("operator:O2", issued.id, "actioned", "O2-REF-1")
        withdrawn = workflow.draft(OFFICER, case.id, grounds)
        workflow.withdraw(OFFICER, withdrawn.id, "the handset was found and seized")
        while status_of(issued.id) != "actioned" or status_of(withdrawn.id) != "withdrawn":
            assert time.monotonic() < deadline, "the final states never reached the centre"
            time.sleep(0.2)
        with central.sessions() as db:
            rows = {row.id: row for row in db.scalars(select(CentralRequest))}
            stream = db.get(CentralStream, (site, "cellward.controller_request/1"))
            stream = (stream.highest_seq, stream.received, stream.missing)
        payloads = [json.loads(p) for p in watcher.received(f"cellward/{site}/controller/requests")]
    finally:
        watcher.close()
        controller.stop()
        central.stop()
        for broker in (site_broker, central_broker):
            stop_broker(broker)
    actioned, gone = rows[issued.id], rows[withdrawn.id]
    assert (actioned.lifecycle, actioned.operator, actioned.case_id) == ("end", "O2", case.id)
    assert actioned.incident_ids == [incident_id] and actioned.changed_by == "operator:O2"
    assert actioned.state["authorised_by"] == AUTHORISER.username and actioned.state["operator_reference"] == "O2-REF-1"
    assert (gone.status, gone.lifecycle, gone.changed_by) == ("withdrawn", "end", OFFICER.username)
    changes = [(p["id"], p["type"], p["after"]["status"], p["after"]["changed_by"]) for p in payloads]
    assert changes == [
        (issued.id, "new", "drafted", OFFICER.username),
        (issued.id, "update", "authorised", AUTHORISER.username),
        (issued.id, "update", "submitted", "system"),
        (issued.id, "end", "actioned", "operator:O2"),
        (withdrawn.id, "new", "drafted", OFFICER.username),
        (withdrawn.id, "end", "withdrawn", OFFICER.username),
    ], changes
    assert stream == (6, 6, []), "every change crossed the bridge, none missing"
    authorised, submitted = payloads[1], payloads[2]
    assert (authorised["before"]["status"], authorised["before"]["authorised_by"]) == ("drafted", None)
    assert (
        submitted["before"]["operator_reference"] is None and submitted["before"]["changed_by"] == AUTHORISER.username
    )
    schema = validator("controller.request.v1.json")
    for payload in payloads:
        schema.validate(payload)
        text = json.dumps(payload)
        assert grounds not in text and VALID_IMEI not in text and "exhibit" not in text, "no evidence crosses"
        assert "handset was found" not in text, "no free-text reason crosses"
