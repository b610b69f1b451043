"""Working-day arithmetic for order deadlines: weekends and the calendar's public holidays are skipped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from controller.jurisdictions.templates import JurisdictionError

HOLIDAYS_FILE = Path(__file__).resolve().parent / "holidays.yaml"


@dataclass(frozen=True)
class Calendar:
    """Non-working days of one calendar; dates after `covered_until` are refused, never guessed."""

    id: str
    holidays: frozenset[dt.date]
    covered_until: dt.date

    def is_working_day(self, day: dt.date) -> bool:
        if day > self.covered_until:
            raise JurisdictionError(
                f"holiday calendar {self.id!r} only covers dates up to {self.covered_until}; "
                f"add {day.year}'s holidays to {HOLIDAYS_FILE}"
            )
        return day.weekday() < 5 and day not in self.holidays


@cache
def calendar(calendar_id: str, extra_holidays: tuple[dt.date, ...] = ()) -> Calendar:
    """The calendar from holidays.yaml, with `extra_holidays` (site-configured closures) added."""
    data = yaml.safe_load(HOLIDAYS_FILE.read_text(encoding="utf-8"))
    if calendar_id not in data:
        raise JurisdictionError(f"unknown holiday calendar {calendar_id!r}; known: {', '.join(sorted(data))}")
    entry = data[calendar_id]
    return Calendar(calendar_id, frozenset(entry["dates"]) | frozenset(extra_holidays), entry["covered_until"])


def add_working_days(start: dt.date, days: int, cal: Calendar) -> dt.date:
    """The `days`-th working day after `start` (the day of service itself does not count)."""
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return day
