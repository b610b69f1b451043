"""Web-view fixtures: a started controller (real SQLite database, real accounts) and its app with the pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cellward.site import load_site, small_site_path
from controller.app import create_app
from controller.config import AuthConfig, ControllerConfig, DatabaseConfig
from controller.requests.config import ExportFolderRoute, RequestsConfig
from controller.runtime import Controller
from controller.sighting import Sighting
from tests.support.lockup import lockup_hours_away_from_now

PASSWORD = "correct horse battery"
USERS = {
    "olive": ["officer"],
    "oscar": ["officer"],
    "arthur": ["authoriser"],
    "vera": ["viewer"],
    "audrey": ["auditor"],
}
MAX_FAILED_LOGINS = 3
OPERATORS = ("EE", "O2", "Vodafone", "Three")
SITE = load_site(small_site_path())  # the shipped small site: one wing, two landings
SENSOR_IDS = tuple(sensor.id for sensor in SITE.sensors)
VALID_IMEI = "490154203237518"  # Luhn-valid


def requests_config(tmp_path) -> RequestsConfig:
    """Requests enabled, delivering to export folders (the operators' own systems are not ours to run)."""
    return RequestsConfig(
        institution="HMP Small",
        evidence_dir=tmp_path / "evidence",
        signing_key_file=tmp_path / "packs.pem",
        operators={
            name: ExportFolderRoute(adapter="export_folder", path=tmp_path / "out" / name) for name in OPERATORS
        },
    )


@pytest.fixture
def controller(tmp_path) -> Iterator[Controller]:
    config = ControllerConfig(
        site_id="hmp-small",
        site_file=small_site_path(),
        sensor_keyring=tmp_path / "keyring.json",
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'controller.db'}"),
        auth=AuthConfig(max_failed_logins=MAX_FAILED_LOGINS, lockout_s=600),
        requests=requests_config(tmp_path),
        lockup_hours=lockup_hours_away_from_now(),
    )
    controller = Controller(config, SITE)
    controller.start(with_ingest=False)
    for username, roles in USERS.items():
        controller.accounts.create_user(username, PASSWORD, roles)
    yield controller
    controller.stop()


@pytest.fixture
def app(controller: Controller) -> FastAPI:
    return create_app(controller)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": login_csrf(client), "next": "/map"},
        follow_redirects=False,
    )


def page_csrf(client: TestClient, path: str = "/map") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


@dataclass(frozen=True)
class Phone:
    """A contraband phone in one cell, as the pipeline would place it (technology, operator, channel)."""

    cell_id: str
    technology: str = "lte"
    operators: tuple[str, ...] = ("EE",)
    freq_hz: float = 1747.5e6
    band: str = "B3"


def sighting(phone: Phone, at_s: float, confidence: float = 0.9, sensors: int = 3, duration_s: float = 1.0):
    wing, landing, _ = phone.cell_id.split("-")
    return Sighting(
        start_s=at_s,
        end_s=at_s + duration_s,
        freq_hz=phone.freq_hz,
        bandwidth_hz=1.08e6,
        technology=phone.technology,
        band=phone.band,
        operators=phone.operators,
        cell_id=phone.cell_id,
        wing=wing,
        landing=int(landing),
        zone=SITE.room(phone.cell_id).zone,
        confidence=confidence,
        method="rss",
        runners_up=(("A-0-02", 0.06),),
        sensor_powers_dbm={sensor_id: -50.0 - 7 * i for i, sensor_id in enumerate(SENSOR_IDS[:sensors])},
        received_at=time.time(),
    )


def record(controller: Controller, *sightings: Sighting) -> None:
    """What ingest does with located emissions: merge into incidents, commit, then publish the events."""
    with controller.sessions() as db:
        events = controller.incidents.process(db, list(sightings))
        db.commit()
    for event in events:
        controller.bus.emit(event)


def sensor_heard(controller: Controller, sensor_id: str, availability: str) -> None:
    """What ingest stores when a sensor says it is online or offline: it was heard just now."""
    from controller.db.reports import SensorState

    with controller.sessions() as db:
        state = db.get(SensorState, sensor_id) or SensorState(
            id=sensor_id, messages_received=10, messages_lost=0, duplicates=0
        )
        state.availability, state.last_seen = availability, time.time()
        db.merge(state)
        db.commit()


def switch_on(controller: Controller, zone: str = "cells-A", who: str = "olive") -> None:
    """An officer switches a zone's blocking on, as the Blocking page and the API do."""
    blocking = controller.blocking
    blocking.act(who, "on", zone, lambda now: blocking.policy.request_on(zone, who, now))


def draft_request(client: TestClient, incident_id: str, **overrides: str):
    """Post the draft-request form for an incident as the logged-in officer; the answer is not followed."""
    form = {
        "csrf": page_csrf(client, f"/requests/new?incident={incident_id}"),
        "incident": incident_id,
        "kind": "imei",
        "value": VALID_IMEI,
        "source": "seized_handset",
        "source_reference": "exhibit JB/1",
        "grounds": "phone used in cell A-0-03",
        "operator": "EE",
    }
    return client.post("/requests/new", data={**form, **overrides}, follow_redirects=False)
