"""Ed25519-signed checkpoints of the audit chain's head: a rewrite of the log, even one that recomputes every
hash, no longer matches a checkpoint signed earlier with the controller's key."""

from __future__ import annotations

import base64
import binascii
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import BigInteger, Float, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cellward.signing import NodeKey
from controller.audit.chain import ChainBreak, canonical_bytes
from controller.audit.log import AuditEntry
from controller.db.base import Base


class AuditCheckpoint(Base):
    """A signed (seq, hash) of the chain's head; append-only like the log (database triggers)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    ts: Mapped[float] = mapped_column(Float)
    signer: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))

    def signed_bytes(self) -> bytes:
        return canonical_bytes(
            {"seq": self.seq, "hash": self.hash, "ts": self.ts, "signer": self.signer, "public_key": self.public_key}
        )


def write_checkpoint(session: Session, key: NodeKey, now: float | None = None) -> AuditCheckpoint | None:
    """Sign the current head in the caller's transaction; None when the log is empty or already checkpointed."""
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    last = session.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.id.desc()).limit(1))
    if last == head.seq:
        return None
    checkpoint = AuditCheckpoint(
        seq=head.seq,
        hash=head.hash,
        ts=time.time() if now is None else now,
        signer=key.sender,
        public_key=key.public_b64,
        signature="",
    )
    checkpoint.signature = key.sign(checkpoint.signed_bytes())
    session.add(checkpoint)
    session.flush()
    return checkpoint


def verify_checkpoints(session: Session, expected_public_key: str | None = None) -> ChainBreak | None:
    """The first checkpoint that is badly signed or that the chain no longer matches, as a ChainBreak."""
    for checkpoint in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        where = f"checkpoint {checkpoint.id} (seq {checkpoint.seq})"
        if expected_public_key is not None and checkpoint.public_key != expected_public_key:
            return ChainBreak(checkpoint.seq, f"{where} is signed by an unexpected key")
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key, validate=True))
            public.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
        except (binascii.Error, ValueError, InvalidSignature):
            return ChainBreak(checkpoint.seq, f"{where}: signature does not verify (checkpoint altered)")
        entry = session.get(AuditEntry, checkpoint.seq)
        if entry is None:
            return ChainBreak(checkpoint.seq, f"missing: {where} was signed when this entry existed")
        if entry.hash != checkpoint.hash:
            return ChainBreak(checkpoint.seq, f"hash differs from the one {where} signed (log rewritten)")
    return None
