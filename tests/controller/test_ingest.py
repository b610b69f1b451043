"""Ingest over a real Mosquitto into a real database: checks, rejections counted by reason, no loss, idempotence."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cellward.signing import NodeKey, sign_message, signed_payload
from controller.db.reports import Message, Report, SensorState
from tests.controller.conftest import SITE_ID, wait_for
from tests.controller.sensor_messages import activity_report


def counter(controller, name: str, **labels) -> float:
    value = controller.metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


def stored(controller, model=Message) -> int:
    with controller.sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def sensor_state(controller, sensor_id: str) -> SensorState | None:
    with controller.sessions() as db:
        return db.get(SensorState, sensor_id)


def one_report():
    return [activity_report(datetime.now(UTC), [-60.0, -61.0, -60.5])]


def test_signed_detections_are_stored_with_their_reports(world, publisher):
    controller = world.start()
    node = next(iter(world.nodes.values()))
    publisher.publish(*node.detections(one_report()))
    wait_for(lambda: stored(controller, Report) == 1, what="the report to be stored")
    wait_for(
        lambda: counter(controller, "cellward_controller_messages_accepted_total", kind="detections") == 1,
        what="the count, made just after the commit",
    )
    assert counter(controller, "cellward_controller_ingest_backlog") == 0, "nothing else was waiting"
    lag = counter(controller, "cellward_controller_ingest_lag_seconds")
    assert 0 < lag < 5, f"the batch was taken {lag} s after it arrived"
    state = sensor_state(controller, node.sensor_id)
    assert state.messages_received == 1 and state.messages_lost == 0 and state.availability == "online"


BAD_KINDS = ["bad_json", "unsigned", "bad_signature", "unknown_sender", "invalid", "sender_mismatch", "bad_topic"]
# A node writes its messages as `signed_payload` does; a writer of another JSON layout is verified the long way.
LAYOUTS = {"as published": signed_payload, "another layout": lambda wire: json.dumps(wire).encode()}


def bad_message(kind: str, node, other_node, write=signed_payload) -> tuple[str, bytes]:
    topic, payload = node.detections(one_report())
    wire = json.loads(payload)
    if kind == "bad_json":
        return topic, b"{not json"
    if kind == "unsigned":
        wire.pop("sig")
        return topic, write(wire)
    if kind == "bad_signature":
        wire["reports"][0]["mean_power_dbm"] = -20.0  # tampered after signing
        return topic, write(wire)
    if kind == "unknown_sender":
        stranger = NodeKey.generate("s-stranger")
        wire["sender"] = "s-stranger"
        return topic.replace(node.sensor_id, "s-stranger"), write(sign_message(wire, stranger))
    if kind == "invalid":
        wire["reports"][0]["duty_cycle"] = 7.5  # a fraction cannot exceed 1
        return topic, write(sign_message(wire, node.key))
    if kind == "sender_mismatch":
        return topic.replace(node.sensor_id, other_node.sensor_id), payload  # node's message on another's topic
    if kind == "bad_topic":
        return topic.replace("/detections", "/status"), payload
    raise AssertionError(kind)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_kind_of_bad_message_is_rejected_counted_and_does_not_stop_ingest(world, publisher, layout):
    controller = world.start()
    node, other = list(world.nodes.values())[:2]
    for kind in BAD_KINDS:
        publisher.publish(*bad_message(kind, node, other, LAYOUTS[layout]))
    topic, payload = node.detections(one_report())
    publisher.publish(topic, LAYOUTS[layout](json.loads(payload)))  # a good one after all the bad ones
    wait_for(lambda: stored(controller, Report) == 1, what="the good message after the bad ones")
    for kind in BAD_KINDS:
        assert counter(controller, "cellward_controller_messages_rejected_total", reason=kind) == 1, (
            f"a {kind} message must be rejected and counted once"
        )
    assert stored(controller) == 1, "nothing from the bad messages may be stored"


def test_a_signature_moved_inside_the_message_is_not_the_messages_signature(world, publisher):
    """Cut out of a nested object, the sig member leaves exactly the signed bytes: the check on the bytes alone would
    pass. The message's own (top-level) signature is what counts, and this message has none."""
    controller = world.start()
    node = next(iter(world.nodes.values()))
    topic, payload = node.detections(one_report())
    sig = json.loads(payload)["sig"]
    member = f'"sig":"{sig}"'.encode()
    moved = payload.replace(b"," + member, b"").replace(b'"clock":{', b'"clock":{' + member + b",")
    publisher.publish(topic, moved)
    publisher.publish(*node.detections(one_report()))
    wait_for(lambda: stored(controller, Report) == 1, what="the good message after the moved one")
    assert counter(controller, "cellward_controller_messages_rejected_total", reason="unsigned") == 1
    assert stored(controller) == 1


