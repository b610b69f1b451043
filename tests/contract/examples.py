"""Messages built by the models, as the sensor builds them, for the contract tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cellward.messages import (
    ActivityReport,
    Availability,
    BandCoverage,
    BurstRecord,
    CalibrationState,
    ClockState,
    Command,
    CommandState,
    ControllerAck,
    DetectionBatch,
    Envelope,
    SensorStats,
    SensorStatus,
    SourceInfo,
    StreamAck,
)

T0 = datetime(2026, 11, 23, 7, 0, 0, 123000, tzinfo=UTC)
CLOCK = ClockState(state="synced", source="chrony", offset_s=0.0002)
HEAD = {"site": "hmp-test", "sender": "s-1", "ts": T0, "seq": 5}


def report(burst_count: int = 3, listed: int = 3, noise_floor_dbm: float | None = -98.0) -> ActivityReport:
    bursts = [
        BurstRecord(
            start=T0 + timedelta(microseconds=4615 * i),
            duration_s=0.000546,
            freq_hz=897.4e6,
            bandwidth_hz=180e3,
            power_dbm=-60.0 - i,
            snr_db=30.0,
            technology="gsm",
        )
        for i in range(listed)
    ]
    return ActivityReport(
        freq_hz=897.4e6,
        bandwidth_hz=200e3,
        band="B8",
        operators=["Vodafone"],
        technology="gsm",
        window_start=T0.replace(microsecond=0),
        window_s=1.0,
        listen_s=0.2,
        burst_count=burst_count,
        duty_cycle=burst_count * 0.000546 / 0.2,
        mean_power_dbm=-61.0,
        peak_power_dbm=-60.0,
        snr_db=30.0,
        noise_floor_dbm=noise_floor_dbm,
        first_burst=T0,
        last_burst=T0 + timedelta(milliseconds=10),
        gain_db=28.0,
        calibration_db=-32.5,
        clipped_fraction=0.0,
        bursts=bursts,
        bursts_truncated=burst_count > listed,
    )


def status(state: str = "scanning", fault: str | None = None) -> SensorStatus:
    return SensorStatus(
        **HEAD,
        state=state,
        fault=fault,
        started_at=T0 - timedelta(seconds=30),
        software_version="0.1.0",
        source=SourceInfo(
            kind="sim", description="simulated", sample_rate_hz=2.4e6, freq_min_hz=24e6, freq_max_hz=1766e6
        ),
        bands=BandCoverage(scanned=["B8", "B20"], unreachable=["B1"]),
        gains_db={"B8": 28.0, "B20": 40.2},
        calibration=CalibrationState(ppm=-12.5, method="gsm_fcch", measured_at=T0, reference_hz=942.4e6),
        clock=CLOCK,
    )


def stats(temperature_c: float | None = 48.3) -> SensorStats:
    counters = dict.fromkeys(
        ("samples_in", "samples_dropped", "usb_errors", "source_faults", "dwells", "bursts", "reports"), 10
    )
    return SensorStats(
        **HEAD,
        interval_s=30.0,
        uptime_s=60.0,
        spool_depth=2,
        spool_bytes=2048,
        spool_dropped_total=0,
        mqtt_reconnects=1,
        cpu_percent=7.5,
        rss_mb=120.0,
        temperature_c=temperature_c,
        clock=ClockState(state="unknown", source="none", offset_s=None),
        **counters,
    )


def command(name: str, params: dict) -> Command:
    return Command(
        site="hmp-test",
        sender="controller",
        ts=T0,
        seq=9,
        command=name,
        id="c-1",
        target="s-1",
        expires=T0 + timedelta(minutes=5),
        params=params,
    )


COMMAND_PARAMS_EXAMPLES = {
    "reload_config": {},
    "set_gain": {"band": "B8", "gain_db": 20.7},
    "pause": {"duration_s": None},
    "resume": {},
    "calibrate": {"reference_hz": 942.4e6},
    "capture_snippet": {"freq_hz": 897.4e6, "duration_s": 2.0, "reason": "incident 4"},
}


def all_examples() -> list[Envelope]:
    """One or more model-built messages of every kind, covering the nullable and optional branches."""
    messages: list[Envelope] = [Availability(**HEAD, state=state) for state in ("online", "stopped", "offline")]
    messages.append(DetectionBatch(**HEAD, clock=CLOCK, reports=[report(), report(200, 64, None)]))
    messages += [status(), status("fault", "dongle unplugged: usb read failed")]
    messages += [stats(), stats(None)]
    messages += [command(name, params) for name, params in COMMAND_PARAMS_EXAMPLES.items()]
    messages.append(command("set_gain", {"band": None, "gain_db": None}))
    messages += [
        CommandState(**HEAD, command="pause", id="c-1", result="done", detail="paused", data={}),
        CommandState(**HEAD, command="bogus", id=None, result="rejected", detail="unknown command", data={}),
    ]
    controller = HEAD | {"sender": "controller"}
    messages += [
        ControllerAck(
            **controller,
            target="s-1",
            streams=[
                StreamAck(name="cellward.detections/1", first_seq=1, through_seq=3, highest_seq=7, missing=[4, 5, 6]),
                StreamAck(name="cellward.status/1", first_seq=0, through_seq=0, highest_seq=0, missing=[]),
            ],
        ),
        ControllerAck(**controller, target="s-1", streams=[]),
    ]
    return messages
