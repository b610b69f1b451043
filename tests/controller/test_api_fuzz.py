"""schemathesis against the controller's OpenAPI document, in-process, logged in: no request makes a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from controller.app import create_app
from tests.controller.conftest import ADMIN_PASSWORD

# Not fuzzed: the endless event stream, and the calls that would end the fuzzer's own session (logout,
# editing users, which can disable the fuzzer); test_api covers those.
SKIPPED = {("/api/events", "GET"), ("/api/auth/logout", "POST"), ("/api/auth/users/{user_id}", "PATCH")}
EXAMPLES_PER_OPERATION = 25


@pytest.mark.slow
def test_no_request_to_any_operation_makes_a_server_error(sqlite_world):
    controller = sqlite_world.start(with_ingest=False)
    app = create_app(controller)
    token, _ = controller.accounts.login("admin", ADMIN_PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.path, operation.method.upper()) in SKIPPED:
            continue
        fuzzed.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        fuzz()
    assert len(fuzzed) >= 15, f"too few operations fuzzed: {fuzzed}"
