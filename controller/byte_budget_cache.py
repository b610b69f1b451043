"""A least-recently-used cache bounded by the bytes its values hold, not by their number: the locator's per-room
tables grow with the number of sensors, so a count bound would let memory grow with the site."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteBudgetCache(Generic[V]):
    """Values kept while their sizes together stay within `budget_bytes`; the least recently used go first.
    A value larger than the whole budget is returned but not kept."""

    def __init__(self, budget_bytes: int, size_of: Callable[[V], int]) -> None:
        if budget_bytes <= 0:
            raise ValueError(f"cache budget must be positive, got {budget_bytes} bytes")
        self.budget_bytes = budget_bytes
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self.bytes_held = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry[0]
        value = build()
        size = self._size_of(value)
        if size > self.budget_bytes:
            return value
        self._entries[key] = (value, size)
        self.bytes_held += size
        while self.bytes_held > self.budget_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes_held -= dropped
        return value
