"""End to end through a running controller: officer drafts, authoriser approves over the API, the controller
delivers to the mock operator over mutual TLS while the operator is down for a while, polls its outcome, and
the post-order check runs — the audit log verifies at the end."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from cellward.signing import Keyring
from controller.app import create_app
from controller.config import load_controller_config
from controller.runtime import Controller
from tests.controller.conftest import ADMIN_PASSWORD, write_config
from tests.requests.conftest import VALID_IMEI, seed_incident
from tests.requests.mock_server import MockOperatorServer
from tests.requests.tls import make_pki

PASSWORD = "a long enough test password"


def _wait(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.mark.slow
def test_request_reaches_the_operator_after_an_outage_and_comes_back_actioned(tmp_path, monkeypatch):
    pki = make_pki(tmp_path / "pki")
    operator = MockOperatorServer(pki)
    operator.state.action_after_s = 0.5
    monkeypatch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
    Keyring().save(tmp_path / "keyring.json")
    route = {
        "adapter": "webhook",
        "url": operator.url,
        "ca_file": "pki/ca.pem",
        "cert_file": "pki/client.pem",
        "key_file": "pki/client.key",
        "poll_interval_s": 0.2,
        "timeout_s": 2,
    }
    requests = {
        "institution": "HMP Test",
        "evidence_dir": "evidence",
        "operators": {"O2": route},
        "outbox": {"base_delay_s": 0.2, "max_delay_s": 0.5, "poll_s": 0.05},
    }
    config = load_controller_config(write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", 1, requests=requests))
    controller = Controller.from_config(config)
    controller.start(with_ingest=False)
    try:
        for name, roles in (("officer1", ["officer"]), ("auth1", ["authoriser"]), ("auditor1", ["auditor"])):
            controller.accounts.create_user(name, PASSWORD, roles)
        client = TestClient(create_app(controller))

        tokens = {
            user: client.post("/api/auth/login", json={"username": user, "password": PASSWORD}).json()["token"]
            for user in ("officer1", "auth1", "auditor1")
        }

        def call(user, method, path, **kwargs):
            return client.request(method, path, headers={"Authorization": f"Bearer {tokens[user]}"}, **kwargs)

        incident = seed_incident(controller.sessions, time.time())
        case_id = call("officer1", "POST", "/api/cases", json={"incident_ids": [incident]}).json()["id"]
        identifier = {"kind": "imei", "value": VALID_IMEI, "source": "seized_handset", "source_reference": "JB/1"}
        assert call("officer1", "POST", f"/api/cases/{case_id}/identifiers", json=identifier).status_code == 201
        request_id = call("officer1", "POST", "/api/requests", json={"case_id": case_id, "grounds": "x"}).json()["id"]
        assert call("auth1", "POST", f"/api/requests/{request_id}/authorise").status_code == 200

        time.sleep(1.0)  # the operator is not running yet: the outbox retries
        status = call("officer1", "GET", f"/api/requests/{request_id}").json()["status"]
        assert status == "authorised", "nothing can be delivered while the operator is down"
        operator.start()

        def actioned():
            body = call("officer1", "GET", f"/api/requests/{request_id}").json()
            return body if body["status"] == "actioned" else None

        body = _wait(actioned, 20, "the operator to report the order actioned")
        assert [t["to_status"] for t in body["transitions"]] == [
            "drafted",
            "authorised",
            "submitted",
            "acknowledged",
            "actioned",
        ]
        assert [t["actor"] for t in body["transitions"][2:]] == ["system", "operator:O2", "operator:O2"]
        assert len(operator.orders_for(request_id)) == 1, "one order at the operator despite the retries"
        check = call("officer1", "POST", f"/api/requests/{request_id}/verification").json()
        assert check["result"] == "no activity so far"
        assert call("auditor1", "GET", "/api/audit/verify").json()["ok"] is True
    finally:
        controller.stop()
        operator.stop()
