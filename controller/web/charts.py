"""Small server-side SVG charts for the patterns page: an hour × day grid and labelled bars."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from controller.web.activity import DAYS

CELL_PX = 26
LEFT_PX = 40
TOP_PX = 22


def hour_day_grid(matrix: Sequence[Sequence[int]]) -> Markup:
    """Days down, hours across; darker is busier and every square carries its count in its title."""
    most = max((max(row) for row in matrix), default=0)
    width = LEFT_PX + 24 * CELL_PX
    height = TOP_PX + len(DAYS) * CELL_PX
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart grid" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Emissions by hour of day and day of week (local time)">'
    ]
    for hour in range(0, 24, 3):
        parts.append(f'<text x="{LEFT_PX + hour * CELL_PX + 2}" y="14" class="axis">{hour:02d}</text>')
    for day_index, day in enumerate(DAYS):
        y = TOP_PX + day_index * CELL_PX
        parts.append(f'<text x="2" y="{y + 17}" class="axis">{day}</text>')
        for hour, count in enumerate(matrix[day_index]):
            step = 0 if count == 0 or most == 0 else 1 + min(3, int(4 * count / (most + 1)))
            x = LEFT_PX + hour * CELL_PX
            parts.append(
                f'<g class="heat-{step}"><rect x="{x}" y="{y}" width="{CELL_PX - 2}" height="{CELL_PX - 2}"/>'
                f"<title>{day} {hour:02d}:00: {count} emissions</title>"
                + (f'<text x="{x + 12}" y="{y + 16}" class="count">{count}</text>' if count else "")
                + "</g>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(items: Sequence[tuple[str, float]], label: str, shown: Sequence[str] | None = None) -> Markup:
    """Horizontal bars in the given order, each with its name and its value (or `shown[i]`) written beside it."""
    most = max((count for _, count in items), default=0) or 1
    row_px = 22
    width, height = 520, max(1, len(items)) * row_px
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}">'
    ]
    for index, (name, count) in enumerate(items):
        y = index * row_px
        length = 300 * count / most
        value = shown[index] if shown else str(count)
        parts.append(
            f'<text x="0" y="{y + 15}" class="axis">{escape(name)}</text>'
            f'<rect x="120" y="{y + 3}" width="{length:.1f}" height="16" class="bar"/>'
            f'<text x="{126 + length:.1f}" y="{y + 15}" class="count">{escape(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
