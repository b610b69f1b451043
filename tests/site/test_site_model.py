"""The site file: validation with line-numbered errors, geometry look-ups and the shipped sites."""

from pathlib import Path

import pytest

from cellward.site import SiteError, load_site, reference_site_path, small_site_path
from cellward.site.reference_builder import shipped_sites

TWO_ROOMS = """\
name: test-site
floor_height_m: 3.0
landings: 2
floor_material: concrete
perimeter_material: concrete
materials:
  brick: {loss_db: {700: 7.0, 900: 8.0, 1800: 11.0}}
  concrete: {loss_db: {900: 17.0}}
zones:
  - {id: cells, kind: cells}
  - {id: staff, kind: staff, phones_authorised: true, never_block: true}
rooms:
  - {id: A-0-01, kind: cell, wing: A, landing: 0, polygon: [[0,0],[4,0],[4,3],[0,3]], zone: cells, wall_material: brick}
  - {id: A-0-02, kind: cell, wing: A, landing: 0, polygon: [[4,0],[8,0],[8,3],[4,3]], zone: cells, wall_material: brick}
  - {id: A-1-01, kind: cell, wing: A, landing: 1, polygon: [[0,0],[4,0],[4,3],[0,3]], zone: cells, wall_material: brick}
perimeter: [[-20, -20], [30, -20], [30, 20], [-20, 20]]
sensors:
  - {id: s1, position: [6.0, 1.5, 1.5]}
blockers:
  - {id: blk, position: [2, 1.5, 2.5], zones: [cells], bands: [B8]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def test_a_valid_site_loads_with_rooms_walls_and_centroids(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, TWO_ROOMS))
    assert [c.id for c in site.cells] == ["A-0-01", "A-0-02", "A-1-01"]
    assert site.room("A-1-01").centroid == pytest.approx((2.0, 1.5, 4.5))
    # 4 + 4 edges on landing 0 sharing one, 4 on landing 1, 4 perimeter edges
    assert len(site.walls) == 7 + 4 + 4
    assert site.room_at(6.0, 1.0, 1.0).id == "A-0-02"
    assert site.room_at(2.0, 1.0, 4.0).id == "A-1-01"
    assert site.room_at(6.0, 1.0, 4.0) is None, "nothing is built above A-0-02"
    assert site.inside_perimeter(0, 0) and not site.inside_perimeter(0, -25)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (
                "zone: cells, wall_material: brick}\n  - {id: A-0-02",
                "zone: yard, wall_material: brick}\n  - {id: A-0-02",
            ),
            "line 13: rooms.0.zone: room 'A-0-01' names unknown zone 'yard'",
        ),
        (("id: A-0-02", "id: A-0-01"), "line 14: rooms.1.id: duplicate id 'A-0-01'"),
        (
            (
                "[[0,0],[4,0],[4,3],[0,3]], zone: cells, wall_material: brick}\n  - {id: A-0-02",
                "[[0,0],[4,3],[4,0],[0,3]], zone: cells, wall_material: brick}\n  - {id: A-0-02",
            ),
            "line 13: rooms.0.polygon: Value error, the polygon crosses itself",
        ),
        (("landings: 2", "landings: 2\ncolour: grey"), "line 4: colour: Extra inputs are not permitted"),
        (("[6.0, 1.5, 1.5]", "[6000.0, 1.5, 1.5]"), "line 18: sensors.0.position: sensor 's1' is far outside"),
        (("zones: [cells], bands", "zones: [wing-z], bands"), "blocker 'blk' covers unknown zone 'wing-z'"),
        (("bands: [B8]", "bands: [B99]"), "line 20: blockers.0.bands: unknown band 'B99'"),
        (("wing: A, landing: 1", "wing: A, landing: 5"), "line 15: rooms.2.landing: landing 5 but the site has 2"),
        (("brick}\n  - {id: A-1-01", "adobe}\n  - {id: A-1-01"), "unknown material 'adobe'"),
    ],
)
def test_bad_site_files_name_the_line_and_the_problem(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in TWO_ROOMS
    with pytest.raises(SiteError) as error:
        load_site(write(tmp_path, TWO_ROOMS.replace(old, new, 1)))
    assert expected in str(error.value)
    assert str(tmp_path / "site.yaml") in str(error.value)


def test_unreadable_and_broken_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read the file"):
        load_site(tmp_path / "absent.yaml")
    with pytest.raises(SiteError, match="not valid YAML"):
        load_site(write(tmp_path, "name: [unclosed\n"))


def test_the_shipped_sites_are_what_the_builder_makes() -> None:
    for path, text in shipped_sites().items():
        assert path.read_text() == text, f"{path.name} is stale: run python -m cellward.site.reference_builder"


def test_the_reference_site_is_a_radial_prison_of_four_wings_and_three_landings() -> None:
    site = load_site(reference_site_path())
    wings = {c.wing for c in site.cells}
    assert wings == {"A", "B", "C", "D"}
    assert {c.landing for c in site.cells} == {0, 1, 2}
    assert len(site.cells) >= 300, "several hundred cells"
    for wing in wings:
        for landing in range(3):
            here = [c for c in site.cells if c.wing == wing and c.landing == landing]
            assert len(here) == 40, f"{wing} landing {landing}: 20 cells on each side of the corridor"
    assert all(site.zone(c.zone).kind == "cells" for c in site.cells)
    assert all(site.inside_perimeter(*c.centroid[:2]) for c in site.cells)
    assert {r.kind for r in site.rooms} >= {"hub", "office", "visits", "exercise", "road", "landing"}
    road = site.room("ROAD")
    assert not site.inside_perimeter(*road.centroid[:2]) and site.zone(road.zone).kind == "outside"
    offices = [r for r in site.rooms if r.kind == "office"]
    assert offices and all(site.zone(r.zone).phones_authorised and site.zone(r.zone).never_block for r in offices)
    internal = [s for s in site.sensors if s.role == "internal"]
    perimeter = [s for s in site.sensors if s.role == "perimeter"]
    assert len(internal) >= 36, "three sensors per landing per wing"
    assert len(perimeter) >= 4 and not any(site.inside_perimeter(*s.position[:2]) for s in perimeter)
    assert {z for b in site.blockers for z in b.zones} == {"A-wing", "B-wing", "C-wing", "D-wing"}
    # every cell is in exactly one room at its own centroid
    assert all(site.room_at(*c.centroid).id == c.id for c in site.cells)


def test_the_small_site_is_one_wing_of_sixteen_cells() -> None:
    site = load_site(small_site_path())
    assert len(site.cells) == 16 and {c.landing for c in site.cells} == {0, 1}
    assert len(site.sensors) == 4
