"""Append-only, hash-chained audit log: every action by a person or the system, verifiable end to end."""

from controller.audit.chain import GENESIS_HASH, ChainBreak, entry_hash, verify_entries
from controller.audit.log import AuditEntry, AuditReport, record, verify_database

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditReport",
    "ChainBreak",
    "entry_hash",
    "record",
    "verify_database",
    "verify_entries",
]