def test_redelivered_messages_are_idempotent_and_old_seqs_with_new_content_are_replays(world, publisher):
    controller = world.start()
    node = next(iter(world.nodes.values()))
    first = node.detections(one_report())
    publisher.publish(*first)
    publisher.publish(*node.detections(one_report()))
    publisher.publish(*first)  # the same message again: a QoS 1 redelivery
    publisher.publish(*node.detections(one_report(), seq=1))  # seq 1 again with other content: a replay
    wait_for(  # the counter moves before the batch's commit: wait for both
        lambda: (
            counter(controller, "cellward_controller_messages_rejected_total", reason="replayed") == 1
            and stored(controller) == 2
        ),
        what="the replay to be counted and the batch committed",
    )
    assert stored(controller) == 2 and stored(controller, Report) == 2
    assert counter(controller, "cellward_controller_messages_duplicate_total") == 1
    assert sensor_state(controller, node.sensor_id).duplicates == 1


def test_seq_gaps_are_counted_as_measured_loss_per_sensor(world, publisher):
    controller = world.start()
    node, other = list(world.nodes.values())[:2]
    for seq in (1, 2, 6, 7, 10):
        publisher.publish(*node.detections(one_report(), seq=seq))
    publisher.publish(*other.detections(one_report()))
    wait_for(lambda: stored(controller) == 6, what="six messages")
    assert sensor_state(controller, node.sensor_id).messages_lost == 5, "seqs 3, 4, 5, 8, 9 never arrived"
    assert sensor_state(controller, other.sensor_id).messages_lost == 0
    assert counter(controller, "cellward_controller_sensor_messages_lost", sensor=node.sensor_id) == 5
    publisher.publish(*node.detections(one_report(), seq=4))  # a late arrival fills part of the gap
    wait_for(lambda: sensor_state(controller, node.sensor_id).messages_lost == 4, what="the late arrival")


@pytest.mark.slow
def test_controller_down_while_sensors_publish_loses_nothing(world, publisher):
    controller = world.start()
    node = next(iter(world.nodes.values()))
    publisher.publish(*node.detections(one_report()))
    wait_for(lambda: stored(controller) == 1, what="the first message")
    world.stop()  # the broker keeps the controller's persistent session and queues for it
    for _ in range(50):
        publisher.publish(*node.detections(one_report()))
    controller = world.start()
    wait_for(
        lambda: stored(controller) == 51, timeout_s=20, what="all 50 messages queued while the controller was down"
    )
    assert sensor_state(controller, node.sensor_id).messages_lost == 0, "no seq may be missing after the restart"


def test_status_sets_the_clock_offset_and_availability_follows_the_sensor(world, publisher):
    controller = world.start()
    node = next(iter(world.nodes.values()))
    publisher.publish(*node.status(clock_offset_s=0.02))
    publisher.publish(*node.availability("offline"))
    wait_for(lambda: (s := sensor_state(controller, node.sensor_id)) and s.availability == "offline", what="offline")
    assert sensor_state(controller, node.sensor_id).clock_offset_s == pytest.approx(0.02)


