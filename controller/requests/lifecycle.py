"""The request status machine: which status may follow which, and who may cause each move."""

from __future__ import annotations

from controller.requests.errors import ConflictError

STATUSES = ("drafted", "authorised", "submitted", "acknowledged", "actioned", "rejected", "withdrawn", "expired")
OPEN_ORDER = ("submitted", "acknowledged")  # issued to the operator, outcome not yet known
_NEXT = {
    "drafted": {"authorised", "rejected", "withdrawn", "expired"},
    "authorised": {"submitted", "rejected", "withdrawn"},
    "submitted": {"acknowledged", "actioned", "rejected", "withdrawn", "expired"},
    "acknowledged": {"actioned", "rejected", "withdrawn", "expired"},
    # An operator acting after the deadline is still recorded, so the timeline stays true.
    "expired": {"actioned"},
    "actioned": set(),
    "rejected": set(),
    "withdrawn": set(),
}
OPERATOR_REPORTS = ("acknowledged", "actioned", "rejected")  # what an operator may report


def check_move(current: str, target: str) -> None:
    if target not in _NEXT.get(current, set()):
        allowed = ", ".join(sorted(_NEXT.get(current, set()))) or "nothing (final)"
        raise ConflictError(f"a {current} request cannot become {target}; from {current} it may become: {allowed}")
