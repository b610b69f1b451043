"""Controller test fixtures: a fresh real database per test, SQLite (file, WAL) and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from sqlalchemy import event as sqlalchemy_events

from cellward.signing import Keyring
from controller.config import load_controller_config
from controller.runtime import Controller
from tests.controller.sensor_messages import SensorNode

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A uniquely named PostgreSQL database on the local server, dropped after the test."""
    name = f"cellward_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'controller.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


# -- a whole controller: site, keyring, config file, database, broker -----------------------------------

ADMIN_PASSWORD = "admin password for tests"
SITE_ID = "hmp-test"


@dataclass
class ControllerWorld:
    """Files and keys of one test controller; `start()` builds and starts it, `stop()` stops it."""

    tmp_path: Path
    config_path: Path
    site: object
    nodes: dict[str, SensorNode]
    controller: Controller | None = None

    def start(self, with_ingest: bool = True) -> Controller:
        self.controller = Controller.from_config(load_controller_config(self.config_path))
        self.controller.start(with_ingest=with_ingest)
        if with_ingest:
            assert self.controller.ingest.wait_subscribed(10), "the controller did not subscribe within 10 s"
        return self.controller

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def write_config(tmp_path: Path, database_url: str, broker_port: int, **overrides) -> Path:
    from cellward.site import small_site_path

    config = {
        "site_id": SITE_ID,
        "site_file": str(small_site_path()),
        "sensor_keyring": "keyring.json",
        "database": {"url": database_url},
        "mqtt": {"host": "127.0.0.1", "port": broker_port, "keepalive_s": 5},
        "auth": {"users": [{"username": "admin", "roles": ["admin"], "password_env": "CELLWARD_TEST_ADMIN_PASSWORD"}]},
        "ingest": {"batch_wait_s": 0.02, "correlation_delay_s": 0.05},
    }
    config.update(overrides)
    path = tmp_path / "controller.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def world(tmp_path, database_url, mosquitto, monkeypatch) -> Iterator[ControllerWorld]:
    """A controller on a real broker and a real database (SQLite, then PostgreSQL), keys for every sensor."""
    yield from _world(tmp_path, database_url, mosquitto, monkeypatch)


@pytest.fixture
def sqlite_world(tmp_path, sqlite_url, mosquitto, monkeypatch) -> Iterator[ControllerWorld]:
    """The same on SQLite only, for the slow API fuzzing that need not run twice."""
    yield from _world(tmp_path, sqlite_url, mosquitto, monkeypatch)


def _world(tmp_path, database_url, mosquitto, monkeypatch) -> Iterator[ControllerWorld]:
    from cellward.site import load_site, small_site_path

    monkeypatch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
    site = load_site(small_site_path())
    nodes = {sensor.id: SensorNode(SITE_ID, sensor.id) for sensor in site.sensors}
    keyring = Keyring()
    for node in nodes.values():
        keyring.add(node.sensor_id, node.key.public_b64)
    keyring.save(tmp_path / "keyring.json")
    config_path = write_config(tmp_path, database_url, mosquitto.port)
    state = ControllerWorld(tmp_path, config_path, site, nodes)
    try:
        yield state
    finally:
        state.stop()


class Publisher:
    """A plain MQTT client publishing as the sensors do (QoS 1), waiting for each PUBACK."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mosquitto) -> Iterator[Publisher]:
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


@contextmanager
def statements(controller, wanted: Callable[[str], bool]) -> Iterator[list[str]]:
    """The SQL statements `wanted` picks out of those the controller's database runs while the block runs."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_):
        if wanted(statement.lstrip()):
            seen.append(statement)

    engine = controller.sessions.kw["bind"]
    sqlalchemy_events.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sqlalchemy_events.remove(engine, "before_cursor_execute", listen)


def wait_for(condition, timeout_s: float = 30.0, what: str = "condition"):
    """Poll `condition` until it returns something truthy; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
