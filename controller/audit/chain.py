"""The pure hash chain: how one audit entry's hash is computed and how a sequence of entries is checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64  # prev_hash of the first entry
HASHED_FIELDS = ("seq", "ts", "actor", "action", "target", "details", "prev_hash")


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8, no NaN: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the canonical JSON of the entry's hashed fields, prev_hash included."""
    return hashlib.sha256(canonical_bytes({name: entry[name] for name in HASHED_FIELDS})).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain stops being consistent, and why."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry seq={self.seq}: {self.problem}"


def verify_entries(
    entries: Iterable[Mapping[str, Any]], expect: tuple[int, str] | None = None
) -> tuple[int, str, ChainBreak | None]:
    """Walk entries in storage order; return (entries checked, head hash, first break or None).

    An edit changes the entry's hash; a deletion leaves a gap in seq and a prev_hash that no longer links;
    a reordering puts an entry whose own seq (inside its hash) disagrees with its place in the chain.
    `expect` is a (seq, hash) noted earlier outside the database (a printed head): the chain must still hold
    exactly that entry, which catches deletion of the newest entries and wholesale rewriting.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    for entry in entries:
        seq = entry["seq"]
        if seq != expected_seq:
            what = "missing (deleted)" if seq > expected_seq else "out of order"
            return count, prev, ChainBreak(seq, f"expected seq {expected_seq} here, found {seq}: entries {what}")
        if entry["prev_hash"] != prev:
            return count, prev, ChainBreak(seq, "prev_hash does not match the hash of the entry before it")
        if entry_hash(entry) != entry["hash"]:
            return count, prev, ChainBreak(seq, "content does not match its hash (the entry was edited)")
        if expect is not None and seq == expect[0] and entry["hash"] != expect[1]:
            return count, prev, ChainBreak(seq, f"hash differs from the noted head {expect[1]} (log rewritten)")
        prev = entry["hash"]
        expected_seq += 1
        count += 1
    if expect is not None and count < expect[0]:
        return (
            count,
            prev,
            ChainBreak(count + 1, f"missing: the noted head was seq {expect[0]} (newest entries deleted)"),
        )
    return count, prev, None
