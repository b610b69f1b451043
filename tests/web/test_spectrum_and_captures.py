"""In a real browser, with a real sensor node (simulator source) on a real Mosquitto and the controller's ingest:
an officer opens a sensor's live spectrum and watches waterfall rows arrive; opens an incident, captures IQ
from the sensor that heard it best, sees the spectrogram, and attaches the snippet to the request's case.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cellward.signing import Keyring
from cellward.site import load_site, small_site_path
from controller.app import create_app
from controller.audit import AuditEntry
from controller.db.incidents import IncidentRecord
from controller.requests.models import CaseSnippet
from tests.controller.conftest import SITE_ID, ControllerWorld, write_config
from tests.sensors.harness import GSM_CARRIER_HZ, make_keys, running_node
from tests.sensors.harness import write_config as write_sensor_config
from tests.web.browser import SCREENS, chromium, log_in, serving, shoot
from tests.web.conftest import PASSWORD, SENSOR_IDS, USERS, VALID_IMEI, Phone, record, sighting

pytestmark = pytest.mark.slow
SENSOR = SENSOR_IDS[0]  # the strongest in every sighting() of tests.web.conftest


@pytest.fixture
def world(tmp_path, mosquitto, monkeypatch) -> Iterator[ControllerWorld]:
    """A controller with captures enabled, and sensor SENSOR running on the simulator, trusting each other."""
    monkeypatch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", PASSWORD)
    sensor_dir = tmp_path / "sensor"
    sensor_dir.mkdir()
    keys = make_keys(sensor_dir)
    ring = Keyring()
    ring.add(SENSOR, keys.sensor.public_b64)
    ring.save(tmp_path / "keyring.json")
    requests = {
        "institution": "HMP Small",
        "evidence_dir": str(tmp_path / "evidence"),
        "snippet_dir": str(tmp_path / "snippets"),
        "operators": {"Vodafone": {"adapter": "export_folder", "path": str(tmp_path / "to-vodafone")}},
    }
    captures = {"sensors": 1, "duration_s": 0.05}
    config_path = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'controller.db'}", mosquitto.port, requests=requests, captures=captures
    )
    state = ControllerWorld(tmp_path, config_path, load_site(small_site_path()), {})
    controller = state.start()
    for username, roles in USERS.items():
        controller.accounts.create_user(username, PASSWORD, roles)
    controller_ring = Keyring()
    controller_ring.add("controller", controller.ingest.publisher.key.public_b64)
    controller_ring.save(sensor_dir / "controller-keyring.json")
    sensor_config = write_sensor_config(sensor_dir, mosquitto.port, site=SITE_ID, sensor_id=SENSOR)
    try:
        with running_node(sensor_config):
            yield state
    finally:
        state.stop()


def test_an_officer_watches_a_sensors_live_spectrum_and_waterfall(world):
    with serving(create_app(world.controller)) as base, chromium() as browser:
        for screen, (width, height) in SCREENS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            log_in(page, base, "olive")
            page.goto(f"{base}/sensors")
            page.get_by_role("link", name=f"Live spectrum of {SENSOR}").click()
            expect(page.locator("h1")).to_have_text(f"Live spectrum: sensor {SENSOR}")
            page.select_option("#duration", "60")
            page.click("#start-stream")
            expect(page.locator("p.note[role=status]")).to_contain_text("Asked")
            expect(page.locator("#spectrum-state")).to_have_text("Receiving frames from the sensor.", timeout=20_000)
            page.wait_for_function("Number(document.getElementById('waterfall-rows').textContent) >= 3", timeout=20_000)
            # the simulated GSM phone is the peak of its B8 tuning, and the text says so
            summary = page.locator("#spectrum-summary")
            expect(summary).to_contain_text(re.compile(r"Peak 897\.[2-6]\d\d MHz at -\d+\.\d dBm in B8"))
            expect(page.locator("#band-buttons button[aria-pressed=true]")).to_have_text("B8")
            shoot(page, "sensor-live-spectrum", screen)
            page.close()
    with world.controller.sessions() as db:
        commands = list(db.scalars(select(AuditEntry.details).where(AuditEntry.action == "sensor.command")))
    assert len(commands) == 2 and all('"stream_spectrum"' in d for d in commands), "each start is audited"


def test_an_officer_captures_iq_sees_the_spectrogram_and_attaches_it_to_the_case(world):
    phone = Phone(world.site.cells[0].id, technology="gsm", operators=("Vodafone",), freq_hz=GSM_CARRIER_HZ, band="B8")
    record(world.controller, sighting(phone, time.time()))
    with world.controller.sessions() as db:
        incident_id = db.scalars(select(IncidentRecord.id)).one()
    with serving(create_app(world.controller)) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        log_in(page, base, "olive")
        page.goto(f"{base}/incidents/{incident_id}")
        expect(page.locator("#captures")).to_contain_text("No IQ captured for this incident yet.")
        page.click("#capture-iq")
        expect(page.locator("#captures .badge").first).to_have_text("✓ received", timeout=30_000)
        spectrogram = page.locator("canvas.spectrogram")
        expect(spectrogram).to_have_attribute("data-drawn", "true", timeout=10_000)
        expect(page.locator(".spectrogram-summary")).to_contain_text(re.compile(r"Strongest at 897\.\d{3} MHz"))
        expect(spectrogram).to_have_attribute("aria-label", re.compile(r"^Spectrogram: Strongest at"))
        expect(page.locator("#captures")).to_contain_text("Draft a disconnection request first")
        shoot(page, "incident-spectrogram", "wall")

        page.click("#draft-request")
        page.fill("#value", VALID_IMEI)
        page.select_option("#source", "seized_handset")
        page.fill("#source_reference", "exhibit JB/2")
        page.get_by_role("button", name="Draft request").click()
        expect(page.locator("h1 .badge")).to_have_text("drafted")
        page.goto(f"{base}/incidents/{incident_id}")
        page.get_by_role("button", name=re.compile(r"^Attach to case ")).click()
        expect(page.locator("#captures")).to_contain_text("as evidence.")
        page.set_viewport_size({"width": 1366, "height": 768})
        expect(spectrogram).to_have_attribute("data-drawn", "true")
        shoot(page, "incident-spectrogram", "laptop")
    with world.controller.sessions() as db:
        attached = db.scalars(select(CaseSnippet)).one()
    assert attached.path.startswith(f"{SENSOR}-c-") and attached.added_by == "olive"
