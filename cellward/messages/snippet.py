"""A SigMF IQ snippet delivered to the controller in signed chunks (snippet.v1.json).

The sensor sends the .sigmf-data bytes in order, `CHUNK_BYTES` per message (base64 in `data`), each
chunk naming the capture (the capture_snippet command's id), its index, the byte offset, the total size
and the SHA-256 of the whole data file; chunk 0 also carries the .sigmf-meta object. The controller
reassembles the file and keeps it only when every chunk arrived and the SHA-256 (and the metadata's
own core:sha512) match. 48 KiB of data per chunk keeps every message near 64 KiB, far inside any broker's
packet limit.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from cellward.messages.envelope import Envelope
from cellward.messages.spectrum import B64, STREAM_ID

CHUNK_BYTES = 48 * 1024
MAX_SNIPPET_BYTES = 64 << 20  # a hard ceiling of the format; the controller enforces its own, lower one
MAX_CHUNKS = -(-MAX_SNIPPET_BYTES // CHUNK_BYTES)
MAX_META_BYTES = 16 * 1024  # a SigMF header is a few hundred bytes; annotations beyond this are refused


class SnippetChunk(Envelope):
    schema_name: Literal["cellward.snippet/1"] = Field(default="cellward.snippet/1", alias="schema")
    capture: str = Field(pattern=STREAM_ID, description="id of the capture_snippet command")
    index: int = Field(ge=0, lt=MAX_CHUNKS, description="chunk number, from 0")
    count: int = Field(ge=1, le=MAX_CHUNKS, description="chunks in the whole delivery")
    offset: int = Field(ge=0, lt=MAX_SNIPPET_BYTES, description="byte offset of `data` in the .sigmf-data file")
    total_bytes: int = Field(ge=1, le=MAX_SNIPPET_BYTES, description="size of the whole .sigmf-data file")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the whole .sigmf-data file, hex")
    meta: dict[str, Any] | None = Field(description="the .sigmf-meta object on chunk 0, None on the others")
    data: str = Field(pattern=B64, max_length=4 * CHUNK_BYTES // 3 + 4, description="this chunk's bytes, base64")

    @model_validator(mode="after")
    def _consistent(self) -> SnippetChunk:
        if self.index >= self.count:
            raise ValueError(f"index {self.index} is not below count {self.count}")
        if (self.meta is None) != (self.index > 0):
            raise ValueError("chunk 0, and only chunk 0, carries the SigMF metadata")
        if self.meta is not None and not {"global", "captures"} <= set(self.meta):
            raise ValueError("meta must be a SigMF metadata object with `global` and `captures`")
        if self.meta is not None and len(json.dumps(self.meta)) > MAX_META_BYTES:
            raise ValueError(f"meta is larger than {MAX_META_BYTES} bytes of JSON")
        if self.offset != self.index * CHUNK_BYTES:
            raise ValueError(f"chunk {self.index} must start at byte {self.index * CHUNK_BYTES}")
        if self.count != -(-self.total_bytes // CHUNK_BYTES):
            raise ValueError(f"{self.total_bytes} bytes make {-(-self.total_bytes // CHUNK_BYTES)} chunks")
        expected = min(CHUNK_BYTES, self.total_bytes - self.offset)
        if len(self.payload()) != expected:
            raise ValueError(f"chunk {self.index} must hold {expected} bytes")
        return self

    def payload(self) -> bytes:
        try:
            return base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("data is not standard base64") from None
