"""Blocking: each zone's state and why, the policies in force, switching and approval, emergency all-off,
interlock alarms.

The rules (never-block zones, the two-person rule, the emergency latch) are enforced by the blocking
control below this page; a refusal comes back here as a message naming the rule.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from controller.blocking.policy import BlockingRefused
from controller.web.session import ControllerDep, Officer, Operator, Viewer, check_csrf, page_for
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


def _back(message: str | None = None) -> RedirectResponse:
    return RedirectResponse("/blocking" + (f"?message={quote(message)}" if message else ""), status.HTTP_303_SEE_OTHER)


@router.get("/blocking")
def blocking_page(
    request: Request, viewer: Operator, controller: ControllerDep, message: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "blocking.html",
        viewer,
        state=controller.blocking.snapshot(),
        policy=controller.blocking.policy.config,
        tz=controller.config.timezone,
        message=message,
    )


@router.post("/blocking/zones/{zone_id}/{action}")
def switch_zone(
    zone_id: str,
    action: Literal["on", "off", "approve"],
    viewer: Operator,
    controller: ControllerDep,
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    if action != "approve" and not viewer.may("officer"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "switching a zone needs the officer role")
    policy = controller.blocking.policy
    calls = {"on": policy.request_on, "off": policy.request_off, "approve": policy.approve}
    try:
        controller.blocking.act(
            viewer.username, action, zone_id, lambda now: calls[action](zone_id, viewer.username, now)
        )
    except BlockingRefused as refused:
        return _back(f"Refused: {refused}")
    return _back()


@router.post("/blocking/emergency-off")
def emergency_off(
    viewer: Officer, controller: ControllerDep, csrf: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    if confirm != "yes":
        return _back("Emergency all-off not sent: tick the confirmation box first.")
    policy = controller.blocking.policy
    controller.blocking.act(
        viewer.username, "emergency", "*", lambda now: policy.emergency_all_off(viewer.username, now)
    )
    return _back("Emergency all-off: every zone is off until an admin clears it.")


@router.post("/blocking/units/{unit_id}/reset")
def reset_unit(
    unit_id: str,
    viewer: Annotated[Viewer, Depends(page_for("admin"))],
    controller: ControllerDep,
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    try:
        controller.blocking.reset_unit(viewer.username, unit_id)
    except BlockingRefused as refused:
        return _back(f"Refused: {refused}")
    return _back(f"Unit {unit_id} is back in service; it stays off until a zone of it is switched on again.")
