"""The spectrum and capture routes over HTTP: who may do what, CSRF, and clear refusals (no broker here)."""

from __future__ import annotations

import time

from sqlalchemy import select

from controller.db.captures import IncidentCapture
from controller.db.incidents import IncidentRecord
from tests.web.conftest import SENSOR_IDS, Phone, log_in, page_csrf, record, sighting

SENSOR = SENSOR_IDS[0]


def _incident(controller) -> str:
    record(controller, sighting(Phone("A-0-01"), time.time()))
    with controller.sessions() as db:
        return db.scalars(select(IncidentRecord.id)).one()


def test_the_spectrum_stream_needs_a_login_and_starting_it_needs_an_officer(client):
    assert client.get(f"/api/sensors/{SENSOR}/spectrum").status_code == 401
    assert client.post(f"/api/sensors/{SENSOR}/spectrum", json={"duration_s": 10}).status_code == 401
    log_in(client, "vera")  # a viewer
    page = client.get(f"/sensors/{SENSOR}/spectrum")
    assert page.status_code == 200 and "An officer starts a sensor's stream" in page.text
    assert 'id="start-stream"' not in page.text
    csrf = page_csrf(client, f"/sensors/{SENSOR}/spectrum")
    refused = client.post(f"/sensors/{SENSOR}/spectrum", data={"duration_s": 60, "csrf": csrf})
    assert refused.status_code == 403
    api = client.post(f"/api/sensors/{SENSOR}/spectrum", json={"duration_s": 10}, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403 and "roles" in api.json()["detail"]


def test_an_officer_is_told_plainly_when_no_command_can_reach_the_sensor(client, controller):
    log_in(client, "olive")
    csrf = page_csrf(client, f"/sensors/{SENSOR}/spectrum")
    assert client.post(f"/sensors/{SENSOR}/spectrum", data={"duration_s": 60}).status_code == 403, "CSRF"
    answer = client.post(f"/sensors/{SENSOR}/spectrum", data={"duration_s": 60, "csrf": csrf})
    assert answer.status_code == 409 and "not connected to the broker" in answer.text
    with_token = {"X-CSRF-Token": csrf}  # the API answers the session cookie only with the session's token
    api = client.post(f"/api/sensors/{SENSOR}/spectrum", json={"duration_s": 10}, headers=with_token)
    assert api.status_code == 409 and "not connected" in api.json()["detail"]
    assert client.post("/api/sensors/no-such/spectrum", json={"duration_s": 10}, headers=with_token).status_code == 409
    assert client.get("/sensors/no-such/spectrum").status_code == 404
    too_long = client.post(f"/api/sensors/{SENSOR}/spectrum", json={"duration_s": 9999}, headers=with_token)
    assert too_long.status_code == 422


def test_capture_iq_is_an_officer_action_and_says_why_it_cannot_run(client, controller):
    incident_id = _incident(controller)
    log_in(client, "vera")
    page = client.get(f"/incidents/{incident_id}")
    assert "IQ captures and spectrogram" in page.text and 'id="capture-iq"' not in page.text
    csrf = page_csrf(client, f"/incidents/{incident_id}")
    assert client.post(f"/incidents/{incident_id}/capture", data={"csrf": csrf}).status_code == 403
    client.post("/logout", data={"csrf": csrf})
    log_in(client, "olive")
    page = client.get(f"/incidents/{incident_id}")
    # the fixture's requests config has no snippet folder: the button is replaced by the reason
    assert 'id="capture-iq"' not in page.text and "requests.snippet_dir" in page.text
    csrf = page_csrf(client, f"/incidents/{incident_id}")
    answer = client.post(f"/incidents/{incident_id}/capture", data={"csrf": csrf})
    assert answer.status_code == 409 and "no requests.snippet_dir is configured" in answer.text
    with controller.sessions() as db:
        assert not db.scalars(select(IncidentCapture)).all(), "a refused capture leaves no row"
    assert client.post("/incidents/nope/capture", data={"csrf": csrf}).status_code == 404
    assert client.get(f"/incidents/{incident_id}/captures/1/spectrogram.json").status_code == 404
