"""Disconnection requests' status changes as lifecycle events, once their transaction has committed.

Every status change goes through the workflow (`draft`, `_move`), in whichever transaction the caller
commits (the outbox's delivery too). The workflow notes the request and its state before the change on
the session; at commit one event per request carries that state and the committed one, so nothing
rolled back is ever published and several moves in one transaction are one change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.db.base import pending_at_commit
from controller.events import LifecycleEvent
from controller.requests.models import DisconnectionRequest, RequestIncident, RequestTransition

FINAL = ("actioned", "rejected", "withdrawn")  # nothing follows these (an expired order may still be actioned)
_PENDING = "request_changes"  # per transaction: noted {request id: [request, state before, actor]}, then events


def request_state(db: Session, request: DisconnectionRequest, changed_by: str) -> dict[str, Any]:
    """What crosses to the estate (controller.request.v1.json): no grounds, reasons, identifiers or evidence."""
    incident_ids = db.scalars(
        select(RequestIncident.incident_id)
        .where(RequestIncident.request_id == request.id)
        .order_by(RequestIncident.incident_id)
    )
    return {
        "id": request.id,
        "case_id": request.case_id,
        "status": request.status,
        "operator": request.operator,
        "jurisdiction": request.jurisdiction,
        "incident_ids": list(incident_ids),
        "drafted_by": request.drafted_by,
        "drafted_at": request.drafted_at,
        "authorised_by": request.authorised_by,
        "authorised_at": request.authorised_at,
        "submitted_at": request.submitted_at,
        "acknowledged_at": request.acknowledged_at,
        "actioned_at": request.actioned_at,
        "deadline": request.deadline,
        "operator_reference": request.operator_reference,
        "changed_by": changed_by,
        "updated_at": request.updated_at,
    }


class RequestChanges:
    """Collects status changes per session and hands each committed one to `sink` (the MQTT publisher)."""

    def __init__(self, sink: Callable[[LifecycleEvent], None]) -> None:
        self.sink = sink

    def note(self, db: Session, request: DisconnectionRequest, actor: str, new: bool = False) -> None:
        """Before `request`'s status changes (after adding it, when `new`)."""
        noted = pending_at_commit(db, _PENDING, self._prepare, self._emit).setdefault("noted", {})
        if request.id in noted:
            noted[request.id][2] = actor
        else:
            before = None if new else request_state(db, request, self._last_actor(db, request))
            noted[request.id] = [request, before, actor]

    @staticmethod
    def _prepare(db: Session, pending: dict) -> None:
        pending["events"] = [
            LifecycleEvent(
                "request",
                "new" if before is None else "end" if request.status in FINAL else "update",
                request.id,
                before,
                request_state(db, request, actor),
            )
            for request, before, actor in pending["noted"].values()
        ]

    def _emit(self, _db: Session, pending: dict) -> None:
        for change in pending.get("events", []):
            self.sink(change)

    @staticmethod
    def _last_actor(db: Session, request: DisconnectionRequest) -> str:
        return (
            db.scalar(
                select(RequestTransition.actor)
                .where(RequestTransition.request_id == request.id)
                .order_by(RequestTransition.id.desc())
                .limit(1)
            )
            or request.drafted_by
        )
