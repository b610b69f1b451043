"""Retention: detection data past the period is destroyed unless a case or request holds it; the purge is audited."""

from __future__ import annotations

import json
import os

from sqlalchemy import delete, func, select

from controller.audit import verify_database
from controller.audit.log import AuditEntry
from controller.db.incidents import IncidentActivity, IncidentRecord
from controller.requests.models import CaseIncident
from tests.requests.conftest import OFFICER, write_snippet

DAY_S = 86400.0


def _count(world, model, **where) -> int:
    with world.sessions() as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.scalar(query)


def test_purge_keeps_attached_evidence_and_destroys_the_rest(world):
    now = world.clock.now
    old_start = now - 120 * DAY_S  # four months ago: past the three-month default
    loose = world.seed_incident(start_s=old_start)
    in_case = world.seed_incident(start_s=old_start)
    world.workflow.open_case(OFFICER, [in_case])
    recent = world.seed_incident(start_s=now - 10 * DAY_S)
    old_snippet = write_snippet(world.config.snippet_dir, "old.sigmf-meta")
    kept_snippet = write_snippet(world.config.snippet_dir, "kept.sigmf-meta")
    case_id = world.workflow.open_case(OFFICER, [recent]).id
    world.workflow.attach_snippet(OFFICER, case_id, kept_snippet)
    for name in (old_snippet, kept_snippet):
        for suffix in (".sigmf-meta", ".sigmf-data"):
            path = world.config.snippet_dir / name.replace(".sigmf-meta", suffix)
            os.utime(path, (old_start, old_start))

    runtime = world.runtime()
    counts = runtime.purge()

    assert counts["incidents"] == 1 and counts["snippets"] == 1, counts
    assert _count(world, IncidentRecord, id=loose) == 0
    assert _count(world, IncidentActivity, incident_id=loose) == 0, "activity goes with its incident"
    assert _count(world, IncidentRecord, id=in_case) == 1, "an incident attached to a case is kept"
    assert _count(world, IncidentActivity, incident_id=in_case) == 5
    assert _count(world, IncidentRecord, id=recent) == 1, "recent data is kept"
    assert not (world.config.snippet_dir / old_snippet).exists()
    assert (world.config.snippet_dir / kept_snippet).exists(), "a snippet attached to a case is kept"
    with world.sessions() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "retention.purge"))
    details = json.loads(entry.details)
    assert entry.actor == "system" and details["incidents"] == 1 and details["retention_days"] == 92
    assert verify_database(world.sessions.kw["bind"].url).ok


def test_incidents_held_only_by_a_request_survive_the_purge(world):
    world.clock.now -= 120 * DAY_S
    case_id = world.identified_case()
    world.workflow.draft(OFFICER, case_id, "grounds")
    world.clock.now += 120 * DAY_S
    with world.sessions() as db:
        db.execute(delete(CaseIncident).where(CaseIncident.case_id == case_id))  # only the request holds it now
        db.commit()
    assert world.runtime().purge()["incidents"] == 0
