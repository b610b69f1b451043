"""The durable outbox table: each message to an operator is a row until its delivery is confirmed."""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controller.db.base import Base


class OutboxMessage(Base):
    """One message to one operator; written in the same transaction as the state change that causes it."""

    __tablename__ = "operator_outbox"
    __table_args__ = (Index("ix_operator_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("disconnection_requests.id", ondelete="RESTRICT"), index=True)
    operator: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # issue | withdraw | carve_out
    # The operator sees the same key on every retry, so a retry after a lost response is not a second order.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON body
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    response: Mapped[dict | None] = mapped_column(JSON, nullable=True)
