"""The human-readable evidence report: one self-contained HTML file with the pack's facts and inline plots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path

import numpy as np

from cellward.recording import open_recording
from cellward.site import Site
from controller.evidence import svg
from controller.evidence.model import EvidencePack

SNIPPET_SAMPLES = 1 << 17  # about 55 ms at 2.4 MS/s shown (120 frames spread over it); the pack keeps it all


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _rows(pairs: Sequence[tuple[str, object]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs)


def render_report(pack: EvidencePack, site: Site, snippet_metas: Sequence[Path]) -> str:
    device, loc = pack.device, pack.device.location
    levels: dict[str, list[float]] = {}
    for window in device.activity_windows:
        for sensor_id, level in window.sensor_powers_dbm.items():
            levels.setdefault(sensor_id, []).append(level)
    mean_levels = {sensor_id: float(np.mean(values)) for sensor_id, values in levels.items()}
    spectrograms = []
    for meta in snippet_metas:
        recording = open_recording(meta)
        samples = next(recording.blocks(SNIPPET_SAMPLES), np.zeros(0, np.complex64))
        spectrograms.append(
            f"<h3>{escape(Path(meta).name)}</h3>"
            + svg.spectrogram(samples, recording.sample_rate_hz, recording.center_freq_hz)
        )
    identifiers = "".join(
        f"<tr><td>{escape(i.kind.upper())}</td><td>{escape(i.value)}</td><td>{escape(i.source)}</td>"
        f"<td>{escape(i.source_reference)}</td></tr>"
        for i in pack.identifiers
    )
    sensors = "".join(
        f"<tr><td>{escape(s.id)}</td><td>{escape(s.role)}</td>"
        f"<td>{'n/a' if s.calibration_offset_db is None else f'{s.calibration_offset_db:+.1f} dB'}</td>"
        f"<td>{'n/a' if s.clock_offset_s is None else f'{s.clock_offset_s * 1e3:.2f} ms'}</td>"
        f"<td>{escape({True: 'yes', False: 'NO', None: 'unknown'}[s.clock_synchronised])}</td></tr>"
        for s in device.sensors
    )
    legal = pack.legal_basis
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence pack {escape(pack.pack_id)}</title>
<style>body{{font-family:sans-serif;max-width:720px;margin:2em auto}}th{{text-align:left;padding-right:1em}}
td,th{{vertical-align:top;border-bottom:1px solid #ddd}}table{{border-collapse:collapse;width:100%}}</style></head>
<body>
<h1>Disconnection request — evidence pack</h1>
<p>Pack {escape(pack.pack_id)}, request {escape(pack.request_id)}, case {escape(pack.case_id)},
created {escape(pack.created_at)}. Integrity: check with <code>cellward evidence verify</code>.</p>
<h2>Institution, legal basis, approvals</h2>
<table>{
        _rows(
            [
                ("Institution", pack.institution.name),
                ("Instrument", legal.instrument),
                ("Statute", legal.statute),
                ("Regulations", legal.regulations),
                ("Decision maker", legal.decision_maker),
                ("Test", legal.test),
                ("Deadline", f"{legal.deadline_working_days} working days: {legal.deadline_note}"),
                ("Drafted by", f"{pack.approval.drafted_by} at {pack.approval.drafted_at}"),
                ("Authorised by", f"{pack.approval.authorised_by} at {pack.approval.authorised_at}"),
                ("Operator", f"{pack.operator.network} ({pack.operator.licensee}); {', '.join(pack.operator.blocks)}"),
            ]
        )
    }</table>
<h2>Evidence summary</h2><p>{escape(pack.evidence_summary)}</p>
<h2>What RF detection shows</h2>
<p>{escape(device.method)}</p>
<table>{
        _rows(
            [
                ("Technology", device.technology),
                ("Band", device.band),
                ("Channel", f"{device.channel_freq_hz / 1e6:.3f} MHz, {device.channel_bandwidth_hz / 1e3:.0f} kHz"),
                ("First / last seen", f"{device.first_seen} / {device.last_seen}"),
                ("Activity", f"{device.activity_count} windows in {len(device.incidents)} incident(s)"),
                ("Location", f"cell {loc.cell_id}, wing {loc.wing}, landing {loc.landing}, zone {loc.zone}"),
                ("Confidence", f"{loc.confidence:.2f} ({loc.method})"),
                ("Runners-up", ", ".join(f"{c} ({p:.2f})" for c, p in loc.runners_up) or "none"),
                ("Inside perimeter", "yes" if loc.inside_perimeter else "NO"),
            ]
        )
    }</table>
<h3>Location</h3>{svg.site_map(site, loc, device.sensors)}
<h3>Activity timeline</h3>{
        svg.timeline(
            device.activity_windows,
            [_epoch(w.start) for w in device.activity_windows],
            [_epoch(w.end) for w in device.activity_windows],
        )
    }
<h3>Levels per sensor</h3>{svg.sensor_levels(mean_levels)}
<h3>Sensors, calibration and clock</h3>
<table><tr><th>Sensor</th><th>Role</th><th>Calibration</th><th>Clock offset</th><th>Synchronised</th></tr>{
        sensors
    }</table>
<h2>Device identifiers (not from RF detection)</h2><p>{escape(pack.identifiers_note)}</p>
<table><tr><th>Kind</th><th>Value</th><th>Source</th><th>Reference</th></tr>{identifiers}</table>
<h2>Register of authorised devices</h2>
<p>Checked {escape(pack.authorised_device_register.checked_at)} against
{pack.authorised_device_register.entries_checked} entries: <b>{escape(pack.authorised_device_register.result)}</b>
{escape(", ".join(pack.authorised_device_register.matches))}</p>
<h2>IQ snippets</h2>{"".join(spectrograms) or "<p>none attached</p>"}
</body></html>
"""
