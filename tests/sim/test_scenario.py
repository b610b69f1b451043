"""Scenario files are validated at the edge: every mistake names its line; same seed, same world."""

from __future__ import annotations

import numpy as np
import pytest

from cellward.config import ConfigError
from sim.scenario import parse_scenario
from sim.world import ScenarioError

GOOD = """\
name: t
seed: 4
duration_s: 2
phones:
  - id: p1
    band: B8
    place: {position: [2, 1, 1.5]}
    activities:
      - {kind: gsm_call, start_s: 0, duration_s: 2}
"""


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("gsm_call", "gsm_cal"), 9, "kind"),
        (GOOD.replace("place: {position: [2, 1, 1.5]}", "place: {at: X, position: [2, 1, 1.5]}"), 7, "exactly one"),
        (GOOD.replace("    place: {position: [2, 1, 1.5]}\n", ""), 5, "exactly one of 'place' or 'path'"),
        (GOOD.replace("duration_s: 2\nphones", "duration_s: -2\nphones"), 3, "greater than 0"),
        (GOOD.replace("seed: 4", "seed: 4\ncolour: red"), 3, "Extra inputs"),
        (GOOD + "  - id: p1\n    place: {at: A}\n    activities: [{kind: lte_data, start_s: 0}]\n", 1, "repeated: p1"),
        (GOOD.replace("activities:", "activities: [").replace("start_s: 0, duration_s: 2}", "start_s: 0"), 9, "YAML"),
    ],
)
def test_scenario_errors_name_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text, "bad.yaml")
    message = str(caught.value)
    assert f"line {line}" in message and words in message, f"expected line {line} and {words!r} in: {message}"


def test_a_path_must_move_forward_in_time() -> None:
    text = GOOD.replace(
        "    place: {position: [2, 1, 1.5]}\n",
        "    path:\n      - {t_s: 1, position: [0, 0, 1]}\n      - {t_s: 1, position: [5, 0, 1]}\n",
    )
    with pytest.raises(ConfigError, match=r"line 5.*increasing t_s"):
        parse_scenario(text, "bad.yaml")


def test_a_room_the_site_does_not_have_is_named_in_the_error(make_world) -> None:
    with pytest.raises(ScenarioError, match="phone p1: room 'Z-9-99' is not in site"):
        make_world(GOOD.replace("position: [2, 1, 1.5]", "at: Z-9-99"))


def test_an_operator_without_that_band_is_a_clear_error(make_world) -> None:
    with pytest.raises(ScenarioError, match="phone p1: no gsm uplink block for operator EE in band B8"):
        make_world(GOOD.replace("band: B8", "band: B8\n    operator: EE"))


def test_the_same_seed_plans_the_same_bursts_and_another_seed_does_not(make_world) -> None:
    text = GOOD.replace("gsm_call, start_s: 0, duration_s: 2", "lte_data, start_s: 0, duration_s: 2")
    a, b, c = make_world(text), make_world(text), make_world(text.replace("seed: 4", "seed: 5"))
    assert np.array_equal(a.bursts.start_s, b.bursts.start_s) and np.array_equal(a.bursts.freq_hz, b.bursts.freq_hz)
    assert list(a.truth()) == list(b.truth()), "same seed: identical ground truth, powers included"
    assert len(a.bursts) != len(c.bursts) or not np.array_equal(a.bursts.start_s, c.bursts.start_s)
