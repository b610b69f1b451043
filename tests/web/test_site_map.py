"""The SVG plan: readable cell numbers on the reference prison, every state written as well as coloured."""

from __future__ import annotations

import re

from cellward.site import load_site, reference_site_path
from controller.web.site_map import CellMark, SensorMark, render_landing

READABLE_PX = 9.0  # on a 1000-unit-wide plan shown at 1920 or 1366 px, smaller ids cannot be read


def test_zooming_to_a_wing_makes_every_cell_number_readable_even_north_south_wings():
    site = load_site(reference_site_path())
    for wing in ("A", "B", "C", "D"):
        svg = str(render_landing(site, 0, {}, {}, [], wing=wing))
        sizes = {
            cell_id: float(size)
            for size, cell_id in re.findall(r'class="cell-id" font-size="([\d.]+)">([A-D]-0-\d+)<', svg)
            if cell_id.startswith(wing)
        }
        expected = {room.id for room in site.cells if room.wing == wing and room.landing == 0}
        assert set(sizes) == expected, f"wing {wing}: every cell of the wing is labelled"
        assert min(sizes.values()) >= READABLE_PX, f"wing {wing}: smallest id {min(sizes.values()):.1f} px"


def test_whole_landing_keeps_states_in_labels_when_numbers_are_too_small_to_print():
    site = load_site(reference_site_path())
    cell = next(room for room in site.cells if room.landing == 2)
    svg = str(render_landing(site, 2, {cell.id: CellMark("i1", "acknowledged", False, "gsm", ("O2",))}, {}, []))
    group = re.search(rf'<g class="room cell state-incident" data-cell="{cell.id}".*?</g>', svg, re.S).group(0)
    assert f'aria-label="Cell {cell.id}: GSM O2 · acknowledged"' in group, "screen readers and tooltips get it all"
    assert svg.count('data-cell="') == sum(1 for room in site.cells if room.landing == 2)


def test_sensor_health_is_a_symbol_and_a_shape_not_only_a_colour():
    site = load_site(reference_site_path())
    sensor = next(s for s in site.sensors if 0 <= s.position[2] < site.floor_height_m and s.role == "internal")
    marks = {sensor.id: SensorMark(sensor.id, False, ("sensor silent for 300 s",))}
    svg = str(render_landing(site, 0, {}, marks, []))
    group = re.search(rf'<g class="sensor sensor-fault" data-sensor="{sensor.id}".*?</g>', svg, re.S).group(0)
    assert ">!</text>" in group and "sensor silent for 300 s" in group


def test_a_blocking_zone_is_framed_over_its_rooms_with_its_state_in_words():
    from controller.web.site_map import BlockerMark, ZoneMark
    from tests.web.conftest import SITE

    zone = ZoneMark("cells-A", "on", "manual")
    svg = str(render_landing(SITE, 1, {}, {}, [BlockerMark("BLK-A", ("cells-A",), "on")], zones=[zone]))
    group = re.search(r'<g class="zone zone-on" data-zone="cells-A".*?</g>', svg, re.S).group(0)
    assert ">Blocking zone cells-A: BLOCKING ON (manual)</text>" in group, "the state is written, not only drawn"
    assert re.search(r'<g class="blocker blocker-on" data-blocker="BLK-A".*?>BLK-A ON</text>', svg, re.S)
    off = str(render_landing(SITE, 0, {}, {}, [], zones=[ZoneMark("cells-A", "out of service", "no unit")]))
    assert 'class="zone zone-out-of-service"' in off and "OUT OF SERVICE (no unit)" in off, "every landing of the zone"
