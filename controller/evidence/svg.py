"""Small inline-SVG plots for the evidence report: site map, activity timeline, sensor levels, spectrogram.

Hand-written SVG keeps the report one self-contained file with no plotting library at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

from cellward.site import Site
from controller.evidence.model import ActivityWindow, Location, SensorEvidence
from controller.spectrogram import spectrogram_of_samples

WIDTH = 640


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def site_map(site: Site, location: Location, sensors: Sequence[SensorEvidence]) -> str:
    """The located landing from above: rooms, the located cell (red), runners-up (orange), sensors (blue)."""
    landing = location.landing or 0
    rooms = [room for room in site.rooms if room.landing == landing]
    xs = [x for x, _ in site.perimeter] + [x for room in rooms for x, _ in room.polygon]
    ys = [y for _, y in site.perimeter] + [y for room in rooms for _, y in room.polygon]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = (WIDTH - 20) / max(x1 - x0, 1e-6)
    height = (y1 - y0) * scale + 20

    def pt(x: float, y: float) -> str:  # y north is up on the page
        return f"{10 + (x - x0) * scale:.1f},{height - 10 - (y - y0) * scale:.1f}"

    runners = {cell for cell, _ in location.runners_up}
    body = [f'<polygon points="{" ".join(pt(x, y) for x, y in site.perimeter)}" fill="none" stroke="#444"/>']
    for room in rooms:
        fill = "#d62728" if room.id == location.cell_id else "#ff9f40" if room.id in runners else "#eee"
        points = " ".join(pt(x, y) for x, y in room.polygon)
        body.append(
            f'<polygon points="{points}" fill="{fill}" stroke="#999" stroke-width="0.5">'
            f"<title>{escape(room.id)}</title></polygon>"
        )
    for sensor in sensors:
        if sensor.position_m is None:
            continue
        x, y, _ = sensor.position_m
        cx, cy = pt(x, y).split(",")
        body.append(f'<circle cx="{cx}" cy="{cy}" r="4" fill="#1f77b4"><title>{escape(sensor.id)}</title></circle>')
    return _svg(WIDTH, height, body, f"Site map, landing {landing}: located cell {location.cell_id}")


def timeline(windows: Sequence[ActivityWindow], starts_s: Sequence[float], ends_s: Sequence[float]) -> str:
    """Activity windows on a time axis (one bar per window), with the first and last time labelled."""
    height = 80
    if not windows:
        return _svg(WIDTH, height, ['<text x="10" y="40">no activity windows</text>'], "Activity timeline")
    t0, t1 = min(starts_s), max(ends_s)
    span = max(t1 - t0, 1e-3)
    body = ['<line x1="10" y1="50" x2="630" y2="50" stroke="#444"/>']
    for window, start, end in zip(windows, starts_s, ends_s, strict=True):
        x = 10 + (start - t0) / span * 620
        w = max((end - start) / span * 620, 1.5)
        body.append(
            f'<rect x="{x:.1f}" y="30" width="{w:.1f}" height="20" fill="#d62728">'
            f"<title>{escape(window.start)} for {window.duration_s:.3f} s, "
            f"{window.freq_hz / 1e6:.3f} MHz</title></rect>"
        )
    body.append(f'<text x="10" y="72" font-size="11">{escape(windows[0].start)}</text>')
    body.append(f'<text x="630" y="72" font-size="11" text-anchor="end">{escape(windows[-1].end)}</text>')
    return _svg(WIDTH, height, body, "Activity timeline")


def sensor_levels(levels_dbm: dict[str, float]) -> str:
    """Mean calibrated level per sensor (dBm), strongest first, as horizontal bars from -120 dBm."""
    ordered = sorted(levels_dbm.items(), key=lambda item: -item[1])
    height = 20 + 18 * max(len(ordered), 1)
    body = []
    for row, (sensor_id, level) in enumerate(ordered):
        y = 10 + 18 * row
        w = max(min((level + 120) / 100, 1), 0) * 440
        body.append(f'<text x="10" y="{y + 12}" font-size="11">{escape(sensor_id)}</text>')
        body.append(f'<rect x="150" y="{y}" width="{w:.1f}" height="14" fill="#1f77b4"/>')
        body.append(f'<text x="{155 + w:.1f}" y="{y + 12}" font-size="11">{level:.1f} dBm</text>')
    return _svg(WIDTH, height, body, "Mean level per sensor")


def spectrogram(samples: np.ndarray, sample_rate_hz: float, center_freq_hz: float, nfft: int = 64) -> str:
    """|STFT|² in dB of complex baseband, up to 120 time columns by `nfft` bins, greyscale rectangles."""
    height = 220
    if len(samples) < nfft:
        return _svg(WIDTH, height, ['<text x="10" y="40">snippet too short</text>'], "Spectrogram")
    power_db = spectrogram_of_samples(samples, sample_rate_hz, center_freq_hz, nfft, 120, nfft).matrix_db()
    frames = power_db.shape[0]
    lo, hi = np.percentile(power_db, 5), power_db.max()
    shade = np.clip((power_db - lo) / max(hi - lo, 1e-9), 0, 1)
    cw, ch = 620 / frames, 180 / nfft
    body = []
    for t in range(frames):
        for f in range(nfft):
            level = int(255 * (1 - shade[t, f]))
            body.append(
                f'<rect x="{10 + t * cw:.1f}" y="{10 + (nfft - 1 - f) * ch:.1f}" width="{cw + 0.3:.1f}" '
                f'height="{ch + 0.3:.1f}" fill="rgb({level},{level},{level})"/>'
            )
    duration_ms = len(samples) / sample_rate_hz * 1e3
    body.append(
        f'<text x="10" y="210" font-size="11">{center_freq_hz / 1e6:.3f} MHz ± {sample_rate_hz / 2e6:.3f} MHz, '
        f"{duration_ms:.1f} ms (time →, frequency ↑)</text>"
    )
    return _svg(WIDTH, height, body, "Spectrogram of the captured IQ snippet")
