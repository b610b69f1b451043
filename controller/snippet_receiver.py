"""IQ snippets delivered by sensors: chunks reassembled on disk, verified, filed and linked to their incident.

Only captures the controller asked for are accepted (an `incident_captures` row with the chunk's command
id and sensor). Chunks are written at their offset into a partial file in `<snippet folder>/.partial/`;
when all have arrived the data must hash to the declared SHA-256 and open as a SigMF recording whose
core:sha512 matches. Then the pair is moved into the snippet folder (where the requests workflow attaches
snippets from), the capture row records file, hash and size, and the audit log says so. Anything else
is refused with a counted reason and leaves nothing in the folder. Which chunks have arrived is kept
beside the partial file (`.progress`), so an assembly carries on after a controller restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from cellward.messages import CommandState, SnippetChunk
from cellward.recording import RecordingError, open_recording
from controller.audit import record
from controller.db.captures import IncidentCapture

if TYPE_CHECKING:
    from controller.runtime import Controller

log = logging.getLogger("cellward.controller.snippets")


class SnippetRejected(Exception):  # noqa: N818 - carries the counted reason
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class _Assembly:
    total_bytes: int
    count: int
    sha256: str
    meta: dict | None = None
    received: set[int] = field(default_factory=set)

    def to_json(self) -> str:
        fields = {"total_bytes": self.total_bytes, "count": self.count, "sha256": self.sha256, "meta": self.meta}
        return json.dumps(fields | {"received": sorted(self.received)})

    @classmethod
    def from_json(cls, text: str) -> _Assembly:
        fields = json.loads(text)
        return cls(**(fields | {"received": set(fields["received"])}))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SnippetReceiver:
    def __init__(self, controller: Controller) -> None:
        self.sessions = controller.sessions
        self.clock = controller.clock
        requests = controller.config.requests
        self.folder: Path | None = requests.snippet_dir if requests is not None else None
        self.max_bytes = controller.config.captures.max_bytes
        self._assemblies: dict[tuple[str, str], _Assembly] = {}

    def add(self, chunk: SnippetChunk) -> IncidentCapture | None:
        """Take one verified chunk; returns the capture when this chunk completed it. Raises SnippetRejected."""
        if self.folder is None:
            raise SnippetRejected("snippet_disabled", "no requests.snippet_dir is configured: snippets are refused")
        key = (chunk.sender, chunk.capture)
        with self.sessions() as db:
            capture = db.scalar(
                select(IncidentCapture).where(
                    IncidentCapture.command_id == chunk.capture, IncidentCapture.sensor_id == chunk.sender
                )
            )
            if capture is None:
                raise SnippetRejected(
                    "snippet_unsolicited", f"{chunk.sender} sent capture {chunk.capture}, not asked for"
                )
            if capture.status != "requested":
                return None  # already filed (a redelivery) or already refused
            try:
                done = self._write(key, chunk)
                if not done:
                    return None
                name, size = self._file(key, chunk)
            except SnippetRejected as exc:
                self._discard(key)
                capture.status, capture.detail = "failed", str(exc)
                record(
                    db,
                    "system",
                    "incident.snippet_refused",
                    f"incident:{capture.incident_id}",
                    {"capture": chunk.capture, "sensor": chunk.sender, "reason": exc.reason, "detail": str(exc)},
                )
                db.commit()
                raise
            capture.status, capture.file, capture.sha256 = "received", name, chunk.sha256
            capture.size_bytes, capture.received_at = size, self.clock()
            record(
                db,
                "system",
                "incident.snippet_received",
                f"incident:{capture.incident_id}",
                {"capture": chunk.capture, "sensor": chunk.sender, "file": name, "sha256": chunk.sha256, "bytes": size},
                self.clock(),
            )
            db.commit()
            db.refresh(capture)
            db.expunge(capture)
            return capture

    def chunks_held(self, sensor_id: str, capture_id: str) -> int:
        """Chunks of a capture already written to its partial file (kept across restarts)."""
        assembly = self._assembly((sensor_id, capture_id))
        return len(assembly.received) if assembly is not None else 0

    def discard(self, sensor_id: str, capture_id: str) -> None:
        """Forget a capture's partial delivery (it expired)."""
        self._discard((sensor_id, capture_id))

    def acknowledged(self, answer: CommandState) -> None:
        """A sensor's answer to capture_snippet: a refusal or failure ends the capture with its reason."""
        if answer.command != "capture_snippet" or answer.result not in ("rejected", "failed") or answer.id is None:
            return
        with self.sessions() as db:
            capture = db.scalar(
                select(IncidentCapture).where(
                    IncidentCapture.command_id == answer.id, IncidentCapture.sensor_id == answer.sender
                )
            )
            if capture is None or capture.status != "requested":
                return
            capture.status, capture.detail = "failed", f"{answer.sender} {answer.result} it: {answer.detail}"
            db.commit()

    # -- assembly -----------------------------------------------------------------------------------------

    def _partial(self, key: tuple[str, str]) -> Path:
        assert self.folder is not None
        return self.folder / ".partial" / f"{key[0]}-{key[1]}.part"

    def _progress(self, key: tuple[str, str]) -> Path:
        return self._partial(key).with_suffix(".progress")

    def _assembly(self, key: tuple[str, str]) -> _Assembly | None:
        """The assembly in memory or, after a restart, as its progress file left it."""
        if key not in self._assemblies and self.folder is not None and self._progress(key).exists():
            self._assemblies[key] = _Assembly.from_json(self._progress(key).read_text(encoding="utf-8"))
        return self._assemblies.get(key)

    def _write(self, key: tuple[str, str], chunk: SnippetChunk) -> bool:
        """Write the chunk at its offset; True when the capture is complete."""
        if chunk.total_bytes > self.max_bytes:
            raise SnippetRejected(
                "snippet_oversize", f"{chunk.total_bytes} bytes is more than the {self.max_bytes} accepted"
            )
        assembly = self._assembly(key)
        if assembly is None:
            assembly = self._assemblies[key] = _Assembly(chunk.total_bytes, chunk.count, chunk.sha256)
        elif (assembly.total_bytes, assembly.count, assembly.sha256) != (chunk.total_bytes, chunk.count, chunk.sha256):
            raise SnippetRejected("snippet_corrupt", f"chunk {chunk.index} describes a different recording")
        if chunk.meta is not None:
            assembly.meta = chunk.meta
        path = self._partial(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("r+b" if path.exists() else "wb") as handle:
            handle.seek(chunk.offset)
            handle.write(chunk.payload())
            handle.flush()
            os.fsync(handle.fileno())
        assembly.received.add(chunk.index)
        staged = self._progress(key).with_suffix(".progress-new")
        staged.write_text(assembly.to_json(), encoding="utf-8")
        staged.replace(self._progress(key))  # the data is on disk before the progress says so
        return len(assembly.received) == assembly.count

    def _file(self, key: tuple[str, str], chunk: SnippetChunk) -> tuple[str, int]:
        """Verify the complete recording and move it into the snippet folder; returns (meta file name, bytes)."""
        assert self.folder is not None
        assembly = self._assemblies[key]
        partial = self._partial(key)
        if partial.stat().st_size != assembly.total_bytes or sha256_of(partial) != assembly.sha256:
            raise SnippetRejected("snippet_corrupt", "the reassembled data does not match its SHA-256")
        base = f"{key[0]}-{key[1]}"
        staged_meta = partial.with_name(base + ".sigmf-meta")
        staged_data = partial.with_name(base + ".sigmf-data")
        staged_meta.write_text(json.dumps(assembly.meta, indent=2), encoding="utf-8")
        partial.replace(staged_data)
        try:
            open_recording(staged_meta, verify_checksum=True)
        except RecordingError as exc:
            raise SnippetRejected("snippet_corrupt", f"not a usable SigMF recording: {exc}") from None
        staged_data.replace(self.folder / staged_data.name)
        staged_meta.replace(self.folder / staged_meta.name)
        self._progress(key).unlink(missing_ok=True)
        del self._assemblies[key]
        log.info("event=snippet_received sensor=%s capture=%s bytes=%d", key[0], key[1], assembly.total_bytes)
        return staged_meta.name, assembly.total_bytes

    def _discard(self, key: tuple[str, str]) -> None:
        self._assemblies.pop(key, None)
        if self.folder is None:
            return
        for path in self._partial(key).parent.glob(f"{key[0]}-{key[1]}.*"):
            path.unlink(missing_ok=True)
