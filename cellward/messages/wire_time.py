"""UTC timestamps on the wire: ISO-8601 with exactly 3 (ms) or 6 (us) fractional digits and a Z suffix."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

_WIRE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{3}|\d{6})Z$")
# A real instant of years 1-9999 in wire form, calendar included (month lengths, leap years), so text that
# matches parses: wire text kept as text is checked in full by this one pattern (no lookaround: pydantic-core
# runs it with Rust's regex).
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    f"(?:{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    f"|{_YEAR}-(?:0[13-9]|1[0-2])-(?:29|30)"
    f"|{_YEAR}-(?:0[13578]|1[02])-31"
    f"|{_LEAP_YEAR}-02-29)"
)


def _wire_pattern(digits: int) -> str:
    return f"^{_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{{{digits}}}Z$"


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


def text_epoch_s(text: str) -> float:
    """Wire text -> UTC epoch seconds (one at a time; `texts_epoch_s` converts a batch)."""
    return parse_utc(text).timestamp()


def epoch_s(moment: datetime) -> float:
    """Aware datetime -> UTC epoch seconds (the form code works in)."""
    return moment.timestamp()


EPOCH_TEXT = "1970-01-01T00:00:00.000000Z"


def texts_epoch_s(texts: list[str], digits: int) -> np.ndarray:
    """Validated wire texts with `digits` fractional digits -> UTC epoch seconds, in one compiled pass over their
    characters: the same floats as `datetime.timestamp` from 1685 to 2255 (within 2**53 us), at most a ulp apart
    outside."""
    from cellward.messages.wire_time_kernel import epoch_s

    if not texts:
        return np.zeros(0)
    return epoch_s(np.frombuffer("".join(texts).encode("ascii"), np.uint8), 21 + digits, digits)


# The validation context of a message read off the wire (`parse_message`): there a timestamp must be text, as
# the schemas say; a JSON number would otherwise pass as epoch seconds.
WIRE_CONTEXT = {"wire": True}


def _from_code(value: datetime | float, info: cs.ValidationInfo) -> datetime:
    """Datetimes (aware) and epoch seconds handed over by code; wire text never comes this way."""
    if info.context is not None and info.context.get("wire"):
        raise ValueError("a timestamp on the wire is text")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone (UTC)")
        return value.astimezone(UTC)
    return datetime.fromtimestamp(value, UTC)


class _WireTime:
    """Validation of one wire timestamp field: wire text is checked against the exact form inside pydantic-core
    (no Python call per timestamp: the controller validates hundreds of thousands a second) and parsed to an aware
    datetime, or with `text` kept as it is; aware datetimes and epoch seconds from code go through `_from_code`
    (and are written as wire text with `text`)."""

    def __init__(self, digits: int, text: bool = False) -> None:
        self.digits = digits
        self.text = text

    def __get_pydantic_core_schema__(self, _source: Any, _handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        wire = cs.str_schema(pattern=_wire_pattern(self.digits), strict=True)
        from_code = cs.union_schema(
            [cs.datetime_schema(strict=True), cs.int_schema(strict=True), cs.float_schema(strict=True)]
        )
        if self.text:
            choices = [wire, cs.with_info_after_validator_function(self._text_from_code, from_code)]
            serialization = None
        else:
            choices = [
                cs.chain_schema([wire, cs.datetime_schema()]),
                cs.with_info_after_validator_function(_from_code, from_code),
            ]
            serialization = cs.plain_serializer_function_ser_schema(
                lambda m: format_utc(m, self.digits), return_schema=cs.str_schema()
            )
        return cs.union_schema(
            choices,
            mode="left_to_right",
            custom_error_type="wire_timestamp",
            custom_error_message=f"not a wire timestamp (YYYY-MM-DDTHH:MM:SS.{'f' * self.digits}Z, UTC) "
            "nor an aware datetime",
            serialization=serialization,
        )

    def _text_from_code(self, value: datetime | float, info: cs.ValidationInfo) -> str:
        return format_utc(_from_code(value, info), self.digits)

    def __get_pydantic_json_schema__(self, _schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(cs.datetime_schema())


# Envelope, window and command times: millisecond wire text. Code may pass datetimes or epoch floats.
UtcMs = Annotated[datetime, _WireTime(3)]
# Burst edges: microsecond wire text, so sensors can be compared finer than a GSM timeslot.
UtcUs = Annotated[datetime, _WireTime(6)]
# A listed burst's start, kept as its wire text: the controller reads them as columns by the hundred thousand a
# second (`texts_epoch_s`), and a datetime per burst cost more than checking and parsing them all.
UtcUsText = Annotated[str, _WireTime(6, text=True)]
# A report's window start, kept as its wire text for the same reason.
UtcMsText = Annotated[str, _WireTime(3, text=True)]
