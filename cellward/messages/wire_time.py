"""UTC timestamps on the wire: ISO-8601 with exactly 3 (ms) or 6 (us) fractional digits and a Z suffix."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

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
    # fromisoformat is C code, about 50x faster than strptime: the controller parses thousands a second
    return datetime.fromisoformat(f"{match.group(1)}.{match.group(2):0<6}+00:00")


def epoch_s(moment: datetime) -> float:
    """Aware datetime -> UTC epoch seconds (the form code works in)."""
    return moment.timestamp()


def _from_code(value: datetime | float) -> datetime:
    """Datetimes (aware) and epoch seconds handed over by code; wire text never comes this way."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone (UTC)")
        return value.astimezone(UTC)
    return datetime.fromtimestamp(value, UTC)


class _WireTime:
    """Validation of one wire timestamp field: wire text is checked against the exact form and parsed inside
    pydantic-core (no Python call per timestamp: the controller validates hundreds of thousands a second);
    aware datetimes and epoch seconds from code go through `_from_code`."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __get_pydantic_core_schema__(self, _source: Any, _handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        pattern = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\.[0-9]{{{self.digits}}}Z$"
        from_code = cs.union_schema(
            [cs.datetime_schema(strict=True), cs.int_schema(strict=True), cs.float_schema(strict=True)]
        )
        return cs.union_schema(
            [
                cs.chain_schema([cs.str_schema(pattern=pattern, strict=True), cs.datetime_schema()]),
                cs.no_info_after_validator_function(_from_code, from_code),
            ],
            mode="left_to_right",
            custom_error_type="wire_timestamp",
            custom_error_message=f"not a wire timestamp (YYYY-MM-DDTHH:MM:SS.{'f' * self.digits}Z, UTC) "
            "nor an aware datetime",
            serialization=cs.plain_serializer_function_ser_schema(
                lambda m: format_utc(m, self.digits), return_schema=cs.str_schema()
            ),
        )

    def __get_pydantic_json_schema__(self, _schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(cs.datetime_schema())


# Envelope, window and command times: millisecond wire text. Code may pass datetimes or epoch floats.
UtcMs = Annotated[datetime, _WireTime(3)]
# Burst edges: microsecond wire text, so sensors can be compared finer than a GSM timeslot.
UtcUs = Annotated[datetime, _WireTime(6)]
