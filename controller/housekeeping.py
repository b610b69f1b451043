"""Periodic jobs on the ingest thread: system alerts from sensor health, and pruning raw data by retention."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from controller.db.incidents import AlertRecord
from controller.db.reports import Message, Report, SensorState
from controller.events import LifecycleEvent
from controller.sensor_health import sensor_problems

log = logging.getLogger("cellward.controller.housekeeping")
SYSTEM_RULES = ("sensor_silent", "clock_drift", "loss")


def check_sensors(
    controller, db: Session, now: float, learnt_offsets: Mapping[str, float] | None = None
) -> list[LifecycleEvent]:
    """Raise a system alert per sensor problem (once while it lasts) and end it when the problem clears.
    `learnt_offsets`: each sensor's clock offset from the site's consensus, learnt by the correlator."""
    learnt_offsets = learnt_offsets or {}
    states = {state.id: state for state in db.scalars(select(SensorState))}
    sensor_ids = {sensor.id for sensor in controller.site.sensors} | set(states)
    active: dict[str, list[AlertRecord]] = {}
    for alert in db.scalars(
        select(AlertRecord).where(AlertRecord.alert_class == "system", AlertRecord.active.is_(True))
    ):
        active.setdefault(alert.key, []).append(alert)
    events: list[LifecycleEvent] = []
    for sensor_id in sorted(sensor_ids):
        found = sensor_problems(
            states.get(sensor_id), sensor_id, controller.config.alerts, now, learnt_offsets.get(sensor_id)
        )
        problems = {p.rule: p for p in found}
        for rule in SYSTEM_RULES:
            key = f"{rule}:{sensor_id}"
            if rule in problems and key not in active:
                event = controller.alerts.fire(db, rule, key, "system", problems[rule].message, sensor_id=sensor_id)
                if event is not None:
                    events.append(event)
            elif rule not in problems and key in active:
                events.extend(controller.alerts.end_records(active[key]))
    return events


def prune_raw(controller, db: Session, now: float) -> int:
    """Delete raw messages and reports older than the retention period; incidents (evidence) are kept."""
    cutoff = now - controller.config.retention.raw_reports_days * 86400
    reports = db.execute(delete(Report).where(Report.received_at < cutoff)).rowcount or 0
    messages = db.execute(delete(Message).where(Message.received_at < cutoff)).rowcount or 0
    controller.metrics.pruned.labels(table="reports").inc(reports)
    controller.metrics.pruned.labels(table="messages").inc(messages)
    if reports or messages:
        log.info(
            "event=pruned site=%s reports=%d messages=%d cutoff=%.0f",
            controller.config.site_id,
            reports,
            messages,
            cutoff,
        )
    return reports + messages
