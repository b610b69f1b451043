"""The durable outbox: messages are rows written with the state change that causes them, then delivered
by one dispatcher with exponential backoff until the operator confirms; a message is never lost (it is a
row until delivered) and never a second order (the idempotency key travels with every retry)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controller.audit import record
from controller.audit.chain import canonical_bytes
from controller.operators.adapter import DeliveryError, DeliveryResult, OperatorAdapter, OutgoingMessage
from controller.operators.outbox_model import OutboxMessage
from controller.requests.config import OutboxConfig

log = logging.getLogger("cellward.controller.outbox")
OnDelivered = Callable[[Session, OutboxMessage, DeliveryResult], None]


def enqueue(db: Session, request_id: str, operator: str, kind: str, body: dict[str, Any], now: float) -> OutboxMessage:
    """Add a message in the caller's transaction; it is delivered only if that transaction commits."""
    key = str(uuid.uuid4())
    message = OutboxMessage(
        request_id=request_id,
        operator=operator,
        kind=kind,
        idempotency_key=key,
        payload=canonical_bytes({**body, "idempotency_key": key, "kind": kind}).decode(),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(message)
    db.flush()
    return message


def outgoing(message: OutboxMessage, pack_path: str | None) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=message.idempotency_key,
        kind=message.kind,
        operator=message.operator,
        request_id=message.request_id,
        body=json.loads(message.payload),
        pack_path=Path(pack_path) if pack_path else None,
    )


def backoff_s(attempts: int, config: OutboxConfig) -> float:
    """Delay before the next attempt after `attempts` failures: base * 2^(attempts-1), capped."""
    return min(config.base_delay_s * 2 ** max(attempts - 1, 0), config.max_delay_s)


class OutboxDispatcher:
    """Delivers due messages one at a time through the operator's adapter (called by the requests runtime)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        adapters: dict[str, OperatorAdapter],
        config: OutboxConfig,
        on_delivered: OnDelivered,
        pack_path_of: Callable[[Session, str], str | None],
        should_send: Callable[[Session, OutboxMessage], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.config = config
        self.on_delivered = on_delivered
        self.pack_path_of = pack_path_of
        self.should_send = should_send
        self.clock = clock

    def run_once(self) -> int:
        """Attempt every due message once; return how many were delivered."""
        now = self.clock()
        with self.sessions() as db:
            due = db.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
            ).all()
        return sum(self._attempt(message_id) for message_id in due)

    def _attempt(self, message_id: int) -> bool:
        with self.sessions() as db:
            # Row lock on PostgreSQL so a second controller process never sends the same row concurrently.
            message = db.scalar(
                select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update(skip_locked=True)
            )
            if message is None or message.status != "pending":
                return False
            if not self.should_send(db, message):
                message.status = "cancelled"
                record(db, "system", "outbox.cancel", f"request:{message.request_id}", {"message": message.id})
                db.commit()
                return False
            adapter = self.adapters.get(message.operator)
            now = self.clock()
            try:
                if adapter is None:
                    raise DeliveryError(f"no delivery route configured for operator {message.operator}")
                result = adapter.deliver(outgoing(message, self.pack_path_of(db, message.request_id)))
            except DeliveryError as exc:
                self._failed(db, message, exc, now)
                return False
            message.status = "delivered"
            message.delivered_at = now
            message.attempts += 1
            message.response = {"status": result.status, "reference": result.reference, "reason": result.reason}
            record(
                db,
                "system",
                "outbox.delivered",
                f"request:{message.request_id}",
                {
                    "message": message.id,
                    "kind": message.kind,
                    "operator": message.operator,
                    "attempts": message.attempts,
                },
                now=now,
            )
            self.on_delivered(db, message, result)
            db.commit()
            log.info(
                "event=outbox_delivered request=%s operator=%s kind=%s attempts=%d",
                message.request_id,
                message.operator,
                message.kind,
                message.attempts,
            )
            return True

    def _failed(self, db: Session, message: OutboxMessage, exc: DeliveryError, now: float) -> None:
        error = str(exc)
        message.attempts += 1
        message.last_error = error[:2000]
        message.next_attempt_at = now + backoff_s(message.attempts, self.config)
        if not exc.retryable:
            # The operator refused the message itself (malformed, unknown route): a person must look at it.
            message.status = "dead"
            record(
                db, "system", "outbox.dead", f"request:{message.request_id}", {"message": message.id, "error": error}
            )
        db.commit()
        log.warning(
            "event=outbox_retry request=%s operator=%s attempts=%d next_in_s=%.1f error=%s",
            message.request_id,
            message.operator,
            message.attempts,
            message.next_attempt_at - now,
            error,
        )
