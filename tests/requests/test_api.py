"""The requests API over a real controller app: roles and the two-person rule server-side, the lifecycle,
audited evidence downloads, and a clear 4xx for every kind of bad input."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from cellward.signing import Keyring
from controller.app import create_app
from controller.config import load_controller_config
from controller.runtime import Controller
from tests.controller.conftest import ADMIN_PASSWORD, write_config
from tests.requests.conftest import VALID_IMEI, seed_incident

PASSWORD = "a long enough test password"
USERS = {
    "officer1": ["officer"],
    "officer2": ["officer"],
    "dual": ["officer", "authoriser"],
    "auth1": ["authoriser"],
    "viewer1": ["viewer"],
    "auditor1": ["auditor"],
}


@dataclass
class Api:
    client: TestClient
    controller: Controller
    tokens: dict[str, str]

    def call(self, user: str | None, method: str, path: str, headers: dict | None = None, **kwargs):
        auth = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return self.client.request(method, path, headers={**auth, **(headers or {})}, **kwargs)

    def incident(self) -> str:
        return seed_incident(self.controller.sessions, time.time())

    def identified_case(self) -> str:
        case = self.call("officer1", "POST", "/api/cases", json={"incident_ids": [self.incident()]})
        assert case.status_code == 201, case.text
        identifier = {"kind": "imei", "value": VALID_IMEI, "source": "seized_handset", "source_reference": "JB/1"}
        added = self.call("officer1", "POST", f"/api/cases/{case.json()['id']}/identifiers", json=identifier)
        assert added.status_code == 201, added.text
        return case.json()["id"]

    def drafted(self, user: str = "officer1") -> str:
        response = self.call(user, "POST", "/api/requests", json={"case_id": self.identified_case(), "grounds": "x"})
        assert response.status_code == 201, response.text
        return response.json()["id"]


def _start(tmp_path, requests: dict | None) -> tuple[Controller, TestClient]:
    """A controller on SQLite (the API layer is engine-independent; test_workflow covers PostgreSQL)."""
    database_url = f"sqlite:///{tmp_path / 'controller.db'}"
    overrides = {"requests": requests} if requests is not None else {}
    Keyring().save(tmp_path / "keyring.json")  # no sensors publish in these tests
    path = write_config(tmp_path, database_url, 1, **overrides)
    controller = Controller.from_config(load_controller_config(path))
    controller.start(with_ingest=False)
    return controller, TestClient(create_app(controller))


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Api]:
    """One controller for the module: users are hashed with argon2 once, not per test."""
    tmp_path = tmp_path_factory.mktemp("api")
    requests = {
        "institution": "HMP Test",
        "evidence_dir": "evidence",
        "snippet_dir": "snippets",
        "operators": {"O2": {"adapter": "export_folder", "path": "export"}},
        "outbox": {"poll_s": 0.05, "base_delay_s": 0.1},
    }
    (tmp_path / "snippets").mkdir()
    patch = pytest.MonkeyPatch()
    patch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
    controller, client = _start(tmp_path, requests)
    try:
        tokens = {}
        for username, roles in USERS.items():
            controller.accounts.create_user(username, PASSWORD, roles)
            tokens[username] = controller.accounts.login(username, PASSWORD)[0]
        yield Api(client, controller, tokens)
    finally:
        controller.stop()
        patch.undo()


def _wait_status(api: Api, request_id: str, wanted: str, timeout_s: float = 10) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = api.call("viewer1", "GET", f"/api/requests/{request_id}").json()
        if body["status"] == wanted:
            return body
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} never became {wanted}; last {body['status']}")


def test_viewer_can_never_draft_and_drafter_can_never_authorise(api):
    incident = api.incident()
    assert api.call("viewer1", "POST", "/api/cases", json={"incident_ids": [incident]}).status_code == 403
    case_id = api.identified_case()
    refused = api.call("viewer1", "POST", "/api/requests", json={"case_id": case_id, "grounds": "x"})
    assert refused.status_code == 403 and "officer role" in refused.json()["detail"]
    request_id = api.drafted("dual")
    same_person = api.call("dual", "POST", f"/api/requests/{request_id}/authorise")
    assert same_person.status_code == 403 and "two-person rule" in same_person.json()["detail"]
    officer = api.call("officer2", "POST", f"/api/requests/{request_id}/authorise")
    assert officer.status_code == 403 and "authoriser role" in officer.json()["detail"]
    admin_token = api.controller.accounts.login("admin", ADMIN_PASSWORD)[0]
    admin = api.client.post(f"/api/requests/{request_id}/authorise", headers={"Authorization": f"Bearer {admin_token}"})
    assert admin.status_code == 403, "admin does not stand in for the authoriser role"
    authorised = api.call("auth1", "POST", f"/api/requests/{request_id}/authorise")
    assert authorised.status_code == 200 and authorised.json()["authorised_by"] == "auth1"


def test_lifecycle_over_http_with_audited_evidence_views(api):
    request_id = api.drafted()
    assert api.call("auth1", "POST", f"/api/requests/{request_id}/authorise").status_code == 200
    submitted = _wait_status(api, request_id, "submitted")  # delivered to the export folder by the runtime
    assert submitted["deadline"] is not None and submitted["pack_sha256"]
    actioned = api.call(
        "officer1",
        "POST",
        f"/api/requests/{request_id}/operator-status",
        json={"status": "actioned", "reference": "O2/TRO/123"},
    )
    assert actioned.status_code == 200 and actioned.json()["operator_reference"] == "O2/TRO/123"
    moves = [(t["to_status"], t["actor"]) for t in actioned.json()["transitions"]]
    assert moves == [
        ("drafted", "officer1"),
        ("authorised", "auth1"),
        ("submitted", "system"),
        ("actioned", "officer1"),
    ]
    assert api.call("viewer1", "GET", f"/api/requests/{request_id}/pack").status_code == 403
    pack = api.call("officer1", "GET", f"/api/requests/{request_id}/pack")
    assert pack.status_code == 200 and pack.json()["identifiers"][0]["value"] == VALID_IMEI
    report = api.call("auth1", "GET", f"/api/requests/{request_id}/report")
    assert report.status_code == 200 and "<svg" in report.text
    archive = api.call("auditor1", "GET", f"/api/requests/{request_id}/pack.zip")
    assert "manifest.sig" in zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    verification = api.call("officer1", "POST", f"/api/requests/{request_id}/verification")
    assert verification.status_code == 200 and verification.json()["result"] == "no activity so far"
    entries = api.call("auditor1", "GET", "/api/audit").json()
    views = [e for e in entries if e["action"] == "evidence.view" and e["target"] == f"request:{request_id}"]
    assert [e["actor"] for e in views] == ["officer1", "auth1", "auditor1"], "every view of evidence is audited"
    assert api.call("officer1", "GET", "/api/audit").status_code == 403
    assert api.call("auditor1", "GET", "/api/audit/verify").json()["ok"] is True


def test_requests_disabled_answers_404_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
    controller, client = _start(tmp_path, None)
    try:
        token = controller.accounts.login("admin", ADMIN_PASSWORD)[0]
        response = client.get("/api/requests", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404 and "not enabled" in response.json()["detail"]
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def targets(api) -> dict[str, str]:
    """A case still awaiting identification, an identified case, and a drafted request."""
    pending = api.call("officer1", "POST", "/api/cases", json={"incident_ids": [api.incident()]}).json()["id"]
    return {"{case}": api.identified_case(), "{pending}": pending, "{request}": api.drafted()}


BAD_INPUT = [
    # (user, method, path template, json, status, words in the detail)
    (None, "GET", "/api/requests", None, 401, "not logged in"),
    ("officer1", "POST", "/api/cases", {}, 422, "incident_ids"),
    ("officer1", "POST", "/api/cases", {"incident_ids": []}, 422, "incident_ids"),
    ("officer1", "POST", "/api/cases", {"incident_ids": ["nope"]}, 404, "no incident(s) nope"),
    ("officer1", "POST", "/api/cases", {"incident_ids": ["x"], "colour": "red"}, 422, "colour"),
    ("officer1", "POST", "/api/cases/nope/identifiers", "IMEI", 404, "no case nope"),
    (
        "officer1",
        "POST",
        "/api/cases/{case}/identifiers",
        {**{"kind": "imei", "value": "123"}, **{"source": "seized_handset", "source_reference": "1"}},
        422,
        "15 digits",
    ),
    (
        "officer1",
        "POST",
        "/api/cases/{case}/identifiers",
        {"kind": "shoe", "value": "9", "source": "other", "source_reference": "1"},
        422,
        "kind",
    ),
    ("officer1", "POST", "/api/cases/{case}/snippets", {"file": "../../etc/passwd"}, 422, "bare file name"),
    ("officer1", "POST", "/api/cases/{case}/snippets", {"file": "absent.sigmf-meta"}, 422, "absent.sigmf-meta"),
    ("officer1", "POST", "/api/requests", {"case_id": "{pending}", "grounds": "x"}, 409, "identification pending"),
    ("officer1", "POST", "/api/requests", {"case_id": "nope", "grounds": "x"}, 404, "no case nope"),
    ("officer1", "POST", "/api/requests", {"case_id": "{case}", "grounds": ""}, 422, "grounds"),
    (
        "officer1",
        "POST",
        "/api/requests",
        {"case_id": "{case}", "grounds": "x", "jurisdiction": "mars"},
        422,
        "unknown jurisdiction",
    ),
    (
        "officer1",
        "POST",
        "/api/requests",
        {"case_id": "{case}", "grounds": "x", "operator": "EE"},
        422,
        "holds none of the blocks",
    ),
    ("auth1", "POST", "/api/requests/nope/authorise", None, 404, "no request nope"),
    ("auth1", "POST", "/api/requests/{request}/reject", {"reason": ""}, 422, "reason"),
    ("officer1", "POST", "/api/requests/{request}/operator-status", {"status": "exploded"}, 422, "status"),
    (
        "officer1",
        "POST",
        "/api/requests/{request}/carve-outs",
        {"identifier_id": 1, "grounds": "outside", "reason": "r"},
        409,
        "issued orders",
    ),
    ("officer1", "POST", "/api/requests/{request}/verification", None, 409, "only actioned"),
    ("officer1", "GET", "/api/requests/{request}/pack", None, 409, "no evidence pack yet"),
    (
        "officer1",
        "POST",
        "/api/requests/{request}/operator-status",
        {"status": "actioned"},
        409,
        "cannot become actioned",
    ),
    ("viewer1", "GET", "/api/requests?status=bogus", None, 422, "status"),
    ("viewer1", "GET", "/api/requests?limit=0", None, 422, "limit"),
    ("auditor1", "GET", "/api/audit?after_seq=-1", None, 422, "after_seq"),
    ("officer1", "POST", "/api/requests/{request}/withdraw", "not json", 422, "json"),
]


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "code", "words"), BAD_INPUT, ids=[f"{r[1]} {r[2]} {r[4]}" for r in BAD_INPUT]
)
def test_bad_input_to_every_endpoint_gets_a_clear_4xx(api, targets, user, method, path, body, code, words):
    fill = targets
    for key, value in fill.items():
        path = path.replace(key, value)
    if body == "IMEI":
        body = {"kind": "imei", "value": VALID_IMEI, "source": "seized_handset", "source_reference": "1"}
    if isinstance(body, dict):
        body = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        response = api.call(user, method, path, json=body)
    elif isinstance(body, str):
        response = api.call(user, method, path, content=body, headers={"Content-Type": "application/json"})
    else:
        response = api.call(user, method, path)
    assert response.status_code == code, response.text
    assert words.lower() in response.text.lower(), f"the answer should say what was wrong: {response.text}"


def test_device_identifiers_are_not_shown_to_plain_viewers(api):
    case_id = api.identified_case()
    assert api.call("viewer1", "GET", f"/api/cases/{case_id}").status_code == 403
    detail = api.call("auditor1", "GET", f"/api/cases/{case_id}")
    assert detail.status_code == 200 and detail.json()["identifiers"][0]["value"] == VALID_IMEI
