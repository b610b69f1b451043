"""Sites loaded once per test session (parsing the 480-cell reference site takes a few seconds)."""

from __future__ import annotations

import pytest

from cellward.site import Site, load_site, reference_site_path, small_site_path


@pytest.fixture(scope="session")
def small_site() -> Site:
    return load_site(small_site_path())


@pytest.fixture(scope="session")
def reference_site() -> Site:
    return load_site(reference_site_path())
