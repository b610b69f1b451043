"""The blocking page: officers switch zones, refusals are shown, forms need the CSRF token, and the
emergency all-off needs its confirmation."""

from __future__ import annotations

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
