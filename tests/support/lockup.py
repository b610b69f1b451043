"""Lock-up hours that keep clear of the wall clock, for tests that record sightings at the current time.

The controller's default lock-up (19:30-07:30 London) adds a critical alert to activity at night, so a
test that counts alerts or waits for the "New incident" announcement would depend on the time of day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def lockup_hours_away_from_now(tz: str = "Europe/London") -> dict:
    """A one-hour lock-up window starting six hours from now (local time), as the config's `lockup_hours`."""
    now = datetime.now(ZoneInfo(tz))
    start, end = now + timedelta(hours=6), now + timedelta(hours=7)
    return {"windows": [{"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}]}
