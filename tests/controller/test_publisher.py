"""The controller's lifecycle messages: seqs persisted per batch of events, handed out in order, no gaps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from controller.alerts import alert_state
from controller.db.incidents import AlertRecord
from controller.db.reports import Report
from controller.events import LifecycleEvent
from tests.controller.conftest import statements, wait_for
from tests.controller.sensor_messages import activity_report
from tests.controller.test_incident_pipeline import Listener, phone_in


def seq_writes(controller):
    """The statements that write the controller's lifecycle seqs while the block runs."""
    return statements(controller, lambda sql: sql.startswith("UPDATE publish_seq") or "INSERT INTO publish_seq" in sql)


def alert_event(n: int) -> LifecycleEvent:
    alert = AlertRecord(
        id=f"00000000-0000-4000-8000-{n:012d}",
        rule="sensor_silent",
        alert_class="system",
        severity="high",
        incident_id=None,
        sensor_id="s-1",
        key=f"sensor_silent:s-{n}",
        message="silent",
        active=True,
        occurrences=1,
        created_at=1.0e9,
        last_at=1.0e9,
        ended_at=None,
        acknowledged_by=None,
    )
    return LifecycleEvent("alert", "new", alert.id, None, alert_state(alert))


def test_a_batch_of_events_persists_its_seqs_at_once_and_publishes_them_in_order(world, mosquitto):
    listener = Listener(mosquitto.port)
    controller = world.start()
    try:
        publisher = controller.ingest.publisher
        with seq_writes(controller) as writes:
            events = [alert_event(n) for n in range(3)]
            state = LifecycleEvent("sensors", "update", "sensors", None, {})  # the live view's, not a message
            publisher.reserve_for([*events, state])
            assert len(writes) == 1, "one write for the batch's alerts"
            for event in events:
                publisher.lifecycle(event)
            assert len(writes) == 1, "the messages took the seqs reserved for them"
            publisher.lifecycle(alert_event(3))
            assert len(writes) == 2, "an event nobody reserved for persists its own seq"
        alerts = wait_for(lambda: len(listener.on("alerts")) == 4 and listener.on("alerts"), what="four alerts")
        seqs = [body["seq"] for body in alerts]
        assert seqs == list(range(seqs[0], seqs[0] + 4)), "in publish order, without a gap"
        assert [body["id"] for body in alerts] == [alert_event(n).id for n in range(4)]
    finally:
        listener.close()


def test_a_failed_seq_reservation_does_not_stop_ingest(world, publisher, mosquitto):
    """As a failing event sink: the batch's messages then persist their own seqs, and the next batch is taken."""
    listener = Listener(mosquitto.port)
    controller = world.start()
    try:

        def unavailable(_events):
            raise OperationalError("UPDATE publish_seq", {}, Exception("database unavailable"))

        controller.ingest.publisher.reserve_for = unavailable
        cell = world.site.cells[0]
        start = datetime.now(UTC)
        for sensor_id, level in phone_in(world, cell.id).items():
            publisher.publish(*world.nodes[sensor_id].detections([activity_report(start, [level, level - 0.3])]))
        incidents = wait_for(lambda: listener.on("incidents"), what="the incident on MQTT")
        assert incidents[0]["after"]["cell_id"] == cell.id and incidents[0]["seq"] >= 1
        later = datetime.now(UTC)
        node = next(iter(world.nodes.values()))
        publisher.publish(*node.detections([activity_report(later, [-70.0, -70.5])]))
        wait_for(lambda: stored_reports(controller) > len(phone_in(world, cell.id)), what="the next batch stored")
    finally:
        listener.close()


def stored_reports(controller) -> int:
    with controller.sessions() as db:
        return db.scalar(select(func.count()).select_from(Report)) or 0


def test_a_health_check_raising_an_alert_per_sensor_persists_their_seqs_in_one_write(sqlite_world):
    """Every sensor of a site never heard is silent at the first health check: one alert each, whose seqs
    are reserved together, not committed one by one while ingest waits."""
    from controller.ingest import Ingest

    controller = sqlite_world.start(with_ingest=False)
    ingest = Ingest(controller)  # not started: the test runs its housekeeping itself
    ingest.pipeline.load_state()
    controller.bus.add_sink(ingest.publisher.lifecycle)
    emitted = []
    controller.bus.add_sink(emitted.append)
    with seq_writes(controller) as writes:
        ingest._periodic()
    silent = [e for e in emitted if e.kind == "alert" and e.type == "new" and e.after["rule"] == "sensor_silent"]
    assert len(silent) == len(sqlite_world.site.sensors) > 1
    assert len(writes) == 1, "one write for the health check's alerts"
