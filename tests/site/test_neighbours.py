"""Which cells are next to which, on the reference site."""

from __future__ import annotations

from cellward.site import load_site, reference_site_path
from cellward.site.neighbours import neighbouring_cells


def test_a_cells_neighbours_are_the_cells_beside_it_on_its_landing():
    site = load_site(reference_site_path())
    neighbours = neighbouring_cells(site)
    assert neighbours["A-1-14"] == {"A-1-13", "A-1-15"}
    assert neighbours["A-1-01"] == {"A-1-02"}, "the end of a row has one"
    assert set(neighbours) == {c.id for c in site.cells}
    for cell, beside in neighbours.items():
        room = site.room(cell)
        assert all((site.room(b).wing, site.room(b).landing) == (room.wing, room.landing) for b in beside)
        assert all(cell in neighbours[b] for b in beside), "next to each other both ways"
