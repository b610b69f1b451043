"""Blocking: the zones' state, manual switching, the second person's approval and emergency all-off.

Every call is audited by the blocking control, refusals included; the rules themselves (never-block
zones, two-person rule, emergency latch) are enforced below the API, in `controller/blocking/policy.py`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel

from controller.accounts import Principal
from controller.api.deps import AUTH_RESPONSES, Admin, ControllerDep, Officer, Reader, require
from controller.blocking.policy import BlockingRefused, Change

router = APIRouter(prefix="/api/blocking", tags=["blocking"], responses=AUTH_RESPONSES)
Approver = Annotated[Principal, Depends(require(frozenset({"officer", "authoriser"})))]
ZoneId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
UnitId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
REFUSED = {409: {"description": "The rules refuse it (never-block zone, emergency, no unit, two-person rule)"}}


class ChangeOut(BaseModel):
    zone_id: str
    on: bool
    reason: str
    actor: str
    at_s: float
    units: list[str]


def _out(changes: list[Change]) -> list[ChangeOut]:
    return [ChangeOut(**{**vars(c), "units": list(c.units)}) for c in changes]


def _act(controller: ControllerDep, who: Principal, what: str, zone_id: str, action) -> list[ChangeOut]:
    try:
        return _out(controller.blocking.act(who.username, what, zone_id, action))
    except BlockingRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None


@router.get("")
def blocking_state(_: Reader, controller: ControllerDep) -> dict[str, Any]:
    return controller.blocking.snapshot()


@router.post("/zones/{zone_id}/on", responses=REFUSED)
def switch_on(zone_id: ZoneId, who: Officer, controller: ControllerDep) -> list[ChangeOut]:
    """Switch a zone's blocking on; a sensitive zone then waits for a second person's approval."""
    policy = controller.blocking.policy
    return _act(controller, who, "on", zone_id, lambda now: policy.request_on(zone_id, who.username, now))


@router.post("/zones/{zone_id}/approve", responses=REFUSED)
def approve(zone_id: ZoneId, who: Approver, controller: ControllerDep) -> list[ChangeOut]:
    policy = controller.blocking.policy
    return _act(controller, who, "approve", zone_id, lambda now: policy.approve(zone_id, who.username, now))


@router.post("/zones/{zone_id}/off", responses=REFUSED)
def switch_off(zone_id: ZoneId, who: Officer, controller: ControllerDep) -> list[ChangeOut]:
    policy = controller.blocking.policy
    return _act(controller, who, "off", zone_id, lambda now: policy.request_off(zone_id, who.username, now))


@router.post("/emergency-off")
def emergency_off(who: Officer, controller: ControllerDep) -> list[ChangeOut]:
    """Everything off now, and nothing on again until an admin clears the emergency."""
    policy = controller.blocking.policy
    return _act(controller, who, "emergency", "*", lambda now: policy.emergency_all_off(who.username, now))


@router.post("/emergency-clear", status_code=204)
def emergency_clear(who: Admin, controller: ControllerDep) -> None:
    policy = controller.blocking.policy
    _act(controller, who, "emergency-clear", "*", lambda now: policy.clear_emergency(who.username))


@router.post("/units/{unit_id}/reset", status_code=204, responses=REFUSED)
def reset_unit(unit_id: UnitId, who: Admin, controller: ControllerDep) -> None:
    """Put a unit an interlock tripped back in service (admin only: it leaked or went silent). It is not
    switched on: that takes a new decision (manual, schedule or reactive) for one of its zones."""
    try:
        controller.blocking.reset_unit(who.username, unit_id)
    except BlockingRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None
