"""Messages built by the models, as the sensor builds them, for the contract tests."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from cellward.messages import (
    ActivityReport,
    Availability,
    BandCoverage,
    BandState,
    BlockerAck,
    BlockerCommand,
    BlockerFault,
    BlockerHeartbeat,
    BlockerState,
    BurstRecord,
    CalibrationState,
    ClockState,
    Command,
    CommandState,
    ControllerAck,
    DetectionBatch,
    Envelope,
    FailsafeSetting,
    ScanFocus,
    SensorStats,
    SensorStatus,
    SnippetChunk,
    SourceInfo,
    SpectrumFrame,
    StreamAck,
    encode_levels,
)
from cellward.messages.snippet import CHUNK_BYTES

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
    "capture_snippet": {"freq_hz": 897.4e6, "duration_s": 2.0, "reason": "incident 4", "deliver": True},
    "stream_spectrum": {"duration_s": 60.0},
}


BLOCKER_HEAD = {"site": "hmp-test", "sender": "blk-1", "ts": T0, "seq": 3}
BLOCKER_COMMAND_EXAMPLES = {
    "set_blocking": {"zone": "cells-A", "bands": ["B8", "B3"], "on": True},
    "set_power": {"band": "B8", "power_dbm": 17.5},
    "set_failsafe": {"state": "off", "timeout_s": 10.0},
    "all_off": {"reason": "emergency all-off by officer-1"},
    "keepalive": {},
}


def blocker_command(name: str, params: dict) -> BlockerCommand:
    return BlockerCommand(
        site="hmp-test",
        sender="controller",
        ts=T0,
        seq=11,
        command=name,
        id="b-1",
        target="blk-1",
        expires=T0 + timedelta(seconds=10),
        params=params,
    )


def blocker_state(mode: str = "normal", detail: str | None = None, on: bool = True) -> BlockerState:
    return BlockerState(
        **BLOCKER_HEAD,
        mode=mode,
        detail=detail,
        bands=[
            BandState(band="B8", on=on, power_dbm=20.0, max_power_dbm=20.0, zones=["cells-A"] if on else []),
            BandState(band="B3", on=False, power_dbm=-30.0, max_power_dbm=20.0, zones=[]),
        ],
        zones=["cells-A"],
        failsafe=FailsafeSetting(state="off", timeout_s=10.0),
        actuator="sim BLK-A",
        started_at=T0 - timedelta(seconds=30),
        software_version="0.1.0",
    )


def blocker_heartbeat(heard: bool = True) -> BlockerHeartbeat:
    return BlockerHeartbeat(
        **BLOCKER_HEAD,
        interval_s=2.0,
        uptime_s=30.0,
        mode="normal" if heard else "failsafe",
        bands_on=["B8"] if heard else [],
        state_seq=2,
        controller_heard=T0 - timedelta(seconds=1) if heard else None,
        commands_applied=4,
        refusals={"replayed": 1, "bad_signature": 2} if heard else {},
        mqtt_reconnects=0,
        spool_depth=0,
        clock=CLOCK,
    )


def blocker_examples() -> list[Envelope]:
    """Every blocker message kind, built as the blocker node builds them."""
    messages: list[Envelope] = [blocker_command(n, p) for n, p in BLOCKER_COMMAND_EXAMPLES.items()]
    messages += [blocker_state(), blocker_state("failsafe", "controller silent for 10.0 s", on=False)]
    messages += [blocker_heartbeat(), blocker_heartbeat(heard=False)]
    messages += [
        BlockerFault(
            **BLOCKER_HEAD, event="raised", kind="broker_lost", detail="lost", action="bands_off", bands=["B8"]
        ),
        BlockerFault(**BLOCKER_HEAD, event="cleared", kind="actuator", detail="ok", action="none", bands=[]),
    ]
    messages += [
        BlockerAck(
            **BLOCKER_HEAD, command="set_blocking", id="b-1", result="accepted", reason=None, detail="ok", bands_on=[]
        ),
        BlockerAck(
            **BLOCKER_HEAD,
            command="set_blocking",
            id="b-1",
            result="applied",
            reason=None,
            detail="on",
            bands_on=["B8"],
        ),
        BlockerAck(
            **BLOCKER_HEAD,
            command="bogus",
            id=None,
            result="refused",
            reason="malformed",
            detail="not JSON",
            bands_on=[],
        ),
        BlockerAck(
            **BLOCKER_HEAD,
            command="set_power",
            id="b-2",
            result="failed",
            reason="actuator",
            detail="relay did not switch",
            bands_on=[],
        ),
    ]
    messages.append(Availability(**BLOCKER_HEAD, state="online"))
    return messages


def spectrum_frame(bins: int = 225, band: str | None = "B8") -> SpectrumFrame:
    levels = np.arange(bins) % 200
    return SpectrumFrame(
        **HEAD,
        stream="c-1",
        start=T0,
        listen_s=0.09,
        centre_hz=897.4e6,
        start_hz=897.4e6 - bins // 2 * 9375.0,
        bin_hz=9375.0,
        bins=bins,
        band=band,
        gain_db=28.0,
        calibration_db=-32.5,
        ref_dbm=-130.0,
        step_db=0.5,
        mean=encode_levels(levels),
        peak=encode_levels(levels + 10),
    )


def snippet_chunks(data: bytes, capture: str = "c-1") -> list[SnippetChunk]:
    """`data` as a delivery, the way the sensor chunks a .sigmf-data file."""
    meta = {"global": {"core:datatype": "cu8", "core:sample_rate": 2.4e6, "core:version": "1.0.0"}, "captures": []}
    count = -(-len(data) // CHUNK_BYTES)
    return [
        SnippetChunk(
            **{**HEAD, "seq": 1 + index},
            capture=capture,
            index=index,
            count=count,
            offset=index * CHUNK_BYTES,
            total_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            meta=meta if index == 0 else None,
            data=base64.b64encode(data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]).decode(),
        )
        for index in range(count)
    ]


def all_examples() -> list[Envelope]:
    """One or more model-built messages of every kind, covering the nullable and optional branches."""
    messages: list[Envelope] = [Availability(**HEAD, state=state) for state in ("online", "stopped", "offline")]
    cut = replace(report(1, 1), window_s=0.225, cut_early=True)
    messages.append(DetectionBatch(**HEAD, clock=CLOCK, reports=[report(), report(200, 64, None), cut]))
    messages += [status(), status("fault", "dongle unplugged: usb read failed")]
    messages += [stats(), stats(None)]
    messages += [command(name, params) for name, params in COMMAND_PARAMS_EXAMPLES.items()]
    messages.append(command("set_gain", {"band": None, "gain_db": None}))
    messages += [spectrum_frame(), spectrum_frame(512, None), spectrum_frame(1)]
    messages += snippet_chunks(bytes(range(256)) * 500)  # 128000 bytes: three chunks, the last short
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
        ScanFocus(**controller, channels_hz=[708.2e6, 882.4e6], valid_s=30.0),
        ScanFocus(**controller, channels_hz=[], valid_s=30.0),
    ]
    return messages + blocker_examples()
