"""The HTTP API: login and roles on every route, no unauthenticated access but health, resources behave."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from controller.app import create_app
from tests.controller.conftest import ADMIN_PASSWORD

PUBLIC = {("/health", "GET"), ("/ready", "GET"), ("/api/auth/login", "POST")}


@pytest.fixture
def client(world):
    controller = world.start(with_ingest=False)
    with TestClient(create_app(controller)) as test_client:
        yield test_client


def login(client, username="admin", password=ADMIN_PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def make_user(client, admin_headers, username, roles) -> dict[str, str]:
    password = f"{username} password long enough"
    response = client.post(
        "/api/auth/users", json={"username": username, "password": password, "roles": roles}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    return login(client, username, password)


def api_routes(app):
    """Every operation of the OpenAPI document (what a client can discover)."""
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            yield path, method.upper()


def concrete(path: str) -> str:
    return (
        path.replace("{incident_id}", "nope")
        .replace("{alert_id}", "nope")
        .replace("{sensor_id}", "nope")
        .replace("{user_id}", "999")
    )


def test_every_route_but_health_refuses_unauthenticated_callers(client):
    routes = list(api_routes(client.app))
    assert len(routes) > 15, "the API should have its resources registered"
    for path, method in routes:
        if (path, method) in PUBLIC:
            continue
        response = client.request(method, concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a login"
    assert client.get("/health").status_code == 200
    assert client.get("/api/incidents", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_roles_decide_what_each_user_may_do(client):
    admin = login(client)
    viewer = make_user(client, admin, "viewer1", ["viewer"])
    officer = make_user(client, admin, "officer1", ["officer"])
    auditor = make_user(client, admin, "auditor1", ["auditor"])
    for headers in (viewer, officer, auditor, admin):
        assert client.get("/api/incidents", headers=headers).status_code == 200
        assert client.get("/api/sensors", headers=headers).status_code == 200
        assert client.get("/metrics", headers=headers).status_code == 200
    assert client.get("/api/reports", headers=viewer).status_code == 403, "raw reports are for officers"
    assert client.get("/api/reports", headers=officer).status_code == 200
    transition = {"status": "acknowledged"}
    assert client.post("/api/incidents/x/transition", json=transition, headers=viewer).status_code == 403
    assert client.post("/api/incidents/x/transition", json=transition, headers=officer).status_code == 404
    assert client.get("/api/auth/users", headers=officer).status_code == 403, "only admins manage users"
    assert client.get("/api/auth/users", headers=admin).status_code == 200


def test_login_sets_an_httponly_samesite_cookie_that_also_authenticates(client):
    response = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/auth/me").json()["username"] == "admin", "the cookie alone authenticates"
    assert client.post("/api/auth/logout").status_code == 403, "a state-changing call on the cookie needs the token"
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
    assert client.post("/api/auth/logout", headers=csrf).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_disabling_a_user_ends_their_sessions(client):
    admin = login(client)
    officer = make_user(client, admin, "officer2", ["officer"])
    users = {u["username"]: u for u in client.get("/api/auth/users", headers=admin).json()}
    client.patch(f"/api/auth/users/{users['officer2']['id']}", json={"active": False}, headers=admin)
    assert client.get("/api/auth/me", headers=officer).status_code == 401


def test_site_map_and_zones_come_from_the_site_model(client, world):
    admin = login(client)
    site_map = client.get("/api/site", headers=admin).json()
    assert len(site_map["rooms"]) == len(world.site.rooms)
    assert {s["id"] for s in site_map["sensors"]} == {s.id for s in world.site.sensors}
    zones = client.get("/api/zones", headers=admin).json()
    assert {z["id"] for z in zones} == {z.id for z in world.site.zones}


def test_sensors_never_heard_are_listed_unhealthy_and_health_is_degraded(client, world):
    admin = login(client)
    sensors = client.get("/api/sensors", headers=admin).json()
    assert {s["id"] for s in sensors} == {s.id for s in world.site.sensors}
    assert all(not s["healthy"] and "never been heard" in s["problems"][0] for s in sensors)
    health = client.get("/health").json()
    assert health["status"] == "degraded" and not health["safe_mode"]
    stats = client.get("/api/statistics", headers=admin).json()
    assert stats["sensors_total"] == len(world.site.sensors) and stats["sensors_healthy"] == 0


def test_the_live_stream_delivers_lifecycle_events_to_a_logged_in_viewer(client, world):
    import json
    import threading

    from controller.events import LifecycleEvent

    admin = login(client)
    viewer = make_user(client, admin, "viewer2", ["viewer"])
    event = LifecycleEvent("incident", "new", "i-1", None, {"id": "i-1", "status": "new"})
    received = threading.Event()

    def emit_until_received() -> None:
        # the stream subscribes some time after the request starts (long on a loaded box): an event
        # emitted before that is not for this viewer, so emit until one arrives
        while not received.wait(0.5):
            world.controller.bus.emit(event)

    emitter = threading.Thread(target=emit_until_received, daemon=True)
    emitter.start()
    try:
        with client.stream("GET", "/api/events", headers=viewer) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            lines = []
            for line in response.iter_lines():
                lines.append(line)
                if line.startswith("data:"):
                    break
    finally:
        received.set()
        emitter.join(5)
    assert "event: incident" in lines and "id: i-1" in lines
    assert json.loads(lines[-1].removeprefix("data: ")) == event.payload()
