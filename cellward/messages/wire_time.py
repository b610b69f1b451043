"""UTC timestamps on the wire: ISO-8601 with exactly 3 (ms) or 6 (us) fractional digits and a Z suffix."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_WIRE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{3}|\d{6})Z$")


def utc_text(epoch_s: float, digits: int = 3) -> str:
    """Epoch seconds -> wire text with `digits` (3 or 6) fractional digits, truncated, never rounded up."""
    return format_utc(datetime.fromtimestamp(epoch_s, UTC), digits)


def format_utc(moment: datetime, digits: int = 3) -> str:
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}"[:digits]
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction}Z"


def parse_utc(text: str, digits: int | None = None) -> datetime:
    """Wire text -> aware UTC datetime; ValueError unless it has the exact wire form (and `digits` if given)."""
    match = _WIRE.match(text)
    if match is None or (digits is not None and len(match.group(2)) != digits):
        want = f"{digits} fractional digits" if digits else "3 or 6 fractional digits"
        raise ValueError(f"not a wire timestamp (YYYY-MM-DDTHH:MM:SS.fffZ, {want}): {text!r}")
    return datetime.strptime(f"{match.group(1)}.{match.group(2):0<6}", "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def epoch_s(moment: datetime) -> float:
    """Aware datetime -> UTC epoch seconds (the form code works in)."""
    return moment.timestamp()


def _validator(digits: int):
    def coerce(value: object) -> datetime:
        if isinstance(value, str):
            return parse_utc(value, digits)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("timestamps must carry a time zone (UTC)")
            return value.astimezone(UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        raise ValueError(f"expected a UTC timestamp, got {type(value).__name__}")

    return coerce


# Envelope, window and command times: millisecond wire text. Code may pass datetimes or epoch floats.
UtcMs = Annotated[
    datetime, BeforeValidator(_validator(3)), PlainSerializer(lambda m: format_utc(m, 3), return_type=str)
]
# Burst edges: microsecond wire text, so sensors can be compared finer than a GSM timeslot.
UtcUs = Annotated[
    datetime, BeforeValidator(_validator(6)), PlainSerializer(lambda m: format_utc(m, 6), return_type=str)
]
