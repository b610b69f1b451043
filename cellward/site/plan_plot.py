"""Draws a site's plan on one landing (rooms, walls, sensors, blockers) to a PNG, for documentation and review.

python -m cellward.site.plan_plot [SITE.yaml] [--landing 1] [--output docs/reference_site.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cellward.site.load import load_site, reference_site_path
from cellward.site.model import Room
from cellward.site.site import Site

_FILL = {
    "cell": "#dddddd",
    "landing": "#bbddff",
    "corridor": "#bbddff",
    "stairs": "#cccccc",
    "hub": "#ffddbb",
    "exercise": "#bbffbb",
    "road": "#999999",
    "visits": "#ffbbff",
    "office": "#ffff99",
    "healthcare": "#ff9999",
}


def plot_plan(site: Site, landing: int, output: Path) -> None:
    """Rooms and walls of `landing` plus the single-storey ground-level areas, sensors of that landing and all
    perimeter sensors, blockers, the perimeter wall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 9))
    multi_storey = {r.polygon[0] for r in site.rooms if r.landing > 0}  # footprints that have upper landings

    def shown(room: Room | None) -> bool:
        if room is None:
            return False
        return room.landing == landing or (room.landing == 0 and room.polygon[0] not in multi_storey)

    for room in site.rooms:
        if shown(room):
            xs, ys = zip(*room.polygon, strict=True)
            ax.fill(xs, ys, color=_FILL.get(room.kind, "white"), ec="black", lw=0.2)
    for wall in site.walls:
        if wall.landing == landing or wall.material == "perimeter_wall":
            width = 2.0 if wall.material == "perimeter_wall" else 0.5
            ax.plot([wall.start[0], wall.end[0]], [wall.start[1], wall.end[1]], "k-", lw=width)
    for sensor in site.sensors:
        if sensor.role == "perimeter":
            ax.plot(*sensor.position[:2], "bs", ms=5)
        elif shown(site.room_at(*sensor.position)):
            ax.plot(*sensor.position[:2], "r^", ms=5)
    for unit in site.blockers:
        if site.landing_at(unit.position[2]) == landing:
            ax.plot(*unit.position[:2], "mx", ms=9, mew=2)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, east)")
    ax.set_ylabel("y (m, north)")
    ax.set_title(
        f"{site.name}: landing {landing} (red ▲ internal sensors, blue ■ perimeter sensors, magenta × blockers)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(output, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=reference_site_path())
    parser.add_argument("--landing", type=int, default=1)
    parser.add_argument("--output", type=Path, default=Path("docs/reference_site.png"))
    args = parser.parse_args()
    plot_plan(load_site(args.site), args.landing, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
