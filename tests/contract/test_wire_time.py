"""Wire timestamps: what the models accept is exactly the real instants in wire form, and the epoch seconds the
controller reads in array passes are the ones `datetime` gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from cellward.messages import BurstRecord, DetectionBatch, MessageError, ReportColumns, UtcUs, parse_message
from cellward.messages.wire_time import UtcUsText, text_epoch_s, texts_epoch_s
from tests.contract.examples import CLOCK, HEAD, report


def _wire_texts(n: int, digits: int, seed: int = 1) -> list[str]:
    """Wire-shaped texts with fields drawn a little beyond their ranges: many are not real instants."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        year = rng.choice([rng.randint(0, 9999), rng.choice([0, 1, 4, 100, 1900, 2000, 2024, 2026, 2100, 2400])])
        fields = (year, rng.randint(0, 13), rng.randint(0, 32), rng.randint(0, 24), rng.randint(0, 60))
        fraction = f"{rng.randrange(10**digits):0{digits}d}"
        texts.append("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:".format(*fields) + f"{rng.randint(0, 60):02d}.{fraction}Z")
    return texts


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        return None


@pytest.mark.parametrize("kept_as", ["text", "datetime"])
def test_a_wire_timestamp_is_accepted_exactly_when_it_names_a_real_instant(kept_as: str) -> None:
    adapter = TypeAdapter(UtcUsText if kept_as == "text" else UtcUs)
    texts = _wire_texts(20000, 6) + [f"{year:04d}-02-29T00:00:00.000000Z" for year in (1900, 2000, 2026, 2028, 2100)]
    for text in texts:
        instant = _instant(text)
        if instant is None:
            with pytest.raises(ValidationError, match="not a wire timestamp"):
                adapter.validate_python(text)
        else:
            assert adapter.validate_python(text) == (text if kept_as == "text" else instant), text


@pytest.mark.parametrize("digits", [3, 6])
def test_epoch_seconds_from_wire_texts_are_the_floats_datetime_gives(digits: int) -> None:
    rng = random.Random(digits)
    start = datetime(1970, 1, 1, tzinfo=UTC)
    instants = [start + timedelta(microseconds=rng.randrange(230 * 365 * 86400 * 10**6)) for _ in range(20000)]
    texts = [f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d}"[: 20 + digits] + "Z" for t in instants]
    expected = [_instant(text).timestamp() for text in texts]
    assert texts_epoch_s(texts, digits).tolist() == expected, "bit for bit, as datetime.timestamp"
    assert len(texts_epoch_s([], digits)) == 0


def test_a_burst_start_given_by_code_is_kept_as_the_text_it_is_written_as() -> None:
    at = datetime(2026, 11, 23, 7, 0, 0, 101204, tzinfo=UTC)
    fields = {"duration_s": 5e-4, "freq_hz": 897.4e6, "bandwidth_hz": 2e5, "power_dbm": -60, "snr_db": 30}
    for given in (at, at.timestamp()):
        burst = BurstRecord(start=given, technology="gsm", **fields)
        assert burst.start == "2026-11-23T07:00:00.101204Z"
        assert TypeAdapter(BurstRecord).dump_python(burst, mode="json")["start"] == burst.start
    with pytest.raises(ValidationError, match="nor an aware datetime"):
        BurstRecord(start=at.replace(tzinfo=None), technology="gsm", **fields)


def test_report_columns_hold_each_reports_and_listed_bursts_fields() -> None:
    reports = [report(5, 3), report(1, 0, noise_floor_dbm=None), report(2, 2)]
    table = ReportColumns.of(DetectionBatch(**HEAD, clock=CLOCK, reports=reports).reports)
    assert table.freq_hz == [r.freq_hz for r in reports] and table.operators == [r.operators for r in reports]
    assert table.window_start_s == [text_epoch_s(r.window_start) for r in reports]
    assert table.last_burst_s == [text_epoch_s(r.last_burst) for r in reports]
    assert table.bursts_listed == [3, 0, 2]
    listed = [(i, rank, b) for i, r in enumerate(reports) for rank, b in enumerate(r.bursts)]
    assert table.bursts.report.tolist() == [i for i, _, _ in listed]
    assert table.bursts.rank.tolist() == [rank for _, rank, _ in listed]
    assert table.bursts.start_s.tolist() == [_instant(b.start).timestamp() for _, _, b in listed]
    assert np.array_equal(table.bursts.power_dbm, [b.power_dbm for _, _, b in listed])
    assert table.bursts.technology == [b.technology for _, _, b in listed]


def test_a_message_off_the_wire_with_a_number_for_a_timestamp_is_refused() -> None:
    """Code may hand a model epoch seconds; a message read off the wire must carry text, as the schemas say."""
    at = datetime(2026, 11, 23, 7, 0, 0, 101000, tzinfo=UTC)
    wire = DetectionBatch(**HEAD, clock=CLOCK, reports=[report(2, 2)]).to_wire()
    assert parse_message(wire).ts.tzinfo is not None, "the example itself is a valid message"
    for field, value in (("ts", at.timestamp()), ("ts", int(at.timestamp()))):
        with pytest.raises(MessageError, match="ts: not a wire timestamp"):
            parse_message({**wire, field: value})
    burst = {**wire["reports"][0]["bursts"][0], "start": at.timestamp()}
    with pytest.raises(MessageError, match="start: not a wire timestamp"):
        parse_message({**wire, "reports": [{**wire["reports"][0], "bursts": [burst]}]})
    assert DetectionBatch(**{**HEAD, "ts": at.timestamp()}, clock=CLOCK, reports=[report(2, 2)]).ts == at
