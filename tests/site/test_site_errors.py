"""Bad site files are refused with a SiteError that names the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellward.site import SiteError, load_site, parse_site, small_site_path

SMALL = small_site_path().read_text(encoding="utf-8").splitlines()


def _line_of(prefix: str) -> int:
    """1-based line number of the small site's line that starts with `prefix` (after indentation)."""
    return next(i + 1 for i, line in enumerate(SMALL) if line.strip().startswith(prefix))


def _with_line(prefix: str, new: str) -> tuple[str, int]:
    """The small site with the line starting with `prefix` replaced by `new`, and that line's number."""
    n = _line_of(prefix)
    lines = list(SMALL)
    lines[n - 1] = new
    return "\n".join(lines) + "\n", n


def _error(text: str) -> str:
    with pytest.raises(SiteError) as caught:
        parse_site(text, "bad.yaml")
    return str(caught.value)


def test_the_shipped_small_site_loads_cleanly() -> None:
    assert parse_site("\n".join(SMALL), "small.yaml").name == "small"


def test_unknown_key_in_a_room_names_its_line() -> None:
    text, line = _with_line(
        "- {id: A-0-03,",
        "  - {id: A-0-03, kind: cell, wing: A, landing: 0, zone: cells-A, colour: red, "
        "polygon: [[10.8, 1.5], [13.2, 1.5], [13.2, 5.1], [10.8, 5.1]]}",
    )
    message = _error(text)
    assert f"line {line}:" in message and "colour" in message and "Extra inputs" in message, message


def test_room_in_an_unknown_zone_is_named_with_its_line() -> None:
    text, line = _with_line(
        "- {id: A-0-03,",
        "  - {id: A-0-03, kind: cell, wing: A, landing: 0, zone: cells-Z, "
        "polygon: [[10.8, 1.5], [13.2, 1.5], [13.2, 5.1], [10.8, 5.1]]}",
    )
    message = _error(text)
    assert f"line {line}: room 'A-0-03': unknown zone 'cells-Z'" in message, message


def test_duplicate_room_id_points_at_the_second_one() -> None:
    text, line = _with_line(
        "- {id: A-0-03,",
        "  - {id: A-0-02, kind: cell, wing: A, landing: 0, zone: cells-A, "
        "polygon: [[10.8, 1.5], [13.2, 1.5], [13.2, 5.1], [10.8, 5.1]]}",
    )
    message = _error(text)
    assert f"line {line}: duplicate id 'A-0-02'" in message, message


def test_self_intersecting_polygon_is_refused() -> None:
    # The corners of A-0-03 listed out of order make a bow tie.
    text, line = _with_line(
        "- {id: A-0-03,",
        "  - {id: A-0-03, kind: cell, wing: A, landing: 0, zone: cells-A, "
        "polygon: [[10.8, 1.5], [13.2, 5.1], [13.2, 1.5], [10.8, 5.1]]}",
    )
    message = _error(text)
    assert f"line {line}: room 'A-0-03': polygon is not simple" in message, message


def test_polygon_with_two_corners_is_refused() -> None:
    text, line = _with_line(
        "- {id: A-0-03,",
        "  - {id: A-0-03, kind: cell, wing: A, landing: 0, zone: cells-A, polygon: [[10.8, 1.5], [13.2, 5.1]]}",
    )
    message = _error(text)
    assert f"line {line}:" in message and "at least 3 distinct corners" in message, message


def test_landing_out_of_range_is_refused() -> None:
    text, line = _with_line(
        "- {id: A-0-03,",
        "  - {id: A-0-03, kind: cell, wing: A, landing: 2, zone: cells-A, "
        "polygon: [[10.8, 1.5], [13.2, 1.5], [13.2, 5.1], [10.8, 5.1]]}",
    )
    message = _error(text)
    assert f"line {line}: room 'A-0-03': landing 2 is out of range, wing 'A' has landings 0..1" in message, message


def test_internal_sensor_outside_the_site_is_refused() -> None:
    text, line = _with_line(
        "- {id: A0-1,",
        "  - {id: A0-1, position: [90.0, 1.2, 2.8], antenna_gain_dbi: 2.0, cable_loss_db: 1.0, role: internal}",
    )
    message = _error(text)
    assert f"line {line}: internal sensor 'A0-1' at (90.0, 1.2, 2.8) is outside the perimeter" in message, message


def test_perimeter_sensor_inside_the_wall_is_refused() -> None:
    text, line = _with_line("- {id: PER-S,", "  - {id: PER-S, position: [10.0, -10.0, 3.0], role: perimeter}")
    message = _error(text)
    assert f"line {line}: perimeter sensor 'PER-S'" in message and "it is inside" in message, message


def test_blocker_covering_an_unknown_zone_is_refused() -> None:
    text, line = _with_line(
        "- {id: BLK-A,", "  - {id: BLK-A, position: [13.2, 0.0, 5.7], zones: [cells-Q], bands: [B8]}"
    )
    message = _error(text)
    assert f"line {line}: blocker 'BLK-A': unknown zone 'cells-Q'" in message, message


def test_blocker_covering_a_never_block_zone_is_refused() -> None:
    text, line = _with_line("- {id: BLK-A,", "  - {id: BLK-A, position: [13.2, 0.0, 5.7], zones: [staff], bands: [B8]}")
    message = _error(text)
    assert f"line {line}: blocker 'BLK-A' covers zone 'staff', which is never_block" in message, message


def test_material_without_the_1800_band_is_refused() -> None:
    text, line = _with_line("- {id: cell_wall,", "  - {id: cell_wall, loss_db: {700: 7.0, 800: 7.4, 900: 7.8}}")
    message = _error(text)
    assert f"line {line}:" in message and "lacks the band(s) 1800 MHz" in message, message


def test_wall_of_an_unknown_material_is_refused() -> None:
    n = _line_of("- {start:")
    lines = list(SMALL)
    lines[n - 1] = "  - {start: [6.0, 5.1], end: [20.4, 5.1], material: adamantium, landing: 0}"
    message = _error("\n".join(lines))
    assert f"line {n}: wall 0: unknown material 'adamantium'" in message, message


def test_several_problems_are_all_reported() -> None:
    text, _ = _with_line("- {id: BLK-A,", "  - {id: BLK-A, position: [13.2, 0.0, 5.7], zones: [x, y], bands: [B8]}")
    message = _error(text)
    assert "2 problem(s)" in message and "'x'" in message and "'y'" in message, message


def test_invalid_yaml_names_the_line() -> None:
    text, line = _with_line("- {id: A-0-03,", "  - {id: A-0-03: kind: cell}")
    message = _error(text)
    assert f"line {line}: not valid YAML" in message, message


def test_missing_file_is_a_site_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read the site file"):
        load_site(tmp_path / "absent.yaml")


def test_site_check_command_summarises_a_good_file_and_lists_problems_of_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cellward.site.__main__ import main

    assert main([str(small_site_path())]) == 0
    assert "site 'small' is valid: 1 wing(s), 2 landing(s) of 3 m, 16 cells" in capsys.readouterr().out
    text, line = _with_line("- {id: BLK-A,", "  - {id: BLK-A, position: [13.2, 0.0, 5.7], zones: [x], bands: [B8]}")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    assert main([str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"line {line}: blocker 'BLK-A': unknown zone 'x'" in captured.err and captured.out == ""
    assert main([]) == 2
