from __future__ import annotations

import pytest

from controller.byte_budget_cache import ByteBudgetCache


def cache_of(budget: int) -> ByteBudgetCache[bytes]:
    return ByteBudgetCache(budget, len)


def test_least_recently_used_values_go_first_when_the_budget_is_exceeded():
    cache = cache_of(30)
    for key in "abc":
        cache.get_or_build(key, lambda: b"x" * 10)
    cache.get_or_build("a", lambda: pytest.fail("a was kept and must not be rebuilt"))
    cache.get_or_build("d", lambda: b"y" * 10)
    rebuilt = []
    cache.get_or_build("b", lambda: rebuilt.append("b") or b"z" * 10)
    assert rebuilt == ["b"], "b was the least recently used and should have been dropped"
    assert cache.bytes_held == 30
    assert len(cache) == 3


def test_bytes_held_are_the_newest_values_that_fit_the_budget():
    cache = cache_of(100)
    sizes = [40, 70, 10, 95, 5, 60, 33]
    held_after_each = [40, 70, 80, 95, 100, 65, 98]  # the longest run of newest values within 100 bytes
    for i, (size, held) in enumerate(zip(sizes, held_after_each, strict=True)):
        cache.get_or_build(i, lambda size=size: b"x" * size)
        assert cache.bytes_held == held


def test_a_value_larger_than_the_budget_is_returned_but_not_kept():
    cache = cache_of(10)
    cache.get_or_build("small", lambda: b"s" * 4)
    assert cache.get_or_build("big", lambda: b"b" * 11) == b"b" * 11
    assert len(cache) == 1 and cache.bytes_held == 4


@pytest.mark.parametrize("budget", [0, -1])
def test_a_budget_must_be_positive(budget):
    with pytest.raises(ValueError, match="budget"):
        cache_of(budget)
