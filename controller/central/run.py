"""`cellward central run`: consume every site's bridged lifecycle messages from the central broker into the
estate database, acknowledging each message to the broker only after its commit (a persistent session,
as the site controller's ingest does), so a crash of the central consumer loses nothing."""

from __future__ import annotations

import logging
import queue
import signal
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from controller.central.config import CentralConfig
from controller.central.store import LEAVES, CentralStore, Rejected
from controller.central.tables import CentralBase
from controller.db.base import make_engine, make_session_factory

log = logging.getLogger("cellward.central")
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 65535  # unacknowledged messages the broker may send us (acked per committed batch)
BATCH_MAX = 1000
TOPICS = tuple(f"cellward/+/controller/{leaf}" for leaf in LEAVES)


class Central:
    def __init__(self, config: CentralConfig) -> None:
        self.config = config
        self.engine = make_engine(config.database.url)
        CentralBase.metadata.create_all(self.engine)
        self.sessions = make_session_factory(self.engine)
        self.store = CentralStore(config.sites)
        self.queue: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="cellward-central", daemon=True)
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.client_id, protocol=mqtt.MQTTv5)
        self.client.manual_ack_set(True)
        if config.mqtt.username is not None:
            self.client.username_pw_set(config.mqtt.username, config.mqtt.password())
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self.subscribed.set()

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        mqtt_config = self.config.mqtt
        self._worker.start()
        self.client.connect_async(
            mqtt_config.host, mqtt_config.port, mqtt_config.keepalive_s, clean_start=False, properties=properties
        )
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        self._worker.join(10)
        self.client.disconnect()
        self.client.loop_stop()
        self.engine.dispose()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("event=mqtt_connect_failed reason=%s", reason_code)
            return
        client.subscribe([(topic, 1) for topic in TOPICS])
        log.info("event=mqtt_connected sites=%d", len(self.config.sites))

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        self.queue.put(message)

    def _run(self) -> None:
        """Check and apply what arrived, one transaction per batch, then acknowledge the batch to the broker."""
        while not (self._stop.is_set() and self.queue.empty()):
            try:
                batch = [self.queue.get(timeout=0.1)]
            except queue.Empty:
                continue
            while len(batch) < BATCH_MAX and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                self._apply(batch)
            except Exception:
                # nothing of the batch is acknowledged: the broker sends it again after a reconnect
                log.exception("event=batch_failed messages=%d", len(batch))
                self.client.reconnect()
                continue
            for message in batch:
                self.client.ack(message.mid, message.qos)

    def _apply(self, batch: list[mqtt.MQTTMessage]) -> None:
        with self.sessions() as db:
            for message in batch:
                try:
                    self.store.apply(db, self.store.check(message.topic, bytes(message.payload)))
                except Rejected as exc:
                    self.store.counts[exc.reason] += 1
                    log.warning("event=message_rejected reason=%s topic=%s detail=%s", exc.reason, message.topic, exc)
            db.commit()


def run_central(config: CentralConfig) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    central = Central(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    central.start()
    stop.wait()
    central.stop()
    log.info("event=central_stopped counts=%s", dict(central.store.counts))
    return 0