def test_a_late_status_from_the_spool_does_not_replace_the_newer_one(world, publisher):
    """A sensor's spool sends again what the controller reported missing, after newer messages: the state kept
    for the sensor (status, stats, clock offset) is its newest message's, whatever order they arrive in."""
    controller = world.start()
    node = next(iter(world.nodes.values()))
    for seq, offset_s in ((1, 0.02), (5, 0.05), (3, 0.01)):  # 3 made before 5, arriving after it
        publisher.publish(*node.status(clock_offset_s=offset_s, seq=seq))
    wait_for(lambda: (s := sensor_state(controller, node.sensor_id)) and s.messages_received == 3, what="all three")
    state = sensor_state(controller, node.sensor_id)
    assert (state.status["seq"], state.clock_offset_s) == (5, pytest.approx(0.05))
    assert state.messages_lost == 2, "seqs 2 and 4 never came; 3 came late"


def test_sensor_topic_of_another_site_is_not_ours(world, publisher):
    controller = world.start()
    node = next(iter(world.nodes.values()))
    topic, payload = node.detections(one_report())
    publisher.publish(topic.replace(f"cellward/{SITE_ID}/", "cellward/other-site/"), payload)
    publisher.publish(*node.detections(one_report()))
    wait_for(lambda: stored(controller) == 1, what="our message")
    assert stored(controller) == 1, "the controller subscribes to its own site only"


def test_a_stalled_controller_holds_at_most_receive_maximum_messages_and_loses_none(world, publisher, monkeypatch):
    """Memory stays bounded when ingest falls behind: the broker hands over at most RECEIVE_MAXIMUM unacked
    messages and keeps the rest for the persistent session until committed batches are acked."""
    import threading
    import time

    import controller.ingest

    monkeypatch.setattr(controller.ingest, "RECEIVE_MAXIMUM", 20)
    running = world.start()
    ingest = running.ingest
    release = threading.Event()
    process = ingest.pipeline.process_checked
    monkeypatch.setattr(ingest.pipeline, "process_checked", lambda checked: release.wait(60) and process(checked))
    handed_over = []
    put = ingest.queue.put
    monkeypatch.setattr(ingest.queue, "put", lambda item: handed_over.append(item) or put(item))
    node = next(iter(world.nodes.values()))
    for _ in range(100):
        publisher.publish(*node.detections(one_report()))
    wait_for(lambda: len(handed_over) >= 20, what="the first 20 messages")
    time.sleep(1.0)  # the other 80 were published and acknowledged by the broker: they must stay there
    assert len(handed_over) == 20 and stored(running) == 0
    release.set()
    wait_for(lambda: stored(running, Report) == 100, what="every message, once the stall ends")
    assert len(handed_over) == 100, "each message handed over once"


def test_a_window_all_in_one_batch_is_located_in_it_unless_a_later_report_still_waits(sqlite_world):
    """After a batch is checked and stored, the correlation's horizon counts the time now, so a window whose
    reports all came in the batch is located at once; but never past a message still waiting in the queue,
    which may be the window's last report."""
    from controller.ingest import Ingest
    from controller.pipeline import RawMessage
    from tests.controller.test_incident_pipeline import phone_in

    controller = sqlite_world.start(with_ingest=False)
    ingest = Ingest(controller)  # not started: no broker, no worker; the test takes its queue's part
    ingest.pipeline.load_state()
    cell = sqlite_world.site.cells[0]
    arrived = time.time() - 0.5  # longer ago than the correlation wait
    start = datetime.fromtimestamp(arrived - 1.0, UTC)
    batch = []
    for sensor_id, level in phone_in(sqlite_world, cell.id).items():
        topic, payload = sqlite_world.nodes[sensor_id].detections([activity_report(start, [level, level - 0.3])])
        batch.append(RawMessage(topic, payload, arrived))
    *taken, late = batch
    ingest.queue.put(late)
    assert ingest.pipeline.process(taken) == [], "a report of the window still waits: nothing is located yet"
    ingest.queue.get_nowait()
    events = ingest.pipeline.process([late])
    new = [event for event in events if event.kind == "incident" and event.type == "new"]
    assert len(new) == 1 and new[0].after["cell_id"] == cell.id, "located in the batch that completed the window"
    assert stored(controller, Report) == len(batch)


