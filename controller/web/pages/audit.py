"""The audit log page (auditor role): search the hash-chained log and show whether the chain verifies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import or_, select

from controller.audit.log import AuditEntry, verify_session
from controller.web.session import Auditor, ControllerDep
from controller.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


@router.get("/audit")
def audit_page(
    request: Request,
    viewer: Auditor,
    controller: ControllerDep,
    q: Annotated[str, Query(max_length=200, description="Text in the action, target or details")] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> HTMLResponse:
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if q:
        pattern = f"%{q}%"
        query = query.where(
            or_(AuditEntry.action.ilike(pattern), AuditEntry.target.ilike(pattern), AuditEntry.details.ilike(pattern))
        )
    with controller.sessions() as db:
        # Verification walks the whole chain every time: a page that said "verified" from a cache could lie.
        report = verify_session(db)
        entries = list(db.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return render(
        request,
        "audit.html",
        viewer,
        entries=entries[:PAGE_SIZE],
        more=len(entries) > PAGE_SIZE,
        page=page,
        q=q,
        actor=actor,
        report=report,
    )
