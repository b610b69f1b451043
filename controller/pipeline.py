"""Ingest pipeline for one batch of MQTT messages: check, store, locate, update incidents, in one transaction."""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import orjson
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cellward.messages import (
    Availability,
    CommandState,
    DetectionBatch,
    Envelope,
    MessageError,
    ReportColumns,
    SensorStats,
    SensorStatus,
    SnippetChunk,
    SpectrumFrame,
    parse_message,
    parse_sensor_topic,
)
from cellward.messages.parse import MESSAGE_MODELS
from cellward.messages.topics import SensorTopic, parse_blocker_topic
from cellward.messages.wire_time import WIRE_CONTEXT
from cellward.signing import Keyring, SignatureError, UnknownSender, verify_message, verify_payload
from controller.db.bulk import append_rows
from controller.db.reports import Message, Report, SensorState, SensorStream
from controller.events import LifecycleEvent
from controller.gc_tuning import collector_paused
from controller.sequence import SeqTracker, SeqVerdict
from controller.sighting import Sighting
from controller.snippet_receiver import SnippetRejected

log = logging.getLogger("cellward.controller.ingest")

# Which message each topic leaf must carry; a message on the wrong leaf is refused.
LEAF_SCHEMAS = {
    "detections": "cellward.detections/1",
    "status": "cellward.status/1",
    "stats": "cellward.stats/1",
    "availability": "cellward.availability/1",
    "spectrum": "cellward.spectrum/1",
    "snippet": "cellward.snippet/1",
    "state": "cellward.command_state/1",  # cmd/<command>/state: answers to the controller's commands
}
# The same for blocker nodes; `ack` is cmd/<command>/state, the node's answer to a command.
BLOCKER_LEAF_SCHEMAS = {
    "availability": "cellward.availability/1",
    "state": "cellward.blocker_state/1",
    "heartbeat": "cellward.blocker_heartbeat/1",
    "faults": "cellward.blocker_fault/1",
    "ack": "cellward.blocker_ack/1",
}


# Report rows are appended in bulk as tuples in this order (controller/db/bulk.py).
REPORT_COLUMNS = (
    "message_id",
    "sensor_id",
    "received_at",
    "window_start",
    "window_end",
    "freq_hz",
    "bandwidth_hz",
    "band",
    "operators",
    "technology",
    "burst_count",
    "duty_cycle",
    "mean_power_dbm",
    "peak_power_dbm",
    "snr_db",
)


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    payload: bytes
    received_at: float
    mid: int = 0
    retained: bool = False


@dataclass(slots=True)
class Checked:
    raw: RawMessage
    message: Envelope
    digest: str
    from_blocker: bool = False
    columns: ReportColumns | None = None  # a detections batch's reports, read by store and locating


def _leaf_schema(topic: SensorTopic | None, site_id: str) -> str | None:
    """The message name a topic of this site must carry; None for a topic the controller does not read."""
    if topic is None or topic.site != site_id:
        return None
    if topic.kind == "blocker":
        leaf = "ack" if topic.command is not None and topic.leaf == "state" else topic.leaf
        return None if topic.command is not None and leaf != "ack" else BLOCKER_LEAF_SCHEMAS.get(leaf)
    # a sensor's cmd/<command>/state answers the controller's commands; its other topics have no command level
    return LEAF_SCHEMAS.get(topic.leaf) if topic.command is None or topic.leaf == "state" else None


class Locating(Protocol):
    """Correlation + location behind one face (controller/locating.py wraps h-locate's classes)."""

    def add_reports(
        self, sensor_id: str, batch: DetectionBatch, received_at: float, columns: ReportColumns | None = None
    ) -> None: ...

    def ready(self, now_s: float) -> list[Sighting]: ...

    @property
    def wait_s(self) -> float: ...

    def clock_offsets(self) -> dict[str, float]: ...

    @property
    def stragglers(self) -> int: ...

    @property
    def cache_bytes(self) -> int: ...

    def warm_up(self) -> None: ...