def test_a_batch_is_checked_as_it_is_taken_and_closes_when_the_burst_of_reports_is_in(sqlite_world):
    """Messages are checked while the rest of a burst comes in; a refused one is counted at once, and still in
    the batch (to be acknowledged with it). The batch closes once the queue stays quiet, not at batch_wait_s."""
    from controller.ingest import Ingest
    from controller.pipeline import RawMessage

    controller = sqlite_world.start(with_ingest=False)
    controller.config.ingest.batch_wait_s = 30.0
    ingest = Ingest(controller)  # not started: no broker, no worker; the test takes the queue's other side
    ingest.pipeline.load_state()
    nodes = list(sqlite_world.nodes.values())[:3]
    good = [RawMessage(*node.detections(one_report()), time.time()) for node in nodes]
    forged = RawMessage(good[0].topic, good[0].payload.replace(b'"seq":1', b'"seq":2'), time.time())
    for raw in (good[0], forged, *good[1:]):
        ingest.queue.put(raw)
    started = time.monotonic()
    batch, checked = ingest._take_batch()
    assert time.monotonic() - started < 10.0, "closed when the queue went quiet"
    assert batch == [good[0], forged, *good[1:]]
    assert [item.raw for item in checked] == good
    assert counter(controller, "cellward_controller_messages_rejected_total", reason="bad_signature") == 1
    ingest.pipeline.process_checked(checked)
    assert stored(controller, Report) == len(good)


def test_an_idle_worker_wakes_when_a_window_is_due_not_at_the_next_tick(sqlite_world):
    """With nothing queued, the worker waits only until the correlation has a window due, so the window is
    located then and not up to a tick later."""
    from controller.ingest import IDLE_TICK_S, Ingest
    from controller.pipeline import RawMessage
    from tests.controller.test_incident_pipeline import phone_in

    controller = sqlite_world.start(with_ingest=False)
    ingest = Ingest(controller)
    ingest.pipeline.load_state()
    assert ingest._idle_wait_s() == IDLE_TICK_S, "nothing waits for correlation"
    cell = sqlite_world.site.cells[0]
    wait_s = controller.config.ingest.correlation_delay_s
    arrived = time.time() - wait_s / 2
    start = datetime.fromtimestamp(arrived - 1.0, UTC)
    batch = [
        RawMessage(*sqlite_world.nodes[sensor_id].detections([activity_report(start, [level])]), arrived)
        for sensor_id, level in phone_in(sqlite_world, cell.id).items()
    ]
    assert ingest.pipeline.process(batch) == [], "its wait is not up yet"
    assert ingest.locating.next_due_s() == pytest.approx(arrived + wait_s)
    assert 0 < ingest._idle_wait_s() <= wait_s / 2 < IDLE_TICK_S
    assert ingest._take_batch() == ([], []), "woken with nothing queued"
    events = ingest.pipeline.process([])
    assert [event.after["cell_id"] for event in events if event.kind == "incident" and event.type == "new"] == [cell.id]


def test_a_check_that_fails_unexpectedly_fails_its_batch_which_the_broker_delivers_again(world, publisher, monkeypatch):
    running = world.start()
    check = running.ingest.pipeline.check
    failures = []

    def failing_once(raw):
        if not failures:
            failures.append(raw)
            raise RuntimeError("a bug in a check")
        return check(raw)

    monkeypatch.setattr(running.ingest.pipeline, "check", failing_once)
    node = next(iter(world.nodes.values()))
    publisher.publish(*node.detections(one_report()))
    wait_for(lambda: stored(running, Report) == 1, timeout_s=20, what="the message, delivered again")
    assert len(failures) == 1 and running.ingest._worker.is_alive()
