"""The JSON API and the session cookie: a browser sends the cookie with requests other sites start, so a
state-changing API call the cookie authenticates needs the session's CSRF token in X-CSRF-Token; a Bearer
token (which no browser sends on its own) needs none."""

from __future__ import annotations

import re

from tests.web.conftest import PASSWORD, log_in, page_csrf

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {"/api/auth/login"}  # no session yet: nothing to forge


def test_every_state_changing_api_call_refuses_the_cookie_without_the_token(client, app):
    log_in(client, "olive")
    routes = [
        (path, method.upper())
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/") and path not in PUBLIC
        for method in operations
        if method.upper() in STATE_CHANGING
    ]
    assert len(routes) > 15, "the API's state-changing routes are registered"
    for path, method in routes:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for headers in ({}, {"X-CSRF-Token": "0" * 64}):
            response = client.request(method, concrete, json={}, headers=headers)
            assert response.status_code == 403, f"{method} {path} with {headers or 'no token'}: {response.text}"
            assert "X-CSRF-Token" in response.json()["detail"]


def test_the_cookie_with_the_session_token_works(client, controller):
    log_in(client, "olive")
    csrf = page_csrf(client, "/blocking")
    response = client.post("/api/blocking/zones/cells-A/on", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    assert controller.blocking.policy.blocking_zones() == ["cells-A"]
    assert client.get("/api/blocking").status_code == 200, "reading needs no token"


def test_a_bearer_token_needs_no_csrf_token_even_beside_a_cookie(client, controller):
    log_in(client, "olive")  # the client also carries olive's cookie
    token = client.post("/api/auth/login", json={"username": "oscar", "password": PASSWORD}).json()["token"]
    response = client.post("/api/blocking/emergency-off", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert controller.blocking.policy.emergency_by == "oscar", "the Bearer token, not the cookie, is the caller"


def test_one_sessions_token_does_not_pass_with_anothers_cookie(client, app, controller):
    from fastapi.testclient import TestClient

    log_in(client, "olive")
    olive_token = page_csrf(client)
    with TestClient(app, base_url="http://127.0.0.1") as other:
        log_in(other, "oscar")
        response = other.post("/api/blocking/emergency-off", headers={"X-CSRF-Token": olive_token})
    assert response.status_code == 403
    assert controller.blocking.policy.emergency_by is None
