"""Actions taken through other parts of the controller are audited too: logins, failed logins, user changes,
incident transitions."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from cellward.signing import Keyring
from controller.accounts import LoginError
from controller.audit import verify_database
from controller.audit.config_change import record_config
from controller.audit.log import AuditEntry
from controller.config import load_controller_config
from controller.runtime import Controller
from tests.controller.conftest import ADMIN_PASSWORD, write_config
from tests.requests.conftest import seed_incident


@pytest.fixture
def controller(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
    Keyring().save(tmp_path / "keyring.json")
    controller = Controller.from_config(load_controller_config(write_config(tmp_path, f"sqlite:///{tmp_path}/c.db", 1)))
    controller.start(with_ingest=False)
    yield controller
    controller.stop()


def _entries(controller) -> list[tuple[str, str, str]]:
    with controller.sessions() as db:
        return [(e.actor, e.action, e.target) for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_logins_logouts_failed_logins_and_user_creation_are_audited(controller):
    controller.accounts.create_user("officer1", "a long enough password", ["officer"])
    token, _ = controller.accounts.login("officer1", "a long enough password")
    with pytest.raises(LoginError):
        controller.accounts.login("officer1", "wrong password")
    controller.accounts.logout(token)
    entries = _entries(controller)
    assert ("system", "user.create", "user:officer1") in entries
    assert ("officer1", "auth.login", "user:officer1") in entries
    assert ("officer1", "auth.login_failed", "user:officer1") in entries
    assert ("officer1", "auth.logout", "user:officer1") in entries
    assert controller.accounts.resolve(token) is None, "the session ends at logout"
    assert verify_database(controller.engine.url).ok


def test_incident_transitions_by_people_are_audited(controller):
    incident_id = seed_incident(controller.sessions, time.time())
    controller.incidents.transition(incident_id, "closed", "officer1", "cell searched, phone seized")
    with controller.sessions() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "incident.closed"))
    assert (entry.actor, entry.target) == ("officer1", f"incident:{incident_id}")
    assert json.loads(entry.details)["comment"] == "cell searched, phone seized"


def test_config_changes_are_audited_at_start(controller):
    assert record_config(controller.sessions, controller.config, "hmp-test") is None, "unchanged since start()"
    changed = controller.config.model_copy(update={"timezone": "Europe/Dublin"})
    assert record_config(controller.sessions, changed, "hmp-test") == "config.changed"
    assert [a for _, a, _ in _entries(controller) if a.startswith("config.")] == ["config.loaded", "config.changed"]
