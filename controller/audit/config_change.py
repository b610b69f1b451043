"""Audits configuration changes: at each start the config's digest is compared with the last one recorded."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controller.audit.log import AuditEntry, record

ACTIONS = ("config.loaded", "config.changed")


def record_config(sessions: sessionmaker[Session], config: BaseModel, source: str) -> str | None:
    """Record "config.changed" when the effective config differs from the last recorded one (first start:
    "config.loaded"); return the action written, or None when unchanged. Only a digest is stored: the config
    may hold password hashes."""
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
    with sessions() as db:
        last = db.scalar(
            select(AuditEntry.details).where(AuditEntry.action.in_(ACTIONS)).order_by(AuditEntry.seq.desc()).limit(1)
        )
        previous = json.loads(last)["sha256"] if last else None
        if previous == digest:
            return None
        action = "config.loaded" if previous is None else "config.changed"
        record(db, "system", action, f"config:{source}", {"sha256": digest, "previous_sha256": previous})
        db.commit()
        return action
