"""MQTT ingest: a persistent QoS 1 session whose messages are acknowledged only after they are committed.

The broker keeps the controller's session (fixed client id, clean_start False, long session expiry), so
whatever sensors publish while the controller is down is delivered when it returns. Messages are
acknowledged (manual PUBACK) only after the batch holding them is committed; if the process dies
before that, the broker redelivers them and the (sender, message name, seq) check makes that idempotent.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cellward.signing import Keyring
from controller.acks import SensorAcks
from controller.captures import expire_overdue
from controller.events import LifecycleEvent
from controller.gc_tuning import collector_paused
from controller.housekeeping import check_sensors, prune_raw
from controller.pipeline import Checked, Pipeline, RawMessage
from controller.publisher import Publisher
from controller.scan_focus import ScanFocusPublisher

log = logging.getLogger("cellward.controller.ingest")
SESSION_EXPIRY_S = 7 * 24 * 3600  # how long the broker queues for us while we are away
# QoS 1 messages the broker may hand us before we ack them (batches are acked together after their commit):
# what a controller that falls behind holds in memory (a detections batch is ~8 kB, parsed several times
# that); the rest waits in the broker's queue for the persistent session. Four write batches' worth.
RECEIVE_MAXIMUM = 8000
HEALTH_INTERVAL_S = 5.0
IDLE_TICK_S = 0.1
QUIET_GAP_S = 0.002  # no message for this long: the sensors' burst of reports is in
MIN_WAIT_S = 0.001  # a window due already, with nothing queued, is settled by an empty batch


class Ingest:
    def __init__(self, controller, locating=None) -> None:
        self.controller = controller
        config = controller.config
        if locating is None:
            from controller.locate import Locator
            from controller.locating import SiteLocating
            from controller.survey import Survey

            survey = Survey.load(config.survey_file) if config.survey_file is not None else None
            locator = Locator.for_site(controller.site, survey, **config.locator.budgets_bytes())
            locating = SiteLocating(
                controller.site,
                config.ingest.correlation_delay_s,
                locator=locator,
                bursts_per_report=config.ingest.bursts_per_report,
                clock_tolerance_s=config.ingest.clock_tolerance_s,
                max_delay_s=config.ingest.correlation_delay_max_s,
                listening=self._listening_sets() if config.scan.groups > 1 else None,
            )
        self.locating = locating
        controller.metrics.watch_locating(locating)
        self.queue: queue.Queue[RawMessage] = queue.Queue(maxsize=200_000)
        self.pipeline = Pipeline(controller, Keyring.load(config.sensor_keyring), locating, self._oldest_waiting)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.mqtt_client_id, protocol=mqtt.MQTTv5)
        self.client.manual_ack_set(True)
        if config.mqtt.username is not None:
            self.client.username_pw_set(config.mqtt.username, config.mqtt.password())
        if config.mqtt.tls is not None:
            tls = config.mqtt.tls
            self.client.tls_set(
                ca_certs=str(tls.ca_file),
                certfile=str(tls.cert_file) if tls.cert_file else None,
                keyfile=str(tls.key_file) if tls.key_file else None,
            )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.publisher = Publisher(controller, self.client)
        self.client.max_inflight_messages_set(1000)  # an ack to every sensor at once must not queue behind 20
        self.acks = SensorAcks(
            self.publisher,
            lambda: self.pipeline.tracker.streams,
            [sensor.id for sensor in controller.site.sensors],
            config.acks,
        )
        self.scan_focus = ScanFocusPublisher(self.publisher, config.scan_focus) if config.scan_focus.enabled else None
        if self.scan_focus is not None:
            self.pipeline.detection_sinks.append(self.scan_focus.recent.note)
        self.connected = False
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_health = 0.0
        self._last_prune = 0.0

    def _listening_sets(self):
        """Who was listening, with scan groups; the focus is read when a burst is located (the focus publisher
        is made later in __init__)."""
        from controller.listening import ListeningSets

        def focus(epoch_s: float):
            return self.scan_focus.site_focus(epoch_s) if self.scan_focus is not None else None

        return ListeningSets(self.controller.site, self.controller.config.scan, focus)

    # -- MQTT callbacks (paho's network thread) ----------------------------------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("event=mqtt_connect_failed site=%s reason=%s", self.controller.config.site_id, reason_code)
            return
        self.connected = True
        site = self.controller.config.site_id
        topic = f"cellward/{site}/sensor/+/+"
        answers = f"cellward/{site}/sensor/+/cmd/+/state"
        # blocker nodes' streams and their answers to commands (not the commands: those are ours)
        blocker_topics = (f"cellward/{site}/blocker/+/+", f"cellward/{site}/blocker/+/cmd/+/state")
        client.subscribe([(t, 1) for t in (topic, answers, *blocker_topics)])
        self.publisher.online()
        self.acks.refresh_all()
        if self.scan_focus is not None:
            self.scan_focus.refresh()
        log.info("event=mqtt_connected site=%s topic=%s", self.controller.config.site_id, topic)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connected = False
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("event=mqtt_disconnected site=%s reason=%s", self.controller.config.site_id, reason_code)
            self.publisher.arm_will()  # the next connection's will follows the next online

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        # Blocking when the queue is full pushes back on the broker instead of dropping anything.
        self.queue.put(RawMessage(message.topic, message.payload, time.time(), message.mid, bool(message.retain)))

    def _oldest_waiting(self) -> float | None:
        with self.queue.mutex:
            return self.queue.queue[0].received_at if self.queue.queue else None

    # -- life cycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        config = self.controller.config
        started = time.monotonic()
        self.locating.warm_up()
        log.info("event=locator_ready site=%s seconds=%.1f", config.site_id, time.monotonic() - started)
        self.pipeline.load_state()
        self.publisher.arm_will()
        self.controller.bus.add_sink(self.publisher.lifecycle)
        self.controller.blocking.units.sender = self.publisher
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(
            config.mqtt.host, config.mqtt.port, config.mqtt.keepalive_s, clean_start=False, properties=properties
        )
        self.client.loop_start()
        self._worker = threading.Thread(target=self._run, name="cellward-ingest", daemon=True)
        self._worker.start()

    def wait_subscribed(self, timeout_s: float = 10.0) -> bool:
        """True once the broker confirmed the subscription (tests and the bench wait for it)."""
        return self.subscribed.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish and acknowledge what was received, say `stopped`, and disconnect."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout_s)
        if self.connected:
            info = self.publisher.stopped()
            if info is not None:
                info.wait_for_publish(2.0)
        self.client.disconnect()
        self.client.loop_stop()
        log.info("event=ingest_stopped site=%s", self.controller.config.site_id)

    # -- worker (the only database writer of ingest data) -------------------------------------------------

    def _take_batch(self) -> tuple[list[RawMessage], list[Checked]]:
        """What has come in, and what of it passed its checks: each message is checked as it is taken, so waiting
        for the rest of the sensors' burst of reports is not idle. A batch closes when no message came for
        QUIET_GAP_S, at `batch_wait_s` or at `batch_max`; a busy worker finds the next one already full. Empty
        when nothing came before the correlation next has a window due or a tick passed."""
        ingest = self.controller.config.ingest
        try:
            first = self.queue.get(timeout=self._idle_wait_s())
        except queue.Empty:
            return [], []
        batch = [first]
        with collector_paused():  # the batch's messages live until it is stored (controller/gc_tuning.py)
            checked = [self.pipeline.check(first)]
            deadline = time.monotonic() + ingest.batch_wait_s
            while len(batch) < ingest.batch_max:
                try:
                    raw = self.queue.get_nowait()
                except queue.Empty:
                    left_s = deadline - time.monotonic()
                    if left_s <= 0 or self._stop.is_set():
                        break
                    try:
                        raw = self.queue.get(timeout=min(QUIET_GAP_S, left_s))
                    except queue.Empty:
                        break
                batch.append(raw)
                checked.append(self.pipeline.check(raw))
        return batch, [item for item in checked if item is not None]

    def _idle_wait_s(self) -> float:
        """How long to wait for a message: until the correlation has a window due, so that it is located then
        and not at the next tick, at most a tick."""
        due_s = self.locating.next_due_s()
        if due_s is None:
            return IDLE_TICK_S
        return min(IDLE_TICK_S, max(MIN_WAIT_S, due_s - self.controller.clock()))

    def _run(self) -> None:
        while True:
            try:
                batch, checked = self._take_batch()
            except Exception:  # a check that failed unexpectedly: as a batch that failed, nothing of it acknowledged
                log.exception("event=batch_failed site=%s stage=check", self.controller.config.site_id)
                self._recover()
                continue
            if self._stop.is_set() and not batch:
                if self.queue.empty():
                    return
                continue
            if batch:
                metrics = self.controller.metrics
                metrics.ingest_backlog.set(self.queue.qsize())
                metrics.ingest_lag_seconds.set(time.time() - batch[0].received_at)
                metrics.correlation_wait_seconds.set(self.locating.wait_s)
            try:
                events = self.pipeline.process_checked(checked)
            except Exception:
                # Nothing of this batch was acknowledged: reconnecting makes the broker redeliver it.
                log.exception("event=batch_failed site=%s messages=%d", self.controller.config.site_id, len(batch))
                self._recover()
                continue
            for raw in batch:
                if raw.mid:
                    self.client.ack(raw.mid, 1)
            self._emit(events)
            self.acks.tick(self.connected)  # after the commit: acks say only what the database holds
            if self.scan_focus is not None:
                self.scan_focus.tick(self.connected)
            self._periodic()

    def _recover(self) -> None:
        time.sleep(1.0)
        while not self.queue.empty():  # these will come again from the broker
            self.queue.get_nowait()
        self.pipeline.load_state()
        self.controller.incidents.load_open()
        try:
            self.client.reconnect()
        except OSError:
            log.exception("event=reconnect_failed site=%s", self.controller.config.site_id)

    def _periodic(self) -> None:
        self.controller.blocking.tick()
        now = self.controller.clock()
        retention = self.controller.config.retention
        due_health = now - self._last_health >= HEALTH_INTERVAL_S
        due_prune = now - self._last_prune >= retention.prune_interval_s
        if not (due_health or due_prune):
            return
        events = []
        with self.controller.incidents.lock, self.controller.sessions() as db:
            if due_health:
                self._last_health = now
                events = check_sensors(self.controller, db, now, self.locating.clock_offsets())
                expire_overdue(self.controller, db, now)
                events += self.controller.incidents.end_silent(db, now)
            if due_prune:
                self._last_prune = now
                prune_raw(self.controller, db, now)
            db.commit()
        self._emit(events)

    def _emit(self, events: list[LifecycleEvent]) -> None:
        """Committed events to the bus, their lifecycle seqs reserved in one write per message name (not one
        commit per event: a health check that finds 200 silent sensors raises 200 alerts)."""
        try:
            self.publisher.reserve_for(events)
        except Exception:  # as a failing sink: each message then persists its own seq, ingest goes on
            log.exception("event=seq_reservation_failed site=%s", self.controller.config.site_id)
        for event in events:
            self.controller.bus.emit(event)
