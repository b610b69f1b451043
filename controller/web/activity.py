"""Questions the intelligence pages ask of stored incident activity: where, when, how much, how sure.

Every figure counts located emissions (`incident_activity` rows) of incidents that are not suppressed,
so authorised phones in staff areas never appear in a search plan.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.db.incidents import IncidentActivity, IncidentRecord

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Three sensors hearing an emission is what a trilateration needs; fewer makes the place less certain.
SENSORS_FOR_FULL_WEIGHT = 3


@dataclass
class ActivityPattern:
    """Activity in one period: per cell, per wing, hour of day × day of week (local time), per week."""

    per_cell: Counter[str] = field(default_factory=Counter)
    per_wing: Counter[str] = field(default_factory=Counter)
    hour_by_day: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in DAYS])
    per_week: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    total: int = 0


def _visible_activity(db: Session, since_s: float, until_s: float):
    return db.execute(
        select(IncidentActivity, IncidentRecord.wing)
        .join(IncidentRecord, IncidentRecord.id == IncidentActivity.incident_id)
        .where(
            IncidentRecord.suppressed.is_(False),
            IncidentActivity.end_s >= since_s,
            IncidentActivity.start_s < until_s,
        )
        .order_by(IncidentActivity.start_s)
    )


def activity_pattern(db: Session, since_s: float, until_s: float, tz: ZoneInfo) -> ActivityPattern:
    pattern = ActivityPattern()
    for activity, wing in _visible_activity(db, since_s, until_s):
        local = datetime.fromtimestamp(activity.start_s, tz)
        pattern.total += 1
        if activity.cell_id:
            pattern.per_cell[activity.cell_id] += 1
        pattern.per_wing[wing or "unplaced"] += 1
        pattern.hour_by_day[local.weekday()][local.hour] += 1
        year, week, _ = local.isocalendar()
        pattern.per_week[f"{year}-W{week:02d}"][wing or "unplaced"] += 1
    return pattern


@dataclass(frozen=True)
class WeekRow:
    """One ISO week: emissions per wing, the total, and the change in the total from the week before."""

    week: str
    per_wing: dict[str, int]
    total: int
    change: int | None


def week_on_week(pattern: ActivityPattern) -> list[WeekRow]:
    rows: list[WeekRow] = []
    previous: int | None = None
    for week in sorted(pattern.per_week):
        counts = pattern.per_week[week]
        total = sum(counts.values())
        rows.append(WeekRow(week, dict(counts), total, None if previous is None else total - previous))
        previous = total
    return rows


@dataclass
class Candidate:
    """One incident with uplink activity in the searched window, and why it ranks where it does."""

    incident: IncidentRecord
    emissions: int = 0
    seconds_active: float = 0.0
    best_confidence: float = 0.0
    most_sensors: int = 0
    score: float = 0.0
    cells: Counter[str] = field(default_factory=Counter)


def lookup(db: Session, start_s: float, end_s: float) -> list[Candidate]:
    """Incidents active in [start_s, end_s], strongest evidence first.

    Each emission in the window adds confidence × min(1, sensors / 3): a confidently placed burst heard
    by three or more sensors counts one, a weak single-sensor guess counts little. Ties go to the longer
    time on air.
    """
    candidates: dict[str, Candidate] = {}
    rows = db.execute(
        select(IncidentActivity, IncidentRecord)
        .join(IncidentRecord, IncidentRecord.id == IncidentActivity.incident_id)
        .where(
            IncidentRecord.suppressed.is_(False),
            IncidentActivity.end_s >= start_s,
            IncidentActivity.start_s <= end_s,
        )
    )
    for activity, incident in rows:
        candidate = candidates.setdefault(incident.id, Candidate(incident))
        sensors = len(activity.sensor_powers_dbm or {})
        candidate.emissions += 1
        candidate.seconds_active += max(0.0, min(activity.end_s, end_s) - max(activity.start_s, start_s))
        candidate.best_confidence = max(candidate.best_confidence, activity.confidence)
        candidate.most_sensors = max(candidate.most_sensors, sensors)
        candidate.score += activity.confidence * min(1.0, sensors / SENSORS_FOR_FULL_WEIGHT)
        candidate.cells[activity.cell_id or "unresolved"] += 1
    return sorted(candidates.values(), key=lambda c: (c.score, c.seconds_active), reverse=True)


def period_bounds(days: int, now_s: float) -> tuple[float, float]:
    return (now_s - timedelta(days=days).total_seconds(), now_s)
