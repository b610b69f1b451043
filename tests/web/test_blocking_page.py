"""The blocking page: officers switch zones, refusals are shown, forms need the CSRF token, and the
emergency all-off needs its confirmation."""

from __future__ import annotations

import re

from tests.web.conftest import log_in, page_csrf


def test_an_officer_switches_a_wing_from_the_page_and_sees_its_state(client, controller):
    log_in(client, "olive")
    csrf = page_csrf(client, "/blocking")
    response = client.post("/blocking/zones/cells-A/on", data={"csrf": csrf}, follow_redirects=True)
    assert response.status_code == 200
    assert controller.blocking.policy.blocking_zones() == ["cells-A"]
    assert "<strong>ON</strong> (manual)" in response.text
    assert "NEVER BLOCKED" in response.text, "staff and outside are listed as never blocked"


def test_a_refusal_is_shown_and_nothing_changes(client, controller):
    log_in(client, "olive")
    csrf = page_csrf(client, "/blocking")
    page = client.post("/blocking/zones/staff/on", data={"csrf": csrf}, follow_redirects=True).text
    assert "Refused: zone &#39;staff&#39; is never blocked" in page
    assert controller.blocking.policy.blocking_zones() == []


def test_forms_without_the_token_and_unconfirmed_emergencies_do_nothing(client, controller):
    log_in(client, "olive")
    assert client.post("/blocking/zones/cells-A/on", data={"csrf": "forged"}).status_code == 403
    csrf = page_csrf(client, "/blocking")
    client.post("/blocking/zones/cells-A/on", data={"csrf": csrf})
    page = client.post("/blocking/emergency-off", data={"csrf": csrf}, follow_redirects=True).text
    assert "tick the confirmation box" in page and controller.blocking.policy.blocking_zones() == ["cells-A"]
    page = client.post("/blocking/emergency-off", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=True).text
    assert "EMERGENCY ALL-OFF" in page and controller.blocking.policy.blocking_zones() == []


def test_a_tripped_unit_is_shown_and_only_an_admin_resets_it_from_the_page(client, controller):
    from tests.web.conftest import PASSWORD

    controller.accounts.create_user("adam", PASSWORD, ["admin"])
    blocking = controller.blocking
    blocking.act("olive", "on", "cells-A", lambda now: blocking.policy.request_on("cells-A", "olive", now))
    blocking.act("system", "interlock", "*", lambda now: blocking.interlocks.perimeter_reading("PER-S", -60.0, now))
    log_in(client, "olive")
    page = client.get("/blocking").text
    assert "<strong>OUT OF SERVICE</strong> (interlock)" in page and "leakage: unit BLK-A" in page
    assert "/blocking/units/BLK-A/reset" not in page, "an officer gets no Reset button"
    csrf = page_csrf(client, "/blocking")
    assert client.post("/blocking/units/BLK-A/reset", data={"csrf": csrf}).status_code == 403
    client.post("/logout", data={"csrf": csrf})
    log_in(client, "adam")
    csrf = page_csrf(client, "/blocking")
    page = client.post("/blocking/units/BLK-A/reset", data={"csrf": csrf}, follow_redirects=True).text
    assert "Unit BLK-A is back in service" in page and "reset: off until a zone of it is switched on" in page
    assert blocking.policy.tripped_units == set() and blocking.policy.active_units() == set()


def test_the_policies_in_force_are_shown_in_words_and_local_time(client, controller):
    from controller.blocking.policy import PolicyConfig, Schedule

    controller.blocking.policy.config = PolicyConfig(
        reactive_zones=frozenset({"cells-A"}),
        reactive_hold_s=90.0,
        reactive_cooldown_s=300.0,
        max_on_s=5400.0,
        schedules=(Schedule("cells-A", 19.5 * 3600, 7.5 * 3600),),
    )
    log_in(client, "olive")
    page = client.get("/blocking").text
    assert re.search(r'id="policy-reactive">cells-A: blocking\s+switches on by itself', page)
    assert 'id="policy-hold">1 min 30 s: how long a reactive switch-on lasts' in page
    assert 'id="policy-cooldown">5 min: rest after' in page
    assert 'id="policy-max-on">1 h 30 min: no zone stays on longer' in page
    assert "<tr><td>cells-A</td><td>19:30</td><td>07:30 (next day)</td></tr>" in page, "a night schedule"


def test_without_policies_the_page_says_blocking_is_only_by_hand(client):
    log_in(client, "olive")
    page = client.get("/blocking").text
    assert "none: blocking switches on only by hand or by schedule" in page
    assert "No schedules: no zone switches on by the clock." in page
    assert 'id="policy-max-on">30 min' in page, "the configured default maximum on-time"
