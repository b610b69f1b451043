"""Retained sensor status (firmware-interface/schemas/status.v1.json)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cellward.messages.envelope import ClockState, Envelope, WireModel
from cellward.messages.wire_time import UtcMs

SensorState = Literal["starting", "scanning", "paused", "calibrating", "fault", "stopping"]


class SourceInfo(WireModel):
    kind: str = Field(description="source module: rtlsdr, rtl_tcp, sigmf, sim, soapy")
    description: str = Field(max_length=200, description="device serial, server address or file name")
    sample_rate_hz: float = Field(gt=0)
    freq_min_hz: float = Field(ge=0, description="lowest tunable frequency")
    freq_max_hz: float = Field(gt=0, description="highest tunable frequency")


class BandCoverage(WireModel):
    scanned: list[str] = Field(description="uplink bands in the scan plan")
    unreachable: list[str] = Field(description="configured bands or parts this front end cannot tune")


class CalibrationState(WireModel):
    ppm: float = Field(ge=-500, le=500, description="frequency error applied; positive: the tuner reads high")
    method: Literal["configured", "gsm_fcch", "lte_pss", "none"]
    measured_at: UtcMs | None = Field(description="last measurement; None if only configured")
    reference_hz: float | None = Field(description="downlink carrier measured on")


class SensorStatus(Envelope):
    schema_name: Literal["cellward.status/1"] = Field(default="cellward.status/1", alias="schema")
    state: SensorState
    fault: str | None = Field(max_length=500, description="why the state is fault, for a person")
    started_at: UtcMs
    software_version: str = Field(max_length=64)
    source: SourceInfo
    bands: BandCoverage
    gains_db: dict[str, float] = Field(description="tuner gain per band, dB")
    calibration: CalibrationState
    clock: ClockState
