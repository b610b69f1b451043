"""The audit log page (auditor role).

The tamper-evident audit trail belongs to controller/audit (h-requests), not merged yet; the page is
there, role-gated, and says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from controller.web.session import Auditor
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, viewer: Auditor) -> HTMLResponse:
    return render(request, "audit.html", viewer)
