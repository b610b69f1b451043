"""Legal regimes as data: each jurisdiction template is one YAML file here, plus the holiday calendars."""

from controller.jurisdictions.templates import (
    Jurisdiction,
    JurisdictionError,
    jurisdiction,
    jurisdiction_ids,
)
from controller.jurisdictions.working_days import Calendar, add_working_days, calendar

__all__ = [
    "Calendar",
    "Jurisdiction",
    "JurisdictionError",
    "add_working_days",
    "calendar",
    "jurisdiction",
    "jurisdiction_ids",
]