class Rejected(Exception):  # noqa: N818 - carries the counted reason, not an error of ours
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Pipeline:
    def __init__(
        self,
        controller,
        keyring: Keyring,
        locating: Locating,
        waiting_since: Callable[[], float | None] = lambda: None,
    ) -> None:
        """`waiting_since`: when the oldest message not yet in a batch arrived (the ingest queue's head), None when
        none waits."""
        self.controller = controller
        self.site_id = controller.config.site_id
        self.keyring = keyring
        self.locating = locating
        self.metrics = controller.metrics
        self.tracker = SeqTracker(controller.config.ingest.max_missing_tracked, self._stored_digest)
        # told each stored batch (and its reports as columns), after the commit
        self.detection_sinks: list[Callable[[DetectionBatch, ReportColumns], None]] = []
        self._db: Session | None = None
        self.sensors: dict[str, SensorState] = {}
        self.waiting_since = waiting_since

    def load_state(self) -> None:
        """Read seq bookkeeping and sensor rows back after a (re)start."""
        with self.controller.sessions() as db:
            self.tracker = SeqTracker(self.controller.config.ingest.max_missing_tracked, self._stored_digest)
            self.tracker.load(list(db.scalars(select(SensorStream))))
            self.sensors = {state.id: state for state in db.scalars(select(SensorState))}
        for (sensor_id, _), stream in self.tracker.streams.items():
            self.metrics.seq_lost.labels(sensor=sensor_id).set(stream.lost)

    def _stored_digest(self, sender: str, name: str, seq: int) -> str | None:
        assert self._db is not None
        return self._db.scalar(
            select(Message.digest).where(Message.sender == sender, Message.schema == name, Message.seq == seq)
        )

    # -- checks that need no database -------------------------------------------------------------------

    def check(self, raw: RawMessage) -> Checked | None:
        """`raw` decoded, verified and validated; None when it is refused (counted and logged)."""
        try:
            return self._checked(raw)
        except Rejected as exc:
            self.metrics.messages_rejected.labels(reason=exc.reason).inc()
            log.warning("event=message_rejected reason=%s topic=%s detail=%s", exc.reason, raw.topic, exc)
            return None

    def _checked(self, raw: RawMessage) -> Checked:
        """Decode, verify and validate one message; raise Rejected with the counted reason."""
        topic = parse_sensor_topic(raw.topic) or parse_blocker_topic(raw.topic)
        expected = _leaf_schema(topic, self.site_id)
        if topic is None or expected is None:
            raise Rejected("bad_topic", f"not a sensor or blocker stream of site {self.site_id}: {raw.topic}")
        self.metrics.messages_received.labels(kind=topic.leaf).inc()
        try:
            message = MESSAGE_MODELS[expected].model_validate_json(raw.payload, context=WIRE_CONTEXT)
        except ValidationError:
            message = None  # the long way names what is wrong with it
        if message is None or not _verifies_as_published(raw.payload, message, self.keyring):
            # validated again from the very object whose signature is checked, whatever the two parsers do with
            # oddities such as repeated keys
            try:
                message = parse_message(self._signed_wire(raw.payload))
            except MessageError as exc:
                raise Rejected("invalid", str(exc)) from None
        if message.sender != topic.sensor_id or message.site != self.site_id:
            raise Rejected(
                "sender_mismatch",
                f"message from {message.sender} of site {message.site} published on {raw.topic}",
            )
        if message.schema_name != expected:
            raise Rejected("bad_topic", f"{message.schema_name} does not belong on {raw.topic}")
        digest = hashlib.sha256(message.sig.encode()).hexdigest()
        # read now, while the reports just made are still in the CPU's caches: later, a batch of them is not
        columns = ReportColumns.of(message.reports) if isinstance(message, DetectionBatch) else None
        return Checked(raw, message, digest, from_blocker=topic.kind == "blocker", columns=columns)

    def _settled_until(self) -> float:
        """The time up to which every report that arrived is in the correlation: now, once this batch is checked
        and stored (a window whose reports all came in it may be due already, without waiting for another
        batch), but never past a message still waiting in the queue."""
        now = self.controller.clock()
        waiting = self.waiting_since()
        return now if waiting is None else min(now, waiting)

    def _signed_wire(self, payload: bytes) -> dict:
        """The payload as a JSON object whose signature verifies over its canonical form."""
        try:
            wire = orjson.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Rejected("bad_json", f"payload is not JSON: {exc}") from None
        if not isinstance(wire, dict):
            raise Rejected("bad_json", "payload is not a JSON object")
        if wire.get("sig") is None:
            raise Rejected("unsigned", f"unsigned message from {wire.get('sender')!r}")
        try:
            verify_message(wire, self.keyring)
        except UnknownSender as exc:
            raise Rejected("unknown_sender", str(exc)) from None
        except SignatureError as exc:
            raise Rejected("bad_signature", str(exc)) from None
        return wire

    # -- one batch ----------------------------------------------------------------------------------------

    def process(self, batch: list[RawMessage]) -> list[LifecycleEvent]:
        """Everything in `batch` is decided and committed when this returns (then the caller acks)."""
        with collector_paused():
            return self.process_checked([item for item in map(self.check, batch) if item is not None])

    @collector_paused()
    def process_checked(self, checked: list[Checked]) -> list[LifecycleEvent]:
        """What `check` passed of a batch, in order, decided and committed when this returns (then the caller acks
        the batch): for a caller that checked each message as it came in."""
        started = time.perf_counter()
        checked = [item for item in checked if not self._side_channel(item)]
        with self.controller.sessions() as db:
            self._db = db
            try:
                accepted, counted = self._sequence(db, checked)
                self._store(db, accepted)
                for item in accepted:
                    if item.columns is not None:
                        self.locating.add_reports(item.message.sender, item.message, item.raw.received_at, item.columns)
                sightings = self.locating.ready(self._settled_until())
                self.metrics.sightings.inc(len(sightings))
                events = self.controller.incidents.process(db, sightings)
                db.commit()
            finally:
                self._db = None
        for count in counted:  # only what was committed is counted: a failed batch comes again
            count()
        # after the commit: the blocking control writes its own audit entries
        self.controller.blocking.unit_messages([item.message for item in accepted if item.from_blocker])
        for item in accepted:
            if item.columns is not None:
                self.controller.blocking.perimeter_reports(item.message)
                for sink in self.detection_sinks:
                    sink(item.message, item.columns)
        self._count(events, sightings)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        return events

    def _side_channel(self, item: Checked) -> bool:
        """Live spectra go to the relay, snippet chunks and command answers to the snippet receiver; none of
        them to the message store or the seq bookkeeping of report streams."""
        message = item.message
        if isinstance(message, SpectrumFrame):
            refused = self.controller.spectra.offer(message)
        elif isinstance(message, SnippetChunk):
            try:
                self.controller.snippets.add(message)
                refused = None
            except SnippetRejected as exc:
                refused = exc.reason
                log.warning("event=message_rejected reason=%s sensor=%s detail=%s", refused, message.sender, exc)
        elif isinstance(message, CommandState):
            self.controller.snippets.acknowledged(message)
            refused = None
        else:
            return False
        if refused is None:
            self.metrics.messages_accepted.labels(kind=message.schema_name.split(".")[1].split("/")[0]).inc()
        else:
            self.metrics.messages_rejected.labels(reason=refused).inc()
        return True

    def _sequence(self, db: Session, checked: list[Checked]) -> tuple[list[Checked], list[Callable[[], None]]]:
        """The messages to store, and the metric updates to make once they are committed."""
        accepted = []
        counted: list[Callable[[], None]] = []
        for item in checked:
            message = item.message
            verdict, stream, lost_delta = self.tracker.check(
                message.sender, message.schema_name, message.seq, item.digest
            )
            db.add(stream)
            if verdict is SeqVerdict.replayed:
                counted.append(self.metrics.messages_rejected.labels(reason="replayed").inc)
                log.warning(
                    "event=message_rejected reason=replayed sensor=%s schema=%s seq=%d highest=%d",
                    message.sender,
                    message.schema_name,
                    message.seq,
                    stream.highest_seq,
                )
                continue
            if verdict is SeqVerdict.duplicate:
                counted.append(self.metrics.duplicates.inc)
                if not item.from_blocker:
                    self._sensor(db, message.sender).duplicates += 1
                continue
            if item.from_blocker:  # a blocker node is not a sensor: the blocking control keeps its state
                accepted.append(item)
                continue
            state = self._sensor(db, message.sender)
            if lost_delta:
                state.messages_lost += lost_delta
                counted.append(functools.partial(self.metrics.seq_lost.labels(sensor=message.sender).set, stream.lost))
                if lost_delta > 0:
                    log.warning(
                        "event=seq_gap sensor=%s schema=%s lost=%d seq=%d",
                        message.sender,
                        message.schema_name,
                        lost_delta,
                        message.seq,
                    )
            state.messages_received += 1
            state.last_seen = item.raw.received_at
            if message.seq >= stream.highest_seq:
                # a late one (its spool sending again what was missing) is older news than what is kept
                state.last_message_ts = message.ts.timestamp()
                self._apply(state, message)
            counted.append(
                self.metrics.messages_accepted.labels(kind=message.schema_name.split(".")[1].split("/")[0]).inc
            )
            accepted.append(item)
        return accepted, counted

    def _sensor(self, db: Session, sensor_id: str) -> SensorState:
        state = self.sensors.get(sensor_id)
        if state is None:
            state = SensorState(
                id=sensor_id, messages_received=0, messages_lost=0, duplicates=0, availability="unknown"
            )
            self.sensors[sensor_id] = state
        db.add(state)
        return state

    @staticmethod
    def _apply(state: SensorState, message: Envelope) -> None:
        if isinstance(message, Availability):
            state.availability = message.state
        elif isinstance(message, SensorStatus):
            state.status = message.model_dump(mode="json", exclude={"sig"})
            state.clock_offset_s = message.clock.offset_s
            if state.availability == "unknown":
                state.availability = "online"
        elif isinstance(message, SensorStats):
            state.stats = message.model_dump(mode="json", exclude={"sig"})
            state.clock_offset_s = message.clock.offset_s
        elif isinstance(message, DetectionBatch):
            state.clock_offset_s = message.clock.offset_s
            if state.availability in ("unknown", "offline", "stopped"):
                state.availability = "online"  # it is talking, whatever the last retained state said

    def _store(self, db: Session, accepted: list[Checked]) -> None:
        if not accepted:
            return
        rows = [
            {
                "sender": item.message.sender,
                "schema": item.message.schema_name,
                "seq": item.message.seq,
                "ts": item.message.ts.timestamp(),
                "received_at": item.raw.received_at,
                "digest": item.digest,
                "raw": item.raw.payload.decode("utf-8", errors="replace"),
            }
            for item in accepted
        ]
        ids = list(db.scalars(insert(Message).returning(Message.id, sort_by_parameter_order=True), rows))
        stored = [
            (message_id, item) for message_id, item in zip(ids, accepted, strict=True) if item.columns is not None
        ]
        report_rows = itertools.chain.from_iterable(
            _report_rows(message_id, item.message.sender, item.raw.received_at, item.columns)
            for message_id, item in stored
        )
        append_rows(db, Report.__table__, REPORT_COLUMNS, report_rows)
        self.metrics.reports_stored.inc(sum(len(item.columns.freq_hz) for _, item in stored))

    def _count(self, events: list[LifecycleEvent], sightings: list[Sighting]) -> None:
        now = time.time()
        for event in events:
            if event.kind == "incident" and event.type == "new":
                self.metrics.incidents_opened.labels(suppressed=str(event.after["suppressed"]).lower()).inc()
            elif event.kind == "alert" and event.type == "new":
                self.metrics.alerts_raised.labels(rule=event.after["rule"]).inc()
        for sighting in sightings:
            if sighting.received_at is not None:
                self.metrics.report_to_incident_seconds.observe(max(0.0, now - sighting.received_at))


def _verifies_as_published(payload: bytes, message: Envelope, keyring: Keyring) -> bool:
    """A message its sender published as `signed_payload` writes it (every cellward node does) is verified on its
    bytes, without a JSON object to serialise again: about a third of checking a detections batch."""
    return message.sig is not None and verify_payload(payload, message.sender, message.sig, keyring)


def _report_rows(message_id: int, sender: str, received_at: float, table: ReportColumns) -> Iterator[tuple]:
    """A batch's report rows in the order of REPORT_COLUMNS."""
    window_end = np.add(table.window_start_s, table.window_s).tolist()
    n = len(window_end)
    return zip(
        itertools.repeat(message_id, n),
        itertools.repeat(sender, n),
        itertools.repeat(received_at, n),
        table.window_start_s,
        window_end,
        table.freq_hz,
        table.bandwidth_hz,
        table.band,
        map(_json_text, table.operators),
        table.technology,
        table.burst_count,
        table.duty_cycle,
        table.mean_power_dbm,
        table.peak_power_dbm,
        table.snr_db,
        strict=True,
    )


def _json_text(values: list[str]) -> str:
    """A JSON column's value as the text the driver stores (bulk appends bypass SQLAlchemy's serialiser)."""
    return orjson.dumps(values).decode()
