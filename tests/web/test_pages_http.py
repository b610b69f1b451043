"""The web view over real HTTP: login, CSRF, lock-out, roles, incident actions, map, patterns and lookup."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from sqlalchemy import select

from controller.db.incidents import IncidentNote, IncidentRecord, IncidentTransition
from tests.web.conftest import (
    MAX_FAILED_LOGINS,
    PASSWORD,
    SENSOR_IDS,
    SITE,
    Phone,
    draft_request,
    log_in,
    page_csrf,
    record,
    sighting,
)


def _only_incident(controller) -> IncidentRecord:
    with controller.sessions() as db:
        (incident,) = db.scalars(select(IncidentRecord))
        return incident


def test_pages_send_a_logged_out_visitor_to_the_login_page(client):
    for path in ("/map", "/incidents", "/sensors", "/patterns", "/audit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, f"{path} must not render for a stranger"
        assert response.headers["location"].startswith("/login?next=" + path)


def test_login_sets_an_httponly_samesite_strict_session_cookie(client):
    response = log_in(client, "olive")
    assert response.status_code == 303 and response.headers["location"] == "/map"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("cellward_session="))
    assert "HttpOnly" in cookie, "a script must not be able to read the session token"
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie, "cross-site requests must not carry it"
    assert client.get("/map").status_code == 200


def test_login_without_the_form_token_is_refused(client):
    client.get("/login")
    response = client.post("/login", data={"username": "olive", "password": PASSWORD, "csrf": "forged"})
    assert response.status_code == 403
    assert "cellward_session" not in response.cookies, "a forged login must not create a session"


def test_wrong_password_shows_an_error_without_a_traceback(client):
    response = log_in(client, "olive", "not the password")
    assert response.status_code == 401
    assert "wrong user name or password" in response.text
    assert "Traceback" not in response.text


def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    for _ in range(MAX_FAILED_LOGINS):
        assert log_in(client, "olive", "guess").status_code == 401
    response = log_in(client, "olive")
    assert response.status_code == 401, "after the failure limit the correct password must not log in"
    assert "locked" in response.text


def test_login_does_not_redirect_off_site(client):
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post(
        "/login",
        data={"username": "olive", "password": PASSWORD, "csrf": csrf, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/map", "an open redirect after login would help phishing"


def test_state_changing_form_without_the_session_token_is_refused(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "olive")
    for token in ("", "0" * 64):
        response = client.post(f"/incidents/{incident.id}/notes", data={"text": "forged", "csrf": token})
        assert response.status_code == 403, "a cross-site form post must be rejected"
    with controller.sessions() as db:
        assert db.scalars(select(IncidentNote)).all() == [], "a rejected form must change nothing"


def test_csrf_token_of_one_session_does_not_work_in_another(client, app, controller):
    from fastapi.testclient import TestClient

    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "olive")
    olive_token = page_csrf(client)
    with TestClient(app, base_url="http://127.0.0.1") as other:
        log_in(other, "oscar")
        response = other.post(f"/incidents/{incident.id}/acknowledge", data={"csrf": olive_token})
    assert response.status_code == 403


def test_logout_ends_the_session(client):
    log_in(client, "olive")
    response = client.post("/logout", data={"csrf": page_csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/map", follow_redirects=False).status_code == 303


def test_pages_and_navigation_follow_the_roles(client):
    expected = {
        "vera": {
            "/map": 200,
            "/incidents": 200,
            "/sensors": 200,
            "/patterns": 200,
            "/lookup": 403,
            "/requests": 403,
            "/blocking": 403,
            "/audit": 403,
        },
        "olive": {"/lookup": 200, "/requests": 200, "/blocking": 200, "/audit": 403},
        "arthur": {"/requests": 200, "/lookup": 200, "/audit": 403},
        "audrey": {"/audit": 200, "/requests": 200, "/map": 200, "/blocking": 403},
    }
    for user, pages in expected.items():
        client.cookies.clear()
        log_in(client, user)
        nav = client.get("/map").text.split("</nav>")[0]
        for path, code in pages.items():
            assert client.get(path).status_code == code, f"{user} on {path}"
            assert (f'href="{path}"' in nav) == (code == 200), f"{user}'s menu and {path} must agree"


def test_viewer_cannot_act_on_an_incident(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "vera")
    page = client.get(f"/incidents/{incident.id}").text
    assert "Acknowledge" not in page, "the viewer is not offered actions it may not take"
    response = client.post(f"/incidents/{incident.id}/acknowledge", data={"csrf": page_csrf(client)})
    assert response.status_code == 403
    assert _only_incident(controller).status == "new"


def test_officer_acknowledges_assigns_and_notes_with_attribution(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "olive")
    csrf = page_csrf(client)
    assert client.post(f"/incidents/{incident.id}/acknowledge", data={"csrf": csrf}).status_code == 200
    assert client.post(f"/incidents/{incident.id}/assign", data={"csrf": csrf, "assignee": "oscar"}).status_code == 200
    assert (
        client.post(f"/incidents/{incident.id}/notes", data={"csrf": csrf, "text": "search at 14:00"}).status_code
        == 200
    )
    assert _only_incident(controller).status == "investigating"
    with controller.sessions() as db:
        moves = [(t.to_status, t.actor, t.comment) for t in db.scalars(select(IncidentTransition))]
        notes = [(n.author, n.text) for n in db.scalars(select(IncidentNote))]
    assert ("acknowledged", "olive", "acknowledged in the control room") in moves
    assert ("investigating", "olive", "assigned to oscar") in moves
    assert notes == [("olive", "search at 14:00")]
    page = client.get(f"/incidents/{incident.id}").text
    assert "assigned to oscar" in page and "search at 14:00" in page


def test_acknowledging_twice_says_why_it_cannot(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "olive")
    csrf = page_csrf(client)
    client.post(f"/incidents/{incident.id}/acknowledge", data={"csrf": csrf})
    response = client.post(f"/incidents/{incident.id}/acknowledge", data={"csrf": csrf})
    assert response.status_code == 409
    assert "cannot move from acknowledged back to acknowledged" in response.text


def test_map_lights_the_cell_with_technology_operator_and_a_text_state(client, controller):
    record(controller, sighting(Phone("A-1-06", "gsm", ("Vodafone",), 897.4e6, "B8"), time.time()))
    log_in(client, "vera")
    landing_0 = client.get("/map/landing/0").text
    assert 'class="room cell state-quiet" data-cell="A-1-06"' not in landing_0, "A-1-06 is on landing 1"
    svg = client.get("/map?landing=1").text
    cell = re.search(r'<g class="room cell state-(\w+)" data-cell="A-1-06".*?</g>', svg, re.S)
    assert cell and cell.group(1) == "live", "a phone heard seconds ago must show as transmitting now"
    assert "GSM Vodafone · NOW" in cell.group(0), "state must be written, not only coloured"
    assert svg.count('data-cell="') == 8, "every cell of landing 1 is drawn"


def test_an_incident_whose_phone_went_silent_shows_ended_and_no_longer_lights_its_cell_as_live(client, controller):
    now = time.time()
    record(controller, sighting(Phone("A-1-06", "gsm", ("Vodafone",), 897.4e6, "B8"), now))
    with controller.sessions() as db:
        controller.incidents.end_silent(db, now + controller.config.incidents.end_after_silent_s + 1)
        db.commit()
    incident = _only_incident(controller)
    assert incident.ended_at is not None and incident.status == "new"
    log_in(client, "vera")
    assert "device silent since" in client.get("/incidents").text
    assert "the device went silent" in client.get(f"/incidents/{incident.id}").text
    svg = client.get("/map?landing=1").text
    cell = re.search(r'<g class="room cell state-(\w+)" data-cell="A-1-06".*?</g>', svg, re.S)
    assert cell and cell.group(1) == "incident", "an ended incident is still an open case, but not transmitting now"


def test_unknown_landing_is_a_clear_404(client):
    log_in(client, "vera")
    response = client.get("/map?landing=7")
    assert response.status_code == 404 and "landings: 0, 1" in response.text


def test_patterns_count_emissions_per_cell_hour_and_week(client, controller):
    now = time.time()
    phone = Phone("A-1-02")
    record(controller, *(sighting(phone, now - 3600 * k, duration_s=0.5) for k in reversed(range(5))))
    log_in(client, "vera")
    page = client.get("/patterns?days=7&landing=1").text
    assert "5 located emissions in the last 7 days" in page
    assert "Cell A-1-02: 5 emissions" in page, "the heat map carries each cell's count"
    assert re.search(r"A-1-02</text><rect[^>]*/><text[^>]*>5</text>", page), "the busiest-cells bar shows 5"


def test_lookup_ranks_the_better_evidenced_cell_first_and_prints_a_sheet(client, controller):
    start = datetime(2026, 11, 20, 14, 0, tzinfo=UTC).timestamp()
    strong, weak = Phone("A-0-05"), Phone("A-0-07", "gsm", ("O2",), 905e6, "B8")
    record(controller, sighting(weak, start + 60, confidence=0.4, sensors=1))
    record(controller, *(sighting(strong, start + 30 * k, confidence=0.9, sensors=3) for k in range(3)))
    record(controller, sighting(Phone("A-1-08"), start - 86400))  # a day earlier: outside the window
    log_in(client, "olive")
    page = client.get("/lookup?start=2026-11-20T14:00&end=2026-11-20T14:10").text
    ranked = re.findall(r"<tr><td>(\d+)</td><td>([A-Z]-\d-\d+)</td>", page)
    assert ranked == [("1", "A-0-05"), ("2", "A-0-07")], "three confident 3-sensor fixes outrank one weak guess"
    sheet = client.get("/lookup/sheet?start=2026-11-20T14:00&end=2026-11-20T14:10&wing=A")
    assert sheet.status_code == 200 and "Search tasking sheet" in sheet.text
    assert sheet.text.index("A-0-05") < sheet.text.index("A-0-07")
    assert "A-1-08" not in sheet.text


def test_lookup_with_a_backwards_window_explains_the_problem(client):
    log_in(client, "olive")
    response = client.get("/lookup?start=2026-11-20T14:10&end=2026-11-20T14:00")
    assert response.status_code == 400 and "end of the window must be after its start" in response.text
    response = client.get("/lookup?start=yesterday&end=today")
    assert response.status_code == 400 and "e.g. 2026-11-23T14:05" in response.text


def test_sensor_page_lists_every_placed_sensor_with_its_health(client):
    log_in(client, "vera")
    page = client.get("/sensors").text
    for sensor_id in SENSOR_IDS:
        assert f"<td>{sensor_id}</td>" in page
    assert "has never been heard" in page, "a silent sensor says why it is unhealthy"


def test_static_assets_are_served_locally(client):
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/static/live.js").status_code == 200
    log_in(client, "vera")
    page = client.get("/map").text
    assert "http://" not in page.split("<body")[0] and "https://" not in page, "no CDN: control rooms are air-gapped"


def test_map_zooms_to_a_wing_and_refuses_an_unknown_one(client):
    log_in(client, "vera")
    page = client.get("/map?landing=1&wing=A")
    assert page.status_code == 200 and f"{SITE.name}, landing 1, wing A" in page.text
    assert 'data-wing="A"' in page.text, "live redraws keep the zoom"
    response = client.get("/map?landing=1&wing=Z")
    assert response.status_code == 404 and "wings: A" in response.text


def _audit(controller, *entries: tuple[str, str, str, dict]) -> None:
    from controller.audit.log import record as audit_record

    with controller.sessions() as db:
        for actor, action, target, details in entries:
            audit_record(db, actor, action, target, details)
        db.commit()


def test_audit_page_searches_entries_and_shows_the_chain_verified(client, controller):
    _audit(
        controller,
        ("olive", "request.draft", "request:r1", {"operator": "EE"}),
        ("arthur", "request.authorise", "request:r1", {}),
        ("olive", "incident.note", "incident:i9", {"text": "search booked"}),
    )
    log_in(client, "audrey")
    page = client.get("/audit").text
    from controller.audit.log import AuditEntry

    with controller.sessions() as db:
        stored = db.query(AuditEntry).count()  # ours, plus the logins and user creations the hooks record
    assert f"Chain verified: {stored} entries" in page and stored >= 3
    found = client.get("/audit?q=authorise").text
    assert "request.authorise" in found and "request.draft" not in found
    by_actor = client.get("/audit?actor=olive").text
    assert "incident.note" in by_actor and "request.authorise" not in by_actor
    assert "search booked" in client.get("/audit?q=booked").text, "details are searchable"


def test_audit_page_names_the_first_broken_entry(client, controller):
    from controller.audit.log import AuditEntry

    _audit(controller, ("olive", "request.draft", "request:r1", {}))
    with controller.sessions() as db:  # a forged entry appended behind the code's back
        good = db.query(AuditEntry).count()
        forged = {"actor": "mallory", "action": "request.authorise", "target": "request:r1", "details": "{}"}
        db.add(AuditEntry(seq=good + 1, ts=time.time(), prev_hash="0" * 64, hash="f" * 64, **forged))
        db.commit()
    log_in(client, "audrey")
    page = client.get("/audit").text
    assert f"Chain BROKEN after {good} good entries" in page and f"entry seq={good + 1}" in page


def test_officer_drafts_a_request_and_another_person_authorises_it_then_downloads_the_pack(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "olive")
    response = draft_request(client, incident.id)
    assert response.status_code == 303, response.text
    request_path = response.headers["location"]
    page = client.get(request_path).text
    assert "drafted" in page and 'id="drafter-note"' in page and 'id="authorise"' not in page
    client.cookies.clear()
    log_in(client, "arthur")
    assert f'href="{request_path}"' in client.get(f"/requests?incident={incident.id}").text
    page = client.get(request_path).text
    assert 'id="authorise"' in page, "an authoriser who did not draft it decides"
    response = client.post(f"{request_path}/authorise", data={"csrf": page_csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(request_path).text
    assert "arthur" in page and 'id="pack-download"' in page
    pack = client.get(f"/api/requests/{request_path.rsplit('/', 1)[1]}/pack.zip")
    assert pack.status_code == 200 and pack.content[:2] == b"PK", "the signed evidence pack downloads as a zip"


def test_the_drafter_cannot_authorise_even_when_holding_the_authoriser_role(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    controller.accounts.create_user("dual", PASSWORD, ["officer", "authoriser"])
    log_in(client, "dual")
    request_path = draft_request(client, incident.id).headers["location"]
    assert 'id="authorise"' not in client.get(request_path).text, "the page hides it"
    response = client.post(f"{request_path}/authorise", data={"csrf": page_csrf(client)})
    assert response.status_code in (403, 409), "the server refuses it too"
    assert "drafted" in client.get(request_path).text


def test_a_bad_identifier_is_explained_and_leaves_no_case_behind(client, controller):
    from controller.requests.models import Case

    record(controller, sighting(Phone("A-0-03"), time.time()))
    incident = _only_incident(controller)
    log_in(client, "olive")
    response = draft_request(client, incident.id, value="1234")
    assert response.status_code == 400 and 'id="draft-error"' in response.text
    assert "1234" in response.text, "what the officer typed is kept in the form"
    with controller.sessions() as db:
        assert db.scalars(select(Case)).all() == []


def test_a_viewer_may_not_see_requests(client, controller):
    log_in(client, "vera")
    assert client.get("/requests").status_code == 403
    assert client.get("/requests/new?incident=x").status_code == 403


def test_week_on_week_counts_each_wing_and_the_change(client, controller):
    from datetime import timedelta

    local_now = datetime.now(controller.config.tz)
    monday = (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    last_week = (monday - timedelta(days=3, hours=12)).timestamp()  # Thursday noon of last week
    week_before = last_week - 7 * 86400
    record(controller, *(sighting(Phone("A-0-01"), week_before + 3600 * k) for k in range(2)))
    record(controller, *(sighting(Phone("A-1-02"), last_week + 3600 * k) for k in range(5)))
    log_in(client, "vera")
    page = client.get("/patterns?days=21").text
    rows = re.findall(r"<tr><td>(\d{4}-W\d\d)</td><td>(\d+)</td><td>(\d+)</td>\s*<td>([^<]*)</td>", page)
    assert [(wing_a, total, change) for _, wing_a, total, change in rows] == [("2", "2", "—"), ("5", "5", "▲ +3")]


def test_active_alerts_sit_beside_the_map_and_an_officer_acknowledges_them(client, controller):
    record(controller, sighting(Phone("A-0-03"), time.time()))
    log_in(client, "vera")
    panel = client.get("/map/alerts").text
    assert "Active alerts (1)" in panel and "HIGH" in panel, "a new incident raises a high alert"
    assert "Acknowledge" not in panel, "a viewer is not offered the action"
    client.cookies.clear()
    log_in(client, "olive")
    alert_id = re.search(r'data-alert="([^"]+)"', client.get("/map").text).group(1)
    response = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf": page_csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert "Active alerts (0)" in client.get("/map/alerts").text
    from controller.db.incidents import AlertRecord

    with controller.sessions() as db:
        assert db.get(AlertRecord, alert_id).acknowledged_by == "olive"


def test_sensor_page_shows_clock_sync_loss_and_spool_depth_as_ingest_stores_them(client, controller):
    from datetime import datetime

    from cellward.messages import SensorStats
    from cellward.messages.envelope import ClockState
    from controller.db.reports import SensorState

    now = time.time()
    stats = SensorStats(
        site="hmp-small", sender=SENSOR_IDS[0], ts=datetime.now(UTC), seq=7, interval_s=60, uptime_s=3600,
        samples_in=10**9, samples_dropped=0, usb_errors=0, source_faults=0, dwells=3600, bursts=120, reports=60,
        spool_depth=42, spool_bytes=9000, spool_dropped_total=0, mqtt_reconnects=1, cpu_percent=35.0, rss_mb=80.0,
        temperature_c=51.0, clock=ClockState(state="synced", source="chrony", offset_s=0.0031),
    )  # fmt: skip
    with controller.sessions() as db:
        db.add(
            SensorState(
                id=SENSOR_IDS[0], messages_received=990, messages_lost=10, duplicates=0, availability="online",
                last_seen=now - 5, clock_offset_s=0.0031,
                status={"clock": {"state": "synced", "source": "chrony", "offset_s": 0.0031}},
                stats=stats.model_dump(mode="json", exclude={"sig"}),
            )
        )  # fmt: skip
        db.commit()
    log_in(client, "vera")
    row = re.search(rf"<td>{SENSOR_IDS[0]}</td>.*?</tr>", client.get("/sensors").text, re.S).group(0)
    assert "synced (chrony), +3.1 ms" in row
    assert "10 of 1000 (1.00 %)" in row, "loss is counted by seq gaps"
    assert "42 reports" in row, "spool depth comes from the sensor's stats"
    assert "✓ healthy" in row


def test_patterns_over_a_chosen_date_range_count_only_that_range(client, controller):
    tz = controller.config.tz
    inside = datetime(2026, 3, 11, 14, 30, tzinfo=tz).timestamp()  # a Wednesday afternoon, local time
    record(controller, *(sighting(Phone(cell), inside + 60 * k) for k, cell in enumerate(("A-1-02", "A-1-03"))))
    record(controller, sighting(Phone("A-1-02"), datetime(2026, 3, 20, 9, 0, tzinfo=tz).timestamp()))
    log_in(client, "vera")
    page = client.get("/patterns?from=2026-03-09&to=2026-03-15&landing=1").text
    assert "2 located emissions from 2026-03-09 to 2026-03-15" in page, "the emission of 20 March is outside"
    assert "Cell A-1-02: 1 emissions" in page and "Cell A-1-03: 1 emissions" in page
    assert 'value="2026-03-09"' in page and 'value="2026-03-15"' in page, "the chosen range stays in the form"


def test_a_bad_or_backwards_date_range_is_explained(client):
    log_in(client, "vera")
    backwards = client.get("/patterns?from=2026-03-15&to=2026-03-09")
    assert backwards.status_code == 400
    assert "the period must start before it ends: from 2026-03-15 is after to 2026-03-09" in backwards.text
    bad = client.get("/patterns?from=15/03/2026&to=2026-03-20")
    assert bad.status_code == 400 and "give the dates as year-month-day, e.g. 2026-11-23" in bad.text
    half = client.get("/patterns?from=2026-03-15")
    assert half.status_code == 400 and "give both dates of the period" in half.text


def test_patterns_show_when_in_the_week_phones_are_used_and_the_busiest_wings(client, controller):
    tz = controller.config.tz
    wednesday_2pm = datetime(2026, 3, 11, 14, 5, tzinfo=tz).timestamp()
    saturday_11pm = datetime(2026, 3, 14, 23, 10, tzinfo=tz).timestamp()
    cells = ("A-1-02", "A-1-03", "A-1-04", "A-0-01")  # four phones in one hour
    record(controller, *(sighting(Phone(cell), wednesday_2pm + 60 * k) for k, cell in enumerate(cells)))
    record(controller, sighting(Phone("A-0-05"), saturday_11pm))
    log_in(client, "vera")
    page = client.get("/patterns?from=2026-03-09&to=2026-03-15").text
    grid = re.search(r'<svg[^>]*aria-label="Emissions by hour of day and day of week.*?</svg>', page, re.S).group(0)
    assert "<title>Wed 14:00: 4 emissions</title>" in grid and "<title>Sat 23:00: 1 emissions</title>" in grid
    assert "<title>Wed 15:00: 0 emissions</title>" in grid
    assert grid.count("emissions</title>") == 7 * 24, "every hour of every day has its square"
    wings = re.search(r'<svg[^>]*aria-label="Busiest wings".*?</svg>', page, re.S).group(0)
    assert re.search(r">A</text><rect[^>]*/><text[^>]*>5</text>", wings), "wing A: all five emissions"


def test_incident_detail_shows_the_timeline_the_location_confidence_and_the_runners_up(client, controller):
    now = time.time()
    phone = Phone("A-0-03")
    # 700 s apart: separate emissions (over the 600 s silence that ends one) of one incident (under its 1800 s gap)
    record(controller, *(sighting(phone, now - 700 * k, confidence=0.9) for k in reversed(range(3))))
    incident = _only_incident(controller)
    log_in(client, "vera")
    page = client.get(f"/incidents/{incident.id}").text
    assert "<dt>Location</dt><dd>90 % confident (rss)</dd>" in page
    assert "<dt>Runners-up</dt><dd>A-0-02 (6 %)</dd>" in page, "the next most likely cell and its probability"
    timeline = page.split('id="timeline"')[1]
    assert "Timeline (3 emissions)" in timeline
    row = r"<tr><td>([^<]+)</td><td>([\d.]+) s</td>.*?<td>(A-0-03)</td><td>(90 %)</td><td>(\d)</td></tr>"
    rows = re.findall(row, timeline, re.S)
    assert len(rows) == 3, f"one row per emission, oldest first: {rows}"
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert all(row[1] == "1.000" and row[4] == "3" for row in rows), "duration and the number of sensors heard"


def _drafted(client, controller, drafter: str) -> str:
    record(controller, sighting(Phone("A-0-03"), time.time()))
    log_in(client, drafter)
    path = draft_request(client, _only_incident(controller).id).headers["location"]
    client.cookies.clear()
    return path


def test_an_authoriser_who_did_not_draft_rejects_a_request_with_a_reason(client, controller):
    path = _drafted(client, controller, "olive")
    log_in(client, "arthur")
    response = client.post(
        f"{path}/reject", data={"csrf": page_csrf(client), "reason": "identifier not from this handset"}
    )
    assert response.status_code == 200 and response.url.path == path
    assert '<span class="badge">rejected</span>' in response.text
    assert "<dt>Reason</dt><dd>identifier not from this handset</dd>" in response.text
    assert 'id="authorise"' not in response.text, "a decided request offers no decision"


def test_an_officer_may_not_reject_a_request(client, controller):
    path = _drafted(client, controller, "olive")
    log_in(client, "oscar")
    response = client.post(f"{path}/reject", data={"csrf": page_csrf(client), "reason": "no"})
    assert response.status_code == 403
    assert '<span class="badge">drafted</span>' in client.get(path).text


def test_the_drafter_may_not_reject_their_own_request_even_as_an_authoriser(client, controller):
    controller.accounts.create_user("dual", PASSWORD, ["officer", "authoriser"])
    path = _drafted(client, controller, "dual")
    log_in(client, "dual")
    response = client.post(f"{path}/reject", data={"csrf": page_csrf(client), "reason": "changed my mind"})
    assert response.status_code in (403, 409), "two people decide a request, never its drafter alone"
    assert '<span class="badge">drafted</span>' in client.get(path).text
