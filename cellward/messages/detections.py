"""Activity reports and the batch that carries them (firmware-interface/schemas/detections.v1.json)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from cellward.messages.envelope import ClockState, Envelope, Technology
from cellward.messages.wire_time import UtcMsText, UtcUsText, texts_epoch_s

MAX_BURSTS_PER_REPORT = 64
MAX_REPORTS_PER_BATCH = 1000
# The report channels' raster (a GSM channel): a burst is reported in the channel its centre rounds to, which is
# how the controller finds a burst's report (band, operators) again. Sensors use it unless configured otherwise.
REPORT_CHANNEL_HZ = 200e3


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class BurstRecord:
    """One burst inside a report, so the controller can match the same burst heard at several sensors. A slotted
    dataclass, not a model: one object per burst instead of three (model, __dict__, fields-set), which ingest
    makes by the hundred thousand a second."""

    start: UtcUsText = Field(description="burst start, UTC, us resolution, as wire text (ReportColumns reads it)")
    duration_s: float = Field(gt=0, description="burst length, s")
    freq_hz: float = Field(gt=0, description="centre of the occupied band, Hz")
    bandwidth_hz: float = Field(gt=0, description="occupied bandwidth, Hz")
    power_dbm: float = Field(description="mean burst power at the antenna port, dBm")
    snr_db: float = Field(description="in-band SNR, dB")
    technology: Technology


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class ActivityReport:
    """One sensor, one channel, one window: what was heard there and how loud. A slotted dataclass, like
    BurstRecord: ingest validates tens of thousands a second."""

    freq_hz: float = Field(gt=0, description="channel centre, Hz")
    bandwidth_hz: float = Field(gt=0, description="channel width of the scan raster, Hz")
    band: str | None = Field(description="uplink band (B8, ...), None outside every uplink band")
    operators: list[str] = Field(description="operators licensed in the channel")
    technology: Technology = Field(description="technology most bursts were classified as")
    window_start: UtcMsText = Field(description="start of the window, UTC, as wire text (ReportColumns reads it)")
    window_s: float = Field(gt=0, le=3600, description="window length, s")
    listen_s: float = Field(ge=0, description="seconds actually listened to this channel in the window")
    burst_count: int = Field(ge=1, description="bursts in the window, all of them")
    duty_cycle: float = Field(ge=0, le=1, description="summed burst duration / listen_s")
    mean_power_dbm: float = Field(description="linear mean of burst powers, dBm")
    peak_power_dbm: float = Field(description="strongest burst power, dBm")
    snr_db: float = Field(description="SNR of the strongest burst, dB")
    noise_floor_dbm: float | None = Field(description="noise in the channel bandwidth, dBm; None when not measured")
    first_burst: UtcUsText = Field(description="start of the first burst, UTC, as wire text")
    last_burst: UtcUsText = Field(description="end of the last burst, UTC, as wire text")
    gain_db: float = Field(description="tuner gain used, dB")
    calibration_db: float = Field(description="added to dBFS to obtain dBm at this gain")
    clipped_fraction: float = Field(ge=0, le=1, description="fraction of ADC samples at full scale")
    bursts: list[BurstRecord] = Field(max_length=MAX_BURSTS_PER_REPORT, description="first bursts, time order")
    bursts_truncated: bool = Field(description="True when burst_count > len(bursts)")
    cut_early: bool = Field(
        default=False,
        description="published before its window ended: the channel's activity was new, so the sensor cut the "
        "window at the end of the dwell that first heard it; the rest follows in a report starting at its end",
    )

    @model_validator(mode="after")
    def _unique_operators(self) -> ActivityReport:
        operators = self.operators
        if len(operators) > 1 and len(set(operators)) != len(operators):  # most channels have one operator
            raise ValueError("operators must not repeat")
        return self


class DetectionBatch(Envelope):
    schema_name: Literal["cellward.detections/1"] = Field(default="cellward.detections/1", alias="schema")
    clock: ClockState
    reports: list[ActivityReport] = Field(min_length=1, max_length=MAX_REPORTS_PER_BATCH)


_bursts_of = attrgetter("bursts")
# Fields ReportColumns takes as they are, each in one pass over the reports (no tuple per report).
_REPORT_FIELDS = (
    "freq_hz",
    "bandwidth_hz",
    "band",
    "operators",
    "technology",
    "window_s",
    "burst_count",
    "duty_cycle",
    "mean_power_dbm",
    "peak_power_dbm",
    "snr_db",
    "clipped_fraction",
    "cut_early",
)
_BURST_NUMBERS = ("duration_s", "freq_hz", "bandwidth_hz", "power_dbm", "snr_db")


@dataclass(frozen=True, slots=True)
class BurstColumns:
    """The bursts listed in a batch's reports, in report order, as arrays; times in UTC epoch seconds."""

    report: np.ndarray  # index of the report that lists the burst
    rank: np.ndarray  # position in its report's list
    start_s: np.ndarray
    duration_s: np.ndarray
    freq_hz: np.ndarray
    bandwidth_hz: np.ndarray
    power_dbm: np.ndarray
    snr_db: np.ndarray
    technology: list[str]


@dataclass(frozen=True, slots=True)
class ReportColumns:
    """A detections batch as columns, one entry per report (the field's values as validated; times in UTC
    epoch seconds), built in C-level passes: ingest reads each field of tens of thousands of reports a second,
    and attribute by attribute, datetime by datetime, that cost more than validating them."""

    freq_hz: list[float]
    bandwidth_hz: list[float]
    band: list[str | None]
    operators: list[list[str]]
    technology: list[str]
    window_s: list[float]
    burst_count: list[int]
    duty_cycle: list[float]
    mean_power_dbm: list[float]
    peak_power_dbm: list[float]
    snr_db: list[float]
    clipped_fraction: list[float]
    cut_early: list[bool]
    window_start_s: list[float]
    last_burst_s: list[float]
    bursts_listed: list[int]
    bursts: BurstColumns

    @classmethod
    def of(cls, reports: list[ActivityReport]) -> ReportColumns:
        listed = list(map(len, map(_bursts_of, reports)))
        bursts = list(chain.from_iterable(map(_bursts_of, reports)))
        n = len(bursts)
        numbers = {name: np.fromiter(map(attrgetter(name), bursts), float, n) for name in _BURST_NUMBERS}
        report = np.repeat(np.arange(len(reports)), listed)
        return cls(
            **{name: list(map(attrgetter(name), reports)) for name in _REPORT_FIELDS},
            window_start_s=texts_epoch_s(list(map(attrgetter("window_start"), reports)), 3).tolist(),
            last_burst_s=texts_epoch_s(list(map(attrgetter("last_burst"), reports)), 6).tolist(),
            bursts_listed=listed,
            bursts=BurstColumns(
                report=report,
                rank=np.arange(n) - (np.cumsum(listed) - listed)[report],
                start_s=texts_epoch_s(list(map(attrgetter("start"), bursts)), 6),
                technology=list(map(attrgetter("technology"), bursts)),
                **numbers,
            ),
        )
