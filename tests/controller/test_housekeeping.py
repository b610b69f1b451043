"""Periodic jobs: raw data pruned by retention while evidence stays; system alerts from sensor health."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from controller.db.incidents import AlertRecord, IncidentRecord
from controller.db.reports import Message, Report, SensorState
from controller.housekeeping import check_sensors, prune_raw
from controller.sighting import Sighting
from tests.controller.conftest import statements


def one_online_sensor(world, clock_offset_s: float, received: int, lost: int) -> tuple[object, str, float]:
    """The controller (no ingest), with the site's first sensor online and these counts; its id and now."""
    controller = world.start(with_ingest=False)
    sensor_id = world.site.sensors[0].id
    now = time.time()
    with controller.sessions() as db:
        db.add(
            SensorState(
                id=sensor_id,
                messages_received=received,
                messages_lost=lost,
                duplicates=0,
                availability="online",
                last_seen=now,
                clock_offset_s=clock_offset_s,
            )
        )
        db.commit()
    return controller, sensor_id, now


def count(controller, model) -> int:
    with controller.sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_retention_prunes_old_raw_messages_and_reports_but_never_incidents(world):
    controller = world.start(with_ingest=False)
    now = time.time()
    old = now - (controller.config.retention.raw_reports_days + 1) * 86400
    with controller.sessions() as db:
        for seq, received in ((1, old), (2, now)):
            message = Message(
                sender="s",
                schema="cellward.detections/1",
                seq=seq,
                ts=received,
                received_at=received,
                digest=str(seq),
                raw="{}",
            )
            db.add(message)
            db.flush()
            db.add(
                Report(
                    message_id=message.id,
                    sensor_id="s",
                    received_at=received,
                    window_start=received,
                    window_end=received + 1,
                    freq_hz=9e8,
                    bandwidth_hz=2e5,
                    band="B8",
                    operators=[],
                    technology="gsm",
                    burst_count=1,
                    duty_cycle=0.1,
                    mean_power_dbm=-60,
                    peak_power_dbm=-60,
                    snr_db=20,
                )
            )
        sighting = Sighting(
            start_s=old,
            end_s=old + 1,
            freq_hz=9e8,
            bandwidth_hz=2e5,
            technology="gsm",
            band="B8",
            operators=("O2",),
            cell_id=world.site.cells[0].id,
            wing=None,
            landing=None,
            zone=None,
            confidence=0.9,
            method="rss",
        )
        controller.incidents.process(db, [sighting])
        db.commit()
    with controller.sessions() as db:
        removed = prune_raw(controller, db, now)
        db.commit()
    assert removed == 2, "the old message and its report go"
    assert count(controller, Message) == 1 and count(controller, Report) == 1, "recent raw data stays"
    assert count(controller, IncidentRecord) == 1, "incidents are evidence and are never pruned"


def test_clock_drift_and_loss_raise_system_alerts_once_and_end_when_cleared(world):
    controller, sensor_id, now = one_online_sensor(world, clock_offset_s=0.050, received=900, lost=100)
    for _ in range(3):  # checked every few seconds: still one alert per problem
        with controller.sessions() as db:
            check_sensors(controller, db, now)
            db.commit()
    with controller.sessions() as db:
        alerts = {a.rule: a for a in db.scalars(select(AlertRecord).where(AlertRecord.sensor_id == sensor_id))}
    assert set(alerts) == {"clock_drift", "loss"}, f"50 ms offset and 10 % loss must both alert, got {set(alerts)}"
    assert all(a.active and a.alert_class == "system" and a.occurrences == 1 for a in alerts.values())
    with controller.sessions() as db:
        state = db.get(SensorState, sensor_id)
        state.clock_offset_s = 0.0001
        db.commit()
        events = check_sensors(controller, db, now)
        db.commit()
    assert [(e.type, e.after["rule"]) for e in events if e.after["sensor_id"] == sensor_id] == [("end", "clock_drift")]


def test_a_clock_the_bursts_show_off_the_others_raises_clock_drift_though_its_daemon_says_synced(world):
    """The sensor reports its clock 0.1 ms off (NTP content), but the correlator learnt its bursts arrive 4.5 ms
    off the other sensors': a clock_drift alert naming the bursts; back within the limit, it ends."""
    controller, sensor_id, now = one_online_sensor(world, clock_offset_s=0.0001, received=10, lost=0)
    with controller.sessions() as db:
        within = check_sensors(controller, db, now, {sensor_id: 0.0035})
        assert [e for e in within if e.after["sensor_id"] == sensor_id] == [], "within the 4 ms limit"
        raised = check_sensors(controller, db, now, {sensor_id: -0.0045})
        db.commit()
    assert [(e.type, e.after["rule"]) for e in raised if e.after["sensor_id"] == sensor_id] == [("new", "clock_drift")]
    with controller.sessions() as db:
        alert = db.scalars(select(AlertRecord).where(AlertRecord.sensor_id == sensor_id)).one()
        assert "bursts arrive -4.5 ms off" in alert.message
        ended = check_sensors(controller, db, now, {sensor_id: 0.001})
        db.commit()
    assert [(e.type, e.after["rule"]) for e in ended if e.after["sensor_id"] == sensor_id] == [("end", "clock_drift")]


def test_a_health_check_ends_every_sensors_alert_with_one_read_of_the_alerts(world):
    """When every sensor of a site is heard at last, their "never heard" alerts end together, from the one
    read of the active alerts the check makes, not a query per sensor."""
    controller = world.start(with_ingest=False)
    now = time.time()
    with controller.sessions() as db:
        raised = check_sensors(controller, db, now)
        db.commit()
    assert len(raised) == len(world.site.sensors) > 1 and {e.type for e in raised} == {"new"}
    with controller.sessions() as db:
        for sensor in world.site.sensors:
            db.add(SensorState(id=sensor.id, messages_received=1, messages_lost=0, duplicates=0, last_seen=now))
        db.commit()
    alert_reads = statements(controller, lambda sql: sql.startswith("SELECT") and "FROM alerts" in sql)
    with alert_reads as reads, controller.sessions() as db:
        ended = check_sensors(controller, db, now + 1)
        db.commit()
    assert [e.type for e in ended] == ["end"] * len(world.site.sensors)
    assert len(reads) == 1
    assert count(controller, AlertRecord) == len(world.site.sensors)
    with controller.sessions() as db:
        assert not db.scalars(select(AlertRecord).where(AlertRecord.active.is_(True))).all()
