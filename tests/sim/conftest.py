"""Fixtures for the simulator tests: the small site and worlds built from scenario text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.sim import stand_in_site

stand_in_site.install()

from sim.scenario import parse_scenario  # noqa: E402 - after the site package is in place
from sim.world import World  # noqa: E402


@pytest.fixture(scope="session")
def site():
    return stand_in_site.small_site()


@pytest.fixture(scope="session")
def make_world(site) -> Callable[[str], World]:
    def build(text: str) -> World:
        return World(site, parse_scenario(text))

    return build
