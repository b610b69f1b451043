"""Which cells are next to which: the pairs a locator confuses most and a phone's location jitters between."""

from __future__ import annotations

import numpy as np

from cellward.site.site import Site


def neighbouring_cells(site: Site) -> dict[str, frozenset[str]]:
    """Cells on the same wing and landing whose centroids are within 1.5 cell pitches of each other."""
    cells = site.cells
    if len(cells) < 2:
        return {c.id: frozenset() for c in cells}
    xy = np.array([c.centroid[:2] for c in cells])
    same = np.array([[a.wing == b.wing and a.landing == b.landing for b in cells] for a in cells])
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    d[~same] = np.inf
    np.fill_diagonal(d, np.inf)
    pitch = float(np.median(d.min(axis=1)))
    return {c.id: frozenset(cells[j].id for j in np.flatnonzero(d[i] <= 1.5 * pitch)) for i, c in enumerate(cells)}
