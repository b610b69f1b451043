"""Signed sensor messages for controller tests, built with the wire models as a sensor node builds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cellward.messages import (
    ActivityReport,
    Availability,
    BandCoverage,
    BurstRecord,
    CalibrationState,
    ClockState,
    DetectionBatch,
    SensorStatus,
    SourceInfo,
    sensor_topic,
)
from cellward.signing import NodeKey, sign_message, signed_payload

CLOCK = ClockState(state="synced", source="chrony", offset_s=0.0002)


def activity_report(
    start: datetime,
    powers_dbm: list[float],
    freq_hz: float = 897.4e6,
    technology: str = "gsm",
    operators: tuple[str, ...] = ("Vodafone",),
    band: str = "B8",
    spacing_s: float = 0.004615,
) -> ActivityReport:
    """One channel-window with one burst per power, `spacing_s` apart (a GSM TDMA frame by default)."""
    bursts = [
        BurstRecord(
            start=start + timedelta(seconds=i * spacing_s),
            duration_s=0.000546,
            freq_hz=freq_hz,
            bandwidth_hz=200e3,
            power_dbm=power,
            snr_db=25.0,
            technology=technology,
        )
        for i, power in enumerate(powers_dbm)
    ]
    window_start = start.replace(microsecond=0)
    return ActivityReport(
        freq_hz=freq_hz,
        bandwidth_hz=200e3,
        band=band,
        operators=list(operators),
        technology=technology,
        window_start=window_start,
        window_s=1.0,
        listen_s=0.2,
        burst_count=len(bursts),
        duty_cycle=min(1.0, len(bursts) * 0.000546 / 0.2),
        mean_power_dbm=sum(powers_dbm) / len(powers_dbm),
        peak_power_dbm=max(powers_dbm),
        snr_db=25.0,
        noise_floor_dbm=-100.0,
        first_burst=bursts[0].start,
        last_burst=start + timedelta(seconds=(len(bursts) - 1) * spacing_s + 0.000546),
        gain_db=28.0,
        calibration_db=-32.5,
        clipped_fraction=0.0,
        bursts=bursts,
        bursts_truncated=False,
    )


class SensorNode:
    """Keeps one sensor's key and per-message-name seq, and builds signed (topic, payload) pairs."""

    def __init__(self, site: str, sensor_id: str) -> None:
        self.site = site
        self.sensor_id = sensor_id
        self.key = NodeKey.generate(sensor_id)
        self.seq: dict[str, int] = {}

    def _head(self, name: str, seq: int | None = None) -> dict:
        if seq is None:
            seq = self.seq.get(name, 0) + 1
            self.seq[name] = seq
        return {"site": self.site, "sender": self.sensor_id, "ts": datetime.now(UTC), "seq": seq}

    def _signed(self, leaf: str, message) -> tuple[str, bytes]:
        wire = sign_message(message.to_wire(), self.key)
        return sensor_topic(self.site, self.sensor_id, leaf), signed_payload(wire)

    def detections(self, reports: list[ActivityReport], seq: int | None = None) -> tuple[str, bytes]:
        return self._signed(
            "detections", DetectionBatch(**self._head("cellward.detections/1", seq), clock=CLOCK, reports=reports)
        )

    def availability(self, state: str) -> tuple[str, bytes]:
        return self._signed("availability", Availability(**self._head("cellward.availability/1"), state=state))

    def status(self, clock_offset_s: float = 0.0002, seq: int | None = None) -> tuple[str, bytes]:
        now = datetime.now(UTC)
        message = SensorStatus(
            **self._head("cellward.status/1", seq),
            state="scanning",
            fault=None,
            started_at=now,
            software_version="test",
            source=SourceInfo(
                kind="sim", description="test", sample_rate_hz=2.4e6, freq_min_hz=24e6, freq_max_hz=1766e6
            ),
            bands=BandCoverage(scanned=["B8"], unreachable=[]),
            gains_db={"B8": 28.0},
            calibration=CalibrationState(ppm=0.0, method="none", measured_at=None, reference_hz=None),
            clock=ClockState(state="synced", source="chrony", offset_s=clock_offset_s),
        )
        return self._signed("status", message)
