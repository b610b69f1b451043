"""The shipped sites and the geometry queries: counts, zones, containment, lookups."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from cellward.site import Site


def test_reference_site_is_four_wings_of_three_landings_with_480_cells(reference_site: Site) -> None:
    assert [w.id for w in reference_site.wings] == ["A", "B", "C", "D"]
    assert all(w.landings == 3 for w in reference_site.wings), "every wing has three landings"
    assert len(reference_site.cells) == 480, "4 wings x 3 landings x 2 sides x 20 cells"
    per_wing_landing = Counter((c.wing, c.landing) for c in reference_site.cells)
    assert set(per_wing_landing.values()) == {40}, f"each landing holds 40 cells: {per_wing_landing}"


def test_every_reference_cell_is_in_a_wing_and_its_wing_cells_zone(reference_site: Site) -> None:
    for cell in reference_site.cells:
        zone = reference_site.zone(cell.zone)
        assert cell.wing in {"A", "B", "C", "D"}, cell.id
        assert zone.kind == "cells" and zone.id == f"cells-{cell.wing}", cell.id
        assert not zone.phones_authorised, f"{cell.id}: phones are never authorised in cells"
        assert cell.id.startswith(f"{cell.wing}-{cell.landing}-")


def test_reference_cells_have_realistic_size(reference_site: Site) -> None:
    from cellward.site.model import polygon_area

    areas = {round(abs(polygon_area(c.polygon)), 2) for c in reference_site.cells}
    assert areas == {8.64}, "2.4 m pitch x 3.6 m depth between wall centre lines (about 2.1 x 3.3 m inside)"


def test_reference_perimeter_encloses_every_cell_and_the_road_lies_outside(reference_site: Site) -> None:
    for cell in reference_site.cells:
        for x, y in cell.polygon:
            assert reference_site.inside_perimeter(x, y), f"{cell.id} corner ({x}, {y}) is outside the wall"
    road = reference_site.room("ROAD")
    assert reference_site.zone(road.zone).kind == "outside"
    assert not any(reference_site.inside_perimeter(x, y) for x, y in road.polygon)


def test_reference_site_has_the_named_areas_with_their_policies(reference_site: Site) -> None:
    kinds = Counter(r.kind for r in reference_site.rooms)
    assert kinds["hub"] == 3 and kinds["visits"] == 1 and kinds["exercise"] == 3 and kinds["office"] == 3
    staff = reference_site.zone("staff")
    assert staff.phones_authorised and staff.never_block
    assert reference_site.zone("visits").sensitive
    outside = reference_site.zone("outside")
    assert outside.never_block and outside.phones_authorised


def test_reference_sensors_cover_every_landing_and_the_perimeter(reference_site: Site) -> None:
    internal = [s for s in reference_site.sensors if s.role == "internal"]
    perimeter = [s for s in reference_site.sensors if s.role == "perimeter"]
    per_landing = Counter(
        (reference_site.room_at(*s.position).wing, reference_site.landing_at(s.position[2]))
        for s in internal
        if reference_site.room_at(*s.position).wing
    )
    assert len(per_landing) == 12 and set(per_landing.values()) == {5}, "5 corridor sensors on every wing landing"
    assert len(perimeter) == 8, "four sides and four corners of the wall"
    for sensor in perimeter:
        assert not reference_site.inside_perimeter(*sensor.position[:2]), sensor.id


def test_reference_blockers_cover_only_blockable_zones(reference_site: Site) -> None:
    assert len(reference_site.blockers) == 4
    for unit in reference_site.blockers:
        assert all(not reference_site.zone(z).never_block for z in unit.zones), unit.id


def test_small_site_is_one_wing_of_two_landings_with_16_cells(small_site: Site) -> None:
    assert len(small_site.wings) == 1 and small_site.landings == 2
    assert len(small_site.cells) == 16
    assert 3 <= sum(s.role == "internal" for s in small_site.sensors) <= 4


def test_room_at_finds_the_room_on_the_landing_of_the_height(small_site: Site) -> None:
    # A-0-02 and A-1-02 share the plan square x 8.4..10.8, y 1.5..5.1; landing 1 starts at z = 3 m.
    assert small_site.room_at(9.0, 3.0, 1.0).id == "A-0-02"
    assert small_site.room_at(9.0, 3.0, 4.0).id == "A-1-02"
    assert small_site.room_at(9.0, -3.0, 1.0).id == "A-0-06", "cells 5..8 are the south row"
    assert small_site.room_at(9.0, 0.0, 1.0).kind == "landing"
    assert small_site.room_at(-10.0, 0.0, 1.0).kind == "exercise"
    assert small_site.room_at(0.0, -30.0, 1.0).kind == "road"
    assert small_site.room_at(30.0, 15.0, 1.0) is None, "open ground inside the wall is in no room"


def test_room_centroid_is_the_plan_centroid_at_mid_height(small_site: Site) -> None:
    x, y, z = small_site.room("A-1-02").centroid
    assert (x, y, z) == pytest.approx((9.6, 3.3, 4.5)), "x 8.4..10.8, y 1.5..5.1, landing 1 mid-height 1.5 x 3 m"


def test_lookups_of_unknown_ids_name_the_id(small_site: Site) -> None:
    with pytest.raises(KeyError, match="Z-9-99"):
        small_site.room("Z-9-99")
    with pytest.raises(KeyError, match="nope"):
        small_site.zone("nope")


def test_material_loss_is_interpolated_in_log_frequency(small_site: Site) -> None:
    wall = small_site.material("cell_wall")  # 7.4 dB at 800 MHz, 7.8 dB at 900 MHz
    expected = 7.4 + (7.8 - 7.4) * math.log10(850 / 800) / math.log10(900 / 800)
    assert wall.loss_db_at(850e6) == pytest.approx(expected)
    assert wall.loss_db_at(900e6) == pytest.approx(7.8)
    assert wall.loss_db_at(2600e6) == pytest.approx(10.5), "held flat above the last tabulated band"


def test_a_copy_with_other_sensors_answers_for_the_new_sensors(small_site: Site) -> None:
    moved = small_site.sensors[0].model_copy(update={"id": "NEW-1", "position": (12.0, 1.0, 2.8)})
    copy = small_site.model_copy(update={"sensors": [moved]})
    assert copy.sensor("NEW-1").position == (12.0, 1.0, 2.8)
    with pytest.raises(KeyError):
        copy.sensor("A0-1")
    assert small_site.sensor("A0-1").id == "A0-1", "the original is untouched"
    assert len(copy.cells) == 16
