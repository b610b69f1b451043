"""Alert rules' output: raises, throttles (one alert per key per throttle window) and ends alerts."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.config import AlertRule, AlertRules
from controller.db.incidents import AlertRecord
from controller.events import LifecycleEvent

log = logging.getLogger("cellward.controller.alerts")


def alert_state(alert: AlertRecord) -> dict[str, Any]:
    """The alert as published on MQTT and the live stream."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "class": alert.alert_class,
        "severity": alert.severity,
        "incident_id": alert.incident_id,
        "sensor_id": alert.sensor_id,
        "key": alert.key,
        "message": alert.message,
        "active": alert.active,
        "occurrences": alert.occurrences,
        "created_at": alert.created_at,
        "last_at": alert.last_at,
        "ended_at": alert.ended_at,
        "acknowledged_by": alert.acknowledged_by,
    }


class AlertEngine:
    """Callers pass the open DB session of their batch; events are emitted by the caller after commit."""

    def __init__(self, rules: AlertRules, clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self.clock = clock
        # Latest alert per key that can still throttle: active, or created within the longest throttle window
        # when the cache was loaded. A key without one is fired afresh, whatever older alerts it had. Every alert
        # is created and ended through this engine (under the incident engine's lock), so the cache stays true
        # and no sighting costs a database look-up, not even a new incident's first alert.
        self._latest: dict[str, AlertRecord] = {}
        self._loaded = False

    def reset(self) -> None:
        """Forget the cache (after a failed batch was rolled back); it is read again on the next alert."""
        self._latest.clear()
        self._loaded = False

    def _latest_for(self, db: Session, key: str) -> AlertRecord | None:
        if not self._loaded:
            self._load(db)
        return self._latest.get(key)

    def _load(self, db: Session) -> None:
        since = self.clock() - max(rule.throttle_s for _, rule in self.rules)
        query = (
            select(AlertRecord)
            .where(AlertRecord.active.is_(True) | (AlertRecord.created_at >= since))
            .order_by(AlertRecord.created_at)
        )
        self._latest = {alert.key: alert for alert in db.scalars(query)}  # the latest per key wins
        self._loaded = True

    def rule(self, name: str) -> AlertRule:
        return getattr(self.rules, name)

    def fire(
        self,
        db: Session,
        rule_name: str,
        key: str,
        alert_class: str,
        message: str,
        incident_id: str | None = None,
        sensor_id: str | None = None,
    ) -> LifecycleEvent | None:
        """Raise an alert for `key`, or count it on the alert raised for `key` within the throttle window."""
        rule = self.rule(rule_name)
        if not rule.enabled:
            return None
        now = self.clock()
        latest = self._latest_for(db, key)
        if latest is not None and (latest.active or now - latest.created_at < rule.throttle_s):
            # Throttled: the officers already have this alert; count the repeat on it instead.
            db.add(latest)
            before = alert_state(latest)
            latest.occurrences += 1
            latest.last_at = now
            return LifecycleEvent("alert", "update", latest.id, before, alert_state(latest))
        alert = AlertRecord(
            id=str(uuid.uuid4()),
            rule=rule_name,
            alert_class=alert_class,
            severity=rule.severity.value,
            incident_id=incident_id,
            sensor_id=sensor_id,
            key=key,
            message=message,
            active=True,
            occurrences=1,
            created_at=now,
            last_at=now,
        )
        db.add(alert)
        self._latest[key] = alert
        log.info("event=alert_raised rule=%s key=%s severity=%s sensor=%s", rule_name, key, alert.severity, sensor_id)
        return LifecycleEvent("alert", "new", alert.id, None, alert_state(alert))

    def end(self, db: Session, key: str, actor: str | None = None) -> list[LifecycleEvent]:
        """End the active alerts for `key` (condition cleared, incident closed)."""
        query = select(AlertRecord).where(AlertRecord.key == key, AlertRecord.active.is_(True))
        return self.end_records(db.scalars(query), actor)

    def end_records(self, alerts: Iterable[AlertRecord], actor: str | None = None) -> list[LifecycleEvent]:
        """End these alerts, already read, that are still active: a caller holding them saves a query per key
        (a health check may end one per sensor at once)."""
        return [self._end(alert, actor) for alert in alerts if alert.active]

    def end_for_incident(self, db: Session, incident_id: str, actor: str | None) -> list[LifecycleEvent]:
        query = select(AlertRecord).where(AlertRecord.incident_id == incident_id, AlertRecord.active.is_(True))
        return [self._end(alert, actor) for alert in db.scalars(query)]

    def acknowledge(self, db: Session, alert: AlertRecord, actor: str) -> LifecycleEvent | None:
        if not alert.active:
            return None
        return self._end(alert, actor)

    def _end(self, alert: AlertRecord, actor: str | None) -> LifecycleEvent:
        cached = self._latest.get(alert.key)
        if cached is not None and cached.id == alert.id and cached is not alert:
            self._latest[alert.key] = alert  # the caller's copy is the one being changed now
        before = alert_state(alert)
        alert.active = False
        alert.ended_at = self.clock()
        alert.acknowledged_by = actor
        return LifecycleEvent("alert", "end", alert.id, before, alert_state(alert))
