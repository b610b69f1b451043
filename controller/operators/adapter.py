"""The one interface every operator adapter implements, and what a delivery returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class DeliveryError(Exception):
    """A delivery that did not go through; `retryable` False means retrying cannot help (bad request)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one operator, as the outbox hands it to an adapter."""

    idempotency_key: str
    kind: str  # issue | withdraw | carve_out
    operator: str
    request_id: str
    body: dict[str, Any]  # the JSON document of firmware-interface/operator-webhook.openapi.yaml
    pack_path: Path | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """What the operator's side said: at least "submitted"; a webhook may already say acknowledged."""

    status: str = "submitted"  # submitted | acknowledged | actioned | rejected
    reference: str | None = None  # the operator's own reference for the order
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class OperatorAdapter(Protocol):
    """Delivers messages to one operator; `poll` reports an order's status when the channel allows it."""

    def deliver(self, message: OutgoingMessage) -> DeliveryResult: ...

    def poll(self, message: OutgoingMessage, reference: str | None) -> DeliveryResult | None: ...
