"""Audits what people do through other parts of the controller (logins, user administration, incident
transitions and notes, alert acknowledgements) by watching the ORM, so those parts need no audit calls.

Changes are collected after each flush (when SQLAlchemy still shows what was new or dirty) and written
just before the commit, in the same transaction: the action and its audit entry commit or fail together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from controller.audit.log import AuditEntry, record
from controller.db.auth import AuthSession, User
from controller.db.incidents import AlertRecord, IncidentNote, IncidentTransition

_PENDING = "cellward_audit_pending"
Pending = tuple[str, str, str, dict[str, Any]]  # actor, action, target, details


def _changed(obj: Any, name: str) -> tuple[Any, Any] | None:
    history = inspect(obj).attrs[name].history
    if not history.has_changes():
        return None
    return (history.deleted[0] if history.deleted else None, history.added[0] if history.added else None)


def _user_events(user: User, new: bool) -> list[Pending]:
    if new:
        return [("system", "user.create", f"user:{user.username}", {"roles": list(user.roles)})]
    events = []
    failed = _changed(user, "failed_logins")
    locked = _changed(user, "locked_until")
    if (failed and (failed[1] or 0) > (failed[0] or 0)) or (locked and locked[1] is not None):
        events.append((user.username, "auth.login_failed", f"user:{user.username}", {"locked": locked is not None}))
    changes = {}
    for name in ("roles", "active", "display_name", "password_hash"):
        change = _changed(user, name)
        if change is not None:
            changes[name] = "changed" if name == "password_hash" else [change[0], change[1]]
    if changes:
        events.append(("system", "user.update", f"user:{user.username}", changes))
    return events


def _collect(session: Session, _context) -> None:
    pending: list[Pending] = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if isinstance(obj, AuthSession):
            pending.append(("", "auth.login", f"user-id:{obj.user_id}", {"session": obj.id}))
        elif isinstance(obj, User):
            pending += _user_events(obj, new=True)
        elif isinstance(obj, IncidentTransition):
            details = {"from": obj.from_status, "to": obj.to_status, "comment": obj.comment}
            pending.append((obj.actor, f"incident.{obj.to_status}", f"incident:{obj.incident_id}", details))
        elif isinstance(obj, IncidentNote):
            pending.append((obj.author, "incident.note", f"incident:{obj.incident_id}", {"note": obj.id}))
    for obj in session.deleted:
        if isinstance(obj, AuthSession):
            pending.append(("", "auth.logout", f"user-id:{obj.user_id}", {"session": obj.id}))
    for obj in session.dirty:
        if isinstance(obj, User):
            pending += _user_events(obj, new=False)
        elif isinstance(obj, AlertRecord):
            change = _changed(obj, "acknowledged_by")
            if change is not None and change[1]:
                pending.append((change[1], "alert.acknowledge", f"alert:{obj.id}", {"rule": obj.rule}))


def _write(session: Session) -> None:
    session.flush()  # commit flushes only after before_commit: flush now so _collect sees the changes
    pending = session.info.pop(_PENDING, [])
    for actor, action, target, details in pending:
        if action in ("auth.login", "auth.logout"):  # the user name is known only through the user id
            user = session.get(User, int(target.removeprefix("user-id:")))
            actor, target = (user.username, f"user:{user.username}") if user else ("unknown", target)
        record(session, actor, action, target, details)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install(sessions: sessionmaker[Session]) -> None:
    """Audit the people-driven changes made through sessions from this factory."""
    event.listen(sessions, "after_flush", _collect)
    event.listen(sessions, "before_commit", _write)
    event.listen(sessions, "after_rollback", _forget)


__all__ = ["AuditEntry", "install"]
