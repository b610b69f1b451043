"""MQTT for one node, sensor or blocker (paho-mqtt 2): signed, numbered messages out of the on-disk spool; commands in.

Outgoing messages are numbered and signed when queued in the spool (sensors/spool.py); a sender thread
publishes them oldest first with QoS 1, at most `inflight_max` unacknowledged at a time. When the broker
acknowledges one, it leaves the spool, except (with a controller keyring) detections, status and stats,
which are held until the controller's signed ack says they are stored (sensors/resend.py), so even a
broker killed with them in memory loses none. After a disconnect everything not acknowledged is sent
again from the oldest, so the broker may see a message twice (the controller drops repeats by `seq`).
Availability is published directly at each connect: `online` with a fresh seq, and the last will
`offline` registered with the next one (a clean stop publishes `stopped` with that seq).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cellward.messages import ACKED_SCHEMAS, Availability, Envelope, ack_topic, command_topic, scan_focus_topic
from cellward.messages.topics import node_topic
from cellward.signing import Keyring, NodeKey, sign_message, signed_payload
from sensors.resend import AckReceiver
from sensors.spool import Spool
from sensors.structured_log import node_logger


class TlsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ca_file: Path = Field(description="CA certificate that signed the broker's certificate")
    cert_file: Path | None = Field(default=None, description="client certificate (mutual TLS)")
    key_file: Path | None = Field(default=None, description="client certificate's private key")


class MqttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(description="broker address")
    port: int = Field(default=8883, ge=1, le=65535, description="8883 with TLS, 1883 without")
    username: str | None = Field(default=None, description="this sensor's own broker account")
    password: str | None = Field(default=None, description="prefer password_file")
    password_file: Path | None = Field(default=None, description="file holding the password (mode 0600)")
    tls: TlsConfig | None = Field(default=None, description="omit only on a loopback or lab broker")
    keepalive_s: int = Field(default=30, ge=5, le=600)
    inflight_max: int = Field(default=20, ge=1, le=1000, description="unacknowledged QoS 1 messages at once")
    reconnect_max_s: int = Field(default=30, ge=1, description="longest wait between reconnect attempts")
    ack_resend_after_s: float = Field(
        default=10.0,
        gt=0,
        description="send a held message again when the broker took it this long before a controller ack "
        "that lists it missing or, stalled, does not reach its seq (the broker lost it)",
    )

    @model_validator(mode="after")
    def _one_password(self) -> MqttConfig:
        if self.password and self.password_file:
            raise ValueError("give password or password_file, not both")
        return self


def anchor_mqtt_paths(config: MqttConfig, base: Path) -> None:
    """Make the password and TLS file paths of a node's config file relative to that file's folder."""
    if config.password_file is not None and not config.password_file.is_absolute():
        config.password_file = base / config.password_file
    if config.tls is not None:
        for name in ("ca_file", "cert_file", "key_file"):
            value = getattr(config.tls, name)
            if value is not None and not value.is_absolute():
                setattr(config.tls, name, base / value)


class Publisher:
    def __init__(
        self,
        config: MqttConfig,
        site: str,
        sensor_id: str,
        key: NodeKey,
        spool: Spool,
        on_command: Callable[[str, bytes], None],
        clock: Callable[[], float],
        kind: str = "sensor",
        controller_keyring: Keyring | None = None,
        on_scan_focus: Callable[[bytes], object] | None = None,
    ) -> None:
        """`on_scan_focus` takes each payload on the site's scan-focus topic (sensors that follow it)."""
        self.config = config
        self.site = site
        self.sensor_id = sensor_id
        self.kind = kind  # sensor or blocker: the branch of the topic tree the node lives in
        self.key = key
        self.spool = spool
        self.on_command = on_command
        self.on_scan_focus = on_scan_focus
        self.clock = clock
        self.log = node_logger(f"cellward.{kind}.mqtt", site=site, **{kind: sensor_id})
        self.connected = threading.Event()
        self.reconnects = 0
        self._connections = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[int, tuple[int, str | None]] = {}  # paho mid -> (spool id, stream)
        self._acked_early: set[int] = set()
        self._generation = 0  # bumped on every (dis)connect; a batch from an older generation stops
        # with the controller's keyring, stored streams wait in the spool for its ack; without, PUBACK suffices
        self.acks = (
            AckReceiver(site, sensor_id, controller_keyring, spool, config.ack_resend_after_s, self._wake)
            if controller_keyring is not None
            else None
        )
        self._will_seq = 0
        self._client = self._make_client()
        self._sender = threading.Thread(target=self._send_loop, name=f"mqtt-sender-{sensor_id}", daemon=True)

    # -- set-up --------------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        # A durable session: commands sent while the link is down wait at the broker (the node still
        # refuses any whose `expires` has passed by the time they arrive).
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"cellward-{self.site}-{self.sensor_id}", clean_session=False
        )
        password = cfg.password
        if cfg.password_file is not None:
            password = Path(cfg.password_file).read_text(encoding="utf-8").strip()
        if cfg.username:
            client.username_pw_set(cfg.username, password)
        if cfg.tls is not None:
            client.tls_set(
                ca_certs=str(cfg.tls.ca_file),
                certfile=str(cfg.tls.cert_file) if cfg.tls.cert_file else None,
                keyfile=str(cfg.tls.key_file) if cfg.tls.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.max_inflight_messages_set(cfg.inflight_max)
        client.reconnect_delay_set(1, cfg.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._arm_will()
        self._set_will(client)
        return client

    def _availability(self, state: str, seq: int) -> bytes:
        message = Availability(site=self.site, sender=self.sensor_id, ts=self.clock(), seq=seq, state=state)
        return signed_payload(sign_message(message.to_wire(), self.key))

    def _arm_will(self) -> None:
        """Take two availability numbers for the next connection: `online`, then the will's."""
        self._online_seq = self.spool.next_seq("cellward.availability/1")
        self._will_seq = self.spool.next_seq("cellward.availability/1")

    def _topic(self, leaf: str) -> str:
        return node_topic(self.kind, self.site, self.sensor_id, leaf)

    def _set_will(self, client: mqtt.Client) -> None:
        topic = self._topic("availability")
        client.will_set(topic, self._availability("offline", self._will_seq), qos=1, retain=True)

    def start(self) -> None:
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self._client.loop_start()
        self._sender.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Flush what the broker will take within `timeout_s`, publish `stopped`, disconnect (held messages
        stay in the spool for the controller's ack after the next start)."""
        if self.connected.is_set():
            deadline = self.clock() + timeout_s
            while self.spool.queued and self.connected.is_set() and self.clock() < deadline:
                self._wake.set()
                self._stop.wait(0.05)
            info = self._client.publish(
                self._topic("availability"),
                self._availability("stopped", self._will_seq),
                qos=1,
                retain=True,
            )
            with contextlib.suppress(RuntimeError, ValueError):  # not connected after all: the will says offline
                info.wait_for_publish(timeout=2.0)
        self._stop.set()
        self._wake.set()
        self._client.disconnect()
        self._client.loop_stop()
        if self._sender.is_alive():
            self._sender.join(timeout=2.0)

    # -- outgoing ------------------------------------------------------------------------------------
    def send(self, message: Envelope, leaf: str, retain: bool = False) -> int:
        """Number, sign and spool `message` for cellward/<site>/<kind>/<id>/<leaf>; returns its seq."""

        def build(seq: int) -> bytes:
            numbered = message.model_copy(update={"seq": seq})
            return signed_payload(sign_message(numbered.to_wire(), self.key))

        seq = self.spool.enqueue(message.schema_name, self._topic(leaf), build, retain)
        self._wake.set()
        return seq

    def publish_live(self, message: Envelope, leaf: str) -> bool:
        """Number, sign and publish `message` now at QoS 0, bypassing the spool (live views only).

        Returns False, sending nothing, while the broker is away: a late live frame is worth nothing.
        """
        if not self.connected.is_set():
            return False
        numbered = message.model_copy(update={"seq": self.spool.next_seq(message.schema_name)})
        payload = signed_payload(sign_message(numbered.to_wire(), self.key))
        info = self._client.publish(self._topic(leaf), payload, qos=0)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _send_loop(self) -> None:
        # Never call into paho while holding self._lock: paho runs on_publish with its own mutex held,
        # and on_publish takes self._lock, so the two orders would deadlock.
        while not self._stop.is_set():
            if not self.connected.is_set():
                self.connected.wait(0.2)
                continue
            with self._lock:
                generation = self._generation
                room = self.config.inflight_max - len(self._inflight)
                in_flight = {spool_id for spool_id, _ in self._inflight.values()}
            batch = self.spool.peek(room, skip=in_flight) if room > 0 else []
            for item in batch:
                info = self._client.publish(item.topic, item.payload, qos=1, retain=item.retain)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break  # connection lost mid-batch; on_disconnect rewinds
                with self._lock:
                    if generation != self._generation:
                        break  # a disconnect rewound the queue meanwhile: start again from the oldest
                    if info.mid in self._acked_early:
                        self._acked_early.discard(info.mid)
                        acked = True
                    else:
                        self._inflight[info.mid] = (item.id, item.stream)
                        acked = False
                if acked:
                    self._broker_has(item.id, item.stream)
            if not batch:
                self._wake.wait(0.2)
                self._wake.clear()
            elif room <= 0:
                self._wake.wait(0.02)
                self._wake.clear()

    # -- paho callbacks (network thread) -------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.log.warning("mqtt_refused", reason=str(reason_code), host=self.config.host)
            return
        self._connections += 1
        self.reconnects = self._connections - 1
        client.subscribe(command_topic(self.site, self.sensor_id, "+", kind=self.kind), qos=1)
        if self.acks is not None:
            client.subscribe(ack_topic(self.site, self.sensor_id), qos=1)
        if self.on_scan_focus is not None:
            client.subscribe(scan_focus_topic(self.site), qos=1)
        client.publish(
            self._topic("availability"),
            self._availability("online", self._online_seq),
            qos=1,
            retain=True,
        )
        with self._lock:
            self._inflight.clear()
            self._acked_early.clear()
            self._generation += 1
        self.connected.set()
        self._wake.set()
        self.log.info("mqtt_connected", host=self.config.host, port=self.config.port, spooled=self.spool.depth)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connected.clear()
        with self._lock:
            # whatever was not acknowledged goes again, from the oldest, after the reconnect
            self._inflight.clear()
            self._acked_early.clear()
            self._generation += 1
        if not self._stop.is_set():
            self._arm_will()
            self._set_will(client)
            self.log.warning("mqtt_disconnected", reason=str(reason_code), spooled=self.spool.depth)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._lock:
            sent = self._inflight.get(mid)
            if sent is None:
                self._acked_early.add(mid)  # the PUBACK beat the sender's bookkeeping
        if sent is not None:
            # in flight until the spool has settled it, or the sender would pick it up again meanwhile
            self._broker_has(*sent)
            with self._lock:
                if self._inflight.get(mid) == sent:  # not cleared by a reconnect meanwhile
                    del self._inflight[mid]
            self._wake.set()

    def _broker_has(self, spool_id: int, stream: str | None) -> None:
        if self.acks is not None and stream in ACKED_SCHEMAS:
            self.spool.hold(spool_id, self.clock())
        else:
            self.spool.remove(spool_id)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self.acks is not None and message.topic == ack_topic(self.site, self.sensor_id):
            self.acks.receive(bytes(message.payload))
            return
        if self.on_scan_focus is not None and message.topic == scan_focus_topic(self.site):
            self.on_scan_focus(bytes(message.payload))
            return
        self.on_command(message.topic, bytes(message.payload))
