"""The audit log table and its two operations: `record` (append one entry) and `verify_database`."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float, String, Text, select, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Mapped, Session, mapped_column

from controller.audit.chain import GENESIS_HASH, ChainBreak, canonical_bytes, entry_hash, verify_entries
from controller.db.base import Base, make_engine

log = logging.getLogger("cellward.controller.audit")
# Key of the PostgreSQL advisory lock that serialises appends, so two writers never fork the chain.
_APPEND_LOCK_KEY = 0x63656C6C  # "cell"
SYSTEM_ACTOR = "system"


class AuditEntry(Base):
    """One audit entry. There is no update or delete path in code; database triggers refuse both."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(128))
    # Canonical JSON text, hashed exactly as stored (a JSON column could re-serialise it differently).
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def as_hashed(self) -> dict[str, Any]:
        try:
            details: Any = json.loads(self.details)
        except ValueError:
            details = self.details  # edited into something that is not JSON: the hash check names it
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    now: float | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits with the action it records).

    `actor` is a user name or "system"; `action` a dotted verb ("request.authorise"); `target` what it
    acted on ("request:42"); `details` any JSON-able mapping.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    elif dialect == "sqlite":
        _hold_sqlite_write_lock(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last is not None else (1, GENESIS_HASH)
    body = json.loads(canonical_bytes(details or {}))  # the JSON round trip is what verification will see
    fields = {
        "seq": seq,
        "ts": time.time() if now is None else now,
        "actor": actor,
        "action": action,
        "target": target,
        "details": body,
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(**{**fields, "details": canonical_bytes(body).decode()}, hash=entry_hash(fields))
    session.add(entry)
    session.flush()
    log.info("event=audit seq=%d actor=%s action=%s target=%s", seq, actor, action, target)
    return entry


def _hold_sqlite_write_lock(session: Session) -> None:
    """Take SQLite's write lock before reading the chain's head. The driver starts a transaction only at the
    first write, so a head read before it is not in one: two appends could read the same head and the second
    would fail on its seq. Already in a transaction, this connection wrote and so holds the lock."""
    driver = session.connection().connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")  # waits for other writers up to the busy timeout


@dataclass(frozen=True)
class AuditReport:
    """Outcome of a verification: entries that check out, the head hash, and the first break if any."""

    entries: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_session(session: Session, expect: tuple[int, str] | None = None) -> AuditReport:
    """The chain itself, then the signed checkpoints against it (the earlier problem wins)."""
    from controller.audit.checkpoint import verify_checkpoints  # the checkpoint table builds on this module

    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000)
    count, head, problem = verify_entries((row.as_hashed() for row in rows), expect)
    checkpoint_problem = verify_checkpoints(session)
    if checkpoint_problem is not None and (problem is None or checkpoint_problem.seq < problem.seq):
        problem = checkpoint_problem
    return AuditReport(count, head, problem)


def verify_database(url: str | URL, expect: tuple[int, str] | None = None) -> AuditReport:
    """Verify the whole audit log of the database at `url` (read only), against a noted head if given."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return verify_session(session, expect)
    finally:
        engine.dispose()
