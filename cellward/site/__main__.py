"""Check a site file and summarise it: `python -m cellward.site SITE.yaml` (exit 1 with every problem listed)."""

from __future__ import annotations

import sys
from collections import Counter

from cellward.site.load import SiteError, load_site


def summary(path: str) -> str:
    """One paragraph on what the site holds; raises SiteError when the file is unusable."""
    site = load_site(path)
    roles = Counter(s.role for s in site.sensors)
    kinds = Counter(r.kind for r in site.rooms)
    return (
        f"{path}: site {site.name!r} is valid: {len(site.wings)} wing(s), {site.landings} landing(s) of "
        f"{site.floor_height_m:g} m, {kinds['cell']} cells, {len(site.rooms)} rooms, {len(site.walls)} walls, "
        f"{len(site.floors)} floor slabs, {len(site.zones)} zones, {roles['internal']} internal and "
        f"{roles['perimeter']} perimeter sensors, {len(site.blockers)} blocker unit(s)"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cellward.site SITE.yaml", file=sys.stderr)
        return 2
    try:
        print(summary(argv[0]))
    except SiteError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
