"""Fixtures for the simulator tests: the small site and worlds built from scenario text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cellward.site import Site, load_site, small_site_path
from sim.scenario import parse_scenario
from sim.world import World


@pytest.fixture(scope="session")
def site() -> Site:
    return load_site(small_site_path())


@pytest.fixture(scope="session")
def make_world(site: Site) -> Callable[[str], World]:
    def build(text: str) -> World:
        return World(site, parse_scenario(text))

    return build
