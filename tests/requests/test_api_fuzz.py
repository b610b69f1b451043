"""schemathesis against the requests routes with requests enabled, logged in as each role: never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from controller.app import create_app
from tests.requests.test_api import api  # noqa: F401 - the module-scoped controller fixture

EXAMPLES_PER_OPERATION = 20


@pytest.mark.slow
@pytest.mark.parametrize("user", ["officer1", "auth1", "auditor1"])
def test_no_request_to_a_requests_route_makes_a_server_error(api, user):  # noqa: F811
    app = create_app(api.controller)
    headers = {"Authorization": f"Bearer {api.tokens[user]}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(("/api/cases", "/api/requests", "/api/audit", "/api/jurisdictions")):
            continue
        fuzzed.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        fuzz()
    assert len(fuzzed) >= 18, f"too few operations fuzzed: {fuzzed}"
