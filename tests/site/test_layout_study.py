"""The layout study that justifies the default sensor density runs and scores a site sensibly."""

from __future__ import annotations

from cellward.site import Site
from cellward.site.layout_study import score_layout


def test_layout_study_places_every_small_site_phone_in_the_right_wing_and_mostly_the_right_landing(
    small_site: Site,
) -> None:
    score = score_layout(small_site, sigma_db=4.0, trials=2)
    assert score.sensors == 4 and score.trials == 2
    assert score.wing == 1.0, "one wing: nothing to confuse"
    assert score.landing >= 0.9, f"a 15 dB slab separates the landings, got {score.landing:.2f}"
    assert score.landing >= score.within_one_cell >= score.cell > 1 / 16, "better than guessing among 16 cells"
