"""Activity reports and the batch that carries them (firmware-interface/schemas/detections.v1.json)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cellward.messages.envelope import ClockState, Envelope, Technology, WireModel
from cellward.messages.wire_time import UtcMs, UtcUs

MAX_BURSTS_PER_REPORT = 64
MAX_REPORTS_PER_BATCH = 1000
# The report channels' raster (a GSM channel): a burst is reported in the channel its centre rounds to, which is
# how the controller finds a burst's report (band, operators) again. Sensors use it unless configured otherwise.
REPORT_CHANNEL_HZ = 200e3


class BurstRecord(WireModel):
    """One burst inside a report, so the controller can match the same burst heard at several sensors."""

    start: UtcUs = Field(description="burst start, UTC, us resolution")
    duration_s: float = Field(gt=0, description="burst length, s")
    freq_hz: float = Field(gt=0, description="centre of the occupied band, Hz")
    bandwidth_hz: float = Field(gt=0, description="occupied bandwidth, Hz")
    power_dbm: float = Field(description="mean burst power at the antenna port, dBm")
    snr_db: float = Field(description="in-band SNR, dB")
    technology: Technology


class ActivityReport(WireModel):
    """One sensor, one channel, one window: what was heard there and how loud."""

    freq_hz: float = Field(gt=0, description="channel centre, Hz")
    bandwidth_hz: float = Field(gt=0, description="channel width of the scan raster, Hz")
    band: str | None = Field(description="uplink band (B8, ...), None outside every uplink band")
    operators: list[str] = Field(description="operators licensed in the channel")
    technology: Technology = Field(description="technology most bursts were classified as")
    window_start: UtcMs = Field(description="start of the window, UTC")
    window_s: float = Field(gt=0, le=3600, description="window length, s")
    listen_s: float = Field(ge=0, description="seconds actually listened to this channel in the window")
    burst_count: int = Field(ge=1, description="bursts in the window, all of them")
    duty_cycle: float = Field(ge=0, le=1, description="summed burst duration / listen_s")
    mean_power_dbm: float = Field(description="linear mean of burst powers, dBm")
    peak_power_dbm: float = Field(description="strongest burst power, dBm")
    snr_db: float = Field(description="SNR of the strongest burst, dB")
    noise_floor_dbm: float | None = Field(description="noise in the channel bandwidth, dBm; None when not measured")
    first_burst: UtcUs = Field(description="start of the first burst, UTC")
    last_burst: UtcUs = Field(description="end of the last burst, UTC")
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
        if len(set(self.operators)) != len(self.operators):
            raise ValueError("operators must not repeat")
        return self


class DetectionBatch(Envelope):
    schema_name: Literal["cellward.detections/1"] = Field(default="cellward.detections/1", alias="schema")
    clock: ClockState
    reports: list[ActivityReport] = Field(min_length=1, max_length=MAX_REPORTS_PER_BATCH)
