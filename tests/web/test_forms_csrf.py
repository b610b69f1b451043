"""Every state-changing form of the web view refuses a missing or forged CSRF token. The routes are read
from the routers the app mounts, so a new form that forgets its check fails here."""

from __future__ import annotations

import re
import typing

import pytest
from fastapi.routing import APIRoute

from controller.web.pages import routers
from tests.web.conftest import PASSWORD, log_in

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
FORM_ROUTES = sorted(
    (route.path, method)
    for router in routers
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in route.methods & STATE_CHANGING
)


def _example(field) -> str:
    """A value that passes the field's type, so that only the token decides the answer."""
    annotation = field.field_info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return str(typing.get_args(annotation)[0])
    return "1" if annotation in (int, float) else "x"


def _form_request(path: str, method: str) -> tuple[str, dict[str, str]]:
    route = next(
        r
        for router in routers
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and method in r.methods
    )
    concrete = path
    for field in route.dependant.path_params:
        concrete = concrete.replace("{" + field.name + "}", _example(field))
    form = {field.name: _example(field) for field in route.dependant.body_params if field.name != "csrf"}
    return concrete, form


def test_the_web_view_has_its_forms():
    assert len(FORM_ROUTES) >= 15 and ("/requests/{request_id}/reject", "POST") in FORM_ROUTES


@pytest.mark.parametrize(("path", "method"), FORM_ROUTES)
def test_a_form_without_its_token_or_with_a_forged_one_is_refused(client, controller, path, method):
    controller.accounts.create_user("adam", PASSWORD, ["admin"])  # admin passes every role check
    log_in(client, "adam")
    concrete, form = _form_request(path, method)
    for token in (None, "0" * 64):
        data = form if token is None else {**form, "csrf": token}
        response = client.request(method, concrete, data=data, follow_redirects=False)
        assert response.status_code == 403, f"{method} {path} with {token or 'no'} token: {response.text[:300]}"
    assert client.get("/map", follow_redirects=False).status_code == 200, "still logged in: nothing was done"
    page = client.get("/login" if path == "/login" else "/map").text
    genuine = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.request(method, concrete, data={**form, "csrf": genuine}, follow_redirects=False)
    # It may still be refused for other reasons (no such item, a role), never for the token.
    assert "CSRF check failed" not in response.text and "The form expired" not in response.text, (
        f"{method} {path} refuses the genuine token"
    )
