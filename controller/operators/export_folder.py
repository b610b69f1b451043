"""Operator adapter that writes each message (and the pack of an issue) into a folder for manual/SFTP transfer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from controller.operators.adapter import DeliveryError, DeliveryResult, OutgoingMessage
from controller.requests.config import ExportFolderRoute


class ExportFolderAdapter:
    """One sub-folder per message, named by request, kind and idempotency key, made visible by one rename."""

    def __init__(self, route: ExportFolderRoute) -> None:
        self.root = Path(route.path)

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        final = self.root / f"{message.request_id}-{message.kind}-{message.idempotency_key}"
        if final.exists():  # written before a crash that lost the outbox update: same message, not a new one
            return DeliveryResult(detail={"folder": str(final)})
        staging = self.root / f".partial-{message.idempotency_key}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            (staging / "request.json").write_text(json.dumps(message.body, indent=2, sort_keys=True), encoding="utf-8")
            if message.kind == "issue" and message.pack_path is not None:
                shutil.copytree(message.pack_path, staging / "evidence-pack")
            os.replace(staging, final)  # a picker-up never sees a half-written folder
        except OSError as exc:
            raise DeliveryError(f"export folder {self.root}: {exc.strerror or exc}") from None
        return DeliveryResult(detail={"folder": str(final)})

    def poll(self, message: OutgoingMessage, reference: str | None) -> DeliveryResult | None:
        return None  # outcomes come back on paper: an officer records them
