"""The whole path in a real browser: a simulated phone's signed reports on a real Mosquitto, the controller's
ingest, correlation, location and incidents, the SSE stream, and the officer's map.

The phone is a transmitter at a cell's centre; each sensor that would hear it (the site's own propagation
model) publishes a signed activity report exactly as a sensor node does.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from cellward.signing import Keyring
from cellward.site import load_site, small_site_path
from cellward.site.propagation import PropagationModel, PropagationParams
from controller.app import create_app
from tests.controller.conftest import SITE_ID, ControllerWorld, Publisher, write_config
from tests.controller.sensor_messages import SensorNode, activity_report
from tests.support.lockup import lockup_hours_away_from_now
from tests.web.browser import chromium, log_in, serving, shoot
from tests.web.conftest import PASSWORD, USERS, VALID_IMEI

pytestmark = pytest.mark.slow
FIRST_REPORT_TO_MAP_S = 2.0
SENSITIVITY_DBM = -100.0
PHONE_TX_DBM = 5.0
FREQ_HZ = 897.4e6  # Vodafone's part of B8 (GSM)


@pytest.fixture
def world(tmp_path, mosquitto, monkeypatch):
    monkeypatch.setenv("CELLWARD_TEST_ADMIN_PASSWORD", PASSWORD)
    site = load_site(small_site_path())
    nodes = {sensor.id: SensorNode(SITE_ID, sensor.id) for sensor in site.sensors}
    keyring = Keyring()
    for node in nodes.values():
        keyring.add(node.sensor_id, node.key.public_b64)
    keyring.save(tmp_path / "keyring.json")
    requests = {
        "institution": "HMP Small",
        "evidence_dir": str(tmp_path / "evidence"),
        "operators": {"Vodafone": {"adapter": "export_folder", "path": str(tmp_path / "to-vodafone")}},
    }
    config_path = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'controller.db'}",
        mosquitto.port,
        requests=requests,
        lockup_hours=lockup_hours_away_from_now(),
    )
    state = ControllerWorld(tmp_path, config_path, site, nodes)
    controller = state.start()
    for username, roles in USERS.items():
        controller.accounts.create_user(username, PASSWORD, roles)
    try:
        yield state
    finally:
        state.stop()


def levels_of_a_phone_in(site, cell_id: str) -> dict[str, float]:
    model = PropagationModel(site, PropagationParams())
    room = site.room(cell_id)
    levels = {s.id: model.received_power_dbm(PHONE_TX_DBM, tuple(room.centroid), s, FREQ_HZ) for s in site.sensors}
    return {sensor_id: level for sensor_id, level in levels.items() if level > SENSITIVITY_DBM}


def test_a_phone_appears_in_its_cell_within_two_seconds_and_the_officer_takes_it_on(world, mosquitto):
    cell = world.site.cells[0]
    heard = levels_of_a_phone_in(world.site, cell.id)
    assert len(heard) >= 2, f"the test phone must be heard by several sensors, got {heard}"
    app = create_app(world.controller)
    publisher = Publisher(mosquitto.port)
    try:
        for node in world.nodes.values():
            publisher.publish(*node.status(), retain=True)
        with serving(app) as base, chromium() as browser:
            officer = browser.new_page(viewport={"width": 1920, "height": 1080})
            log_in(officer, base, "olive")
            officer.goto(f"{base}/map?landing={cell.landing}")
            expect(officer.locator("#stream-state")).to_have_text("live: connected")
            on_map = officer.locator(f'g[data-cell="{cell.id}"]')
            expect(on_map).to_have_class(re.compile("state-quiet"))

            first_report_s = time.monotonic()
            start = datetime.now(UTC)
            for sensor_id, level in heard.items():
                report = activity_report(start, [level, level - 0.3, level + 0.2], freq_hz=FREQ_HZ)
                publisher.publish(*world.nodes[sensor_id].detections([report]))
            expect(on_map).to_have_class(re.compile("state-live"), timeout=FIRST_REPORT_TO_MAP_S * 1000)
            elapsed_s = time.monotonic() - first_report_s
            assert elapsed_s <= FIRST_REPORT_TO_MAP_S, f"{cell.id} lit {elapsed_s:.2f} s after the first report"
            expect(on_map).to_have_attribute("aria-label", f"Cell {cell.id}: GSM Vodafone · NOW")
            expect(officer.locator("#announcer")).to_have_text(f"New incident: GSM Vodafone in cell {cell.id}")
            shoot(officer, "live-map", "wall")

            officer.click("#open-incidents a")
            expect(officer.locator("#incident-cell")).to_have_text(cell.id)
            officer.get_by_role("button", name="Acknowledge").click()
            expect(officer.locator("h1 .badge")).to_have_text("acknowledged")
            officer.select_option("#assignee", "oscar")
            officer.get_by_role("button", name="Assign", exact=True).click()
            expect(officer.locator("h1 .badge")).to_have_text("investigating")
            officer.fill("#note", "cell search booked for 14:00")
            officer.get_by_role("button", name="Add note").click()
            expect(officer.locator("text=cell search booked for 14:00")).to_be_visible()
            levels = officer.locator("table.compact").first
            for sensor_id in heard:
                expect(levels).to_contain_text(sensor_id)
            officer.click("#draft-request")
            officer.fill("#value", VALID_IMEI)
            officer.select_option("#source", "seized_handset")
            officer.fill("#source_reference", "exhibit JB/1 (handset seized in the search)")
            officer.get_by_role("button", name="Draft request").click()
            expect(officer.locator("h1 .badge")).to_have_text("drafted")
            expect(officer.locator("#drafter-note")).to_be_visible()
            request_url = officer.url
            shoot(officer, "request-drafted", "wall")

            officer.goto(f"{base}/sensors")
            for sensor_id in world.nodes:
                row = officer.locator("tr", has_text=sensor_id)
                expect(row).to_contain_text("synced (chrony)")

            authoriser = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
            log_in(authoriser, base, "arthur")
            authoriser.goto(request_url)
            authoriser.click("#authorise")
            expect(authoriser.locator("h1 .badge")).not_to_have_text("drafted")
            expect(authoriser.locator("dl.facts")).to_contain_text("arthur, ")
            with authoriser.expect_download() as download:
                authoriser.click("#pack-download")
            pack = download.value.path().read_bytes()
            assert pack[:2] == b"PK", "the signed evidence pack arrives as a zip"
            shoot(authoriser, "request-authorised", "laptop")
    finally:
        publisher.close()
