"""Destroys detection data past the retention period unless a case or request holds it; audits each purge.

Detection data here is what the sensors gathered and the controller derived from it: incidents with their
activity, transitions and notes, raw reports and messages, and SigMF snippets in the snippet folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from controller.audit import record
from controller.db.incidents import IncidentRecord
from controller.db.reports import Message, Report
from controller.requests.models import CaseIncident, CaseSnippet, RequestIncident

log = logging.getLogger("cellward.controller.retention")
DAY_S = 86400.0


def purge_detection_data(db: Session, now: float, retention_days: float, snippet_dir: Path | None) -> dict:
    """Delete what ended before now - retention_days and is attached to nothing; return and audit the counts."""
    cutoff = now - retention_days * DAY_S
    attached = union(select(CaseIncident.incident_id), select(RequestIncident.incident_id))
    incidents = (
        db.execute(
            delete(IncidentRecord).where(IncidentRecord.last_seen < cutoff, IncidentRecord.id.not_in(attached))
        ).rowcount
        or 0
    )  # activity, transitions and notes go with them (ON DELETE CASCADE); alerts keep a NULL incident
    reports = db.execute(delete(Report).where(Report.received_at < cutoff)).rowcount or 0
    messages = db.execute(delete(Message).where(Message.received_at < cutoff)).rowcount or 0
    snippets = _purge_snippets(db, snippet_dir, cutoff)
    counts = {
        "cutoff": cutoff,
        "retention_days": retention_days,
        "incidents": incidents,
        "reports": reports,
        "messages": messages,
        "snippets": snippets,
    }
    record(db, "system", "retention.purge", "detection-data", counts, now)
    log.info("event=retention_purge %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _purge_snippets(db: Session, folder: Path | None, cutoff: float) -> int:
    if folder is None or not Path(folder).is_dir():
        return 0
    kept = set(db.scalars(select(CaseSnippet.path)))
    removed = 0
    for meta in Path(folder).glob("*.sigmf-meta"):
        if meta.name in kept or meta.stat().st_mtime >= cutoff:
            continue
        meta.with_name(meta.name.removesuffix(".sigmf-meta") + ".sigmf-data").unlink(missing_ok=True)
        meta.unlink()
        removed += 1
    return removed
