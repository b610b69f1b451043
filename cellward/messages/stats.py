"""Periodic sensor statistics (firmware-interface/schemas/stats.v1.json); counters are cumulative."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cellward.messages.envelope import ClockState, Envelope


class SensorStats(Envelope):
    schema_name: Literal["cellward.stats/1"] = Field(default="cellward.stats/1", alias="schema")
    interval_s: float = Field(gt=0)
    uptime_s: float = Field(ge=0)
    samples_in: int = Field(ge=0)
    samples_dropped: int = Field(ge=0)
    usb_errors: int = Field(ge=0)
    source_faults: int = Field(ge=0)
    dwells: int = Field(ge=0)
    bursts: int = Field(ge=0)
    reports: int = Field(ge=0)
    spool_depth: int = Field(ge=0)
    spool_bytes: int = Field(ge=0)
    spool_dropped_total: int = Field(ge=0)
    mqtt_reconnects: int = Field(ge=0)
    cpu_percent: float = Field(ge=0)
    rss_mb: float = Field(ge=0)
    temperature_c: float | None
    clock: ClockState
