"""Delivering a recorded SigMF snippet to the controller: its data file as signed `snippet` chunks.

The chunks go through the spool like detections (QoS 1, kept on disk while the broker is away), so a
delivery survives an outage; a recording too large for the spool's bound is refused rather than allowed
to push everything else out of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from cellward.messages import CHUNK_BYTES, SnippetChunk
from cellward.messages.snippet import MAX_SNIPPET_BYTES


class SnippetNotDeliverable(Exception):  # noqa: N818 - a refusal the node reports, not a bug
    """Empty, or larger than the node may send; the recording stays on the node's disk."""


def delivery_limit_bytes(spool_max_bytes: int) -> int:
    """The largest recording the node sends: within the format's ceiling and half the spool's bound."""
    return min(MAX_SNIPPET_BYTES, spool_max_bytes // 2)


def snippet_chunks(
    meta_path: Path, site: str, sensor_id: str, capture_id: str, now_s: float, limit_bytes: int
) -> Iterator[SnippetChunk]:
    """The recording at `meta_path` as unnumbered chunks (the publisher numbers and signs them)."""
    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    data_path = Path(meta_path).with_suffix(".sigmf-data")
    total = data_path.stat().st_size
    if not 0 < total <= limit_bytes:
        raise SnippetNotDeliverable(f"{total} bytes: this node delivers 1 to {limit_bytes} bytes")
    digest = hashlib.sha256()
    with data_path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    count = -(-total // CHUNK_BYTES)
    with data_path.open("rb") as handle:
        for index in range(count):
            yield SnippetChunk(
                site=site,
                sender=sensor_id,
                ts=now_s,
                seq=1,
                capture=capture_id,
                index=index,
                count=count,
                offset=index * CHUNK_BYTES,
                total_bytes=total,
                sha256=digest.hexdigest(),
                meta=meta if index == 0 else None,
                data=base64.b64encode(handle.read(CHUNK_BYTES)).decode("ascii"),
            )
