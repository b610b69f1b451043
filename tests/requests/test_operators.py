"""Delivery to operators: the webhook over mutual TLS against the mock operator (with outages), the export
folder and e-mail; the outbox never loses a request and never makes a second order."""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import httpx2
import jsonschema
import pytest
import yaml
from sqlalchemy import select

from controller.audit import verify_database
from controller.operators.adapter import DeliveryError, OutgoingMessage
from controller.operators.outbox import outgoing
from controller.operators.outbox_model import OutboxMessage
from controller.operators.webhook import WebhookAdapter
from controller.requests.config import OutboxConfig, WebhookRoute
from controller.requests.models import DeviceIdentifier, DisconnectionRequest
from sim.mock_operator import MockOperatorState, create_app
from tests.requests.conftest import AUTHORISER, OFFICER, make_world
from tests.requests.mock_server import MockOperatorServer
from tests.requests.smtp_sink import SmtpSink
from tests.requests.tls import make_pki


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki")


@pytest.fixture
def mock(pki):
    server = MockOperatorServer(pki)
    server.state.action_after_s = 0.0
    server.start()
    yield server
    server.stop()


def _webhook_route(mock, pki) -> dict:
    return {
        "adapter": "webhook",
        "url": mock.url,
        "ca_file": str(pki.ca_file),
        "cert_file": str(pki.client_cert),
        "key_file": str(pki.client_key),
        "timeout_s": 3,
        "poll_interval_s": 0.1,
    }


@pytest.fixture
def webhook_world(tmp_path, sessions, mock, pki):
    return make_world(
        tmp_path, sessions, {"O2": _webhook_route(mock, pki)}, outbox=OutboxConfig(base_delay_s=2, max_delay_s=60)
    )


def _authorise(world) -> str:
    request = world.workflow.draft(OFFICER, world.identified_case(), "used in A-0-03 on three nights")
    return world.workflow.authorise(AUTHORISER, request.id).id


def _request(world, request_id) -> DisconnectionRequest:
    with world.sessions() as db:
        return db.get(DisconnectionRequest, request_id)


def _message(world, request_id, kind="issue") -> OutboxMessage:
    with world.sessions() as db:
        return db.scalar(
            select(OutboxMessage).where(OutboxMessage.request_id == request_id, OutboxMessage.kind == kind)
        )


def test_full_lifecycle_with_the_operator_down_for_a_while(webhook_world, mock):
    world = webhook_world
    runtime = world.runtime()
    mock.stop()  # the operator's endpoint is gone: connections are refused
    request_id = _authorise(world)
    assert runtime.dispatcher.run_once() == 0
    message = _message(world, request_id)
    assert (message.status, message.attempts) == ("pending", 1) and "ConnectError" in message.last_error
    assert message.next_attempt_at - world.clock.now == pytest.approx(2.0), "first retry after base_delay_s"

    world.clock.now += 1.0
    runtime.dispatcher.run_once()
    assert _message(world, request_id).attempts == 1, "no attempt before the backoff has passed"

    mock.start()
    mock.state.down = True  # back on the network, but answering 503
    world.clock.now += 1.0
    assert runtime.dispatcher.run_once() == 0
    message = _message(world, request_id)
    assert message.attempts == 2 and "503" in message.last_error
    assert message.next_attempt_at - world.clock.now == pytest.approx(4.0), "the delay doubles"
    assert _request(world, request_id).status == "authorised"

    mock.state.down = False
    world.clock.now += 4.0
    assert runtime.dispatcher.run_once() == 1
    request = _request(world, request_id)
    assert request.status == "acknowledged" and request.operator_reference == "O2-000001"
    assert request.deadline is not None and request.submitted_at is not None
    assert len(mock.orders_for(request_id)) == 1, "exactly one order at the operator"

    assert runtime.poll_orders() == 1
    assert _request(world, request_id).status == "actioned"
    assert world.workflow.verify_order("system", request_id)["result"] == "no activity so far"
    assert verify_database(world.sessions.kw["bind"].url).ok


def test_lost_response_is_retried_with_the_same_key_and_makes_no_second_order(webhook_world, mock):
    world = webhook_world
    runtime = world.runtime()
    mock.state.lose_next_response = True  # the operator stores the order, then the reply is lost
    request_id = _authorise(world)
    assert runtime.dispatcher.run_once() == 0
    world.clock.now += 2.0
    assert runtime.dispatcher.run_once() == 1
    key = _message(world, request_id).idempotency_key
    assert [k for k, path in mock.state.received if path == "/v1/orders"] == [key, key], "same key on the retry"
    assert len(mock.orders_for(request_id)) == 1, "the retry returned the stored order instead of a new one"
    assert _request(world, request_id).operator_reference == "O2-000001"


def test_operator_rejection_is_recorded_with_its_reason(webhook_world, mock):
    world = webhook_world
    runtime = world.runtime()
    mock.state.outcome = "rejected"
    request_id = _authorise(world)
    runtime.dispatcher.run_once()
    runtime.poll_orders()
    request = _request(world, request_id)
    assert request.status == "rejected" and request.reason == "identifier not active on this network"


def test_withdrawal_and_carve_out_reach_the_operator(webhook_world, mock):
    world = webhook_world
    runtime = world.runtime()
    mock.state.action_after_s = 3600
    request_id = _authorise(world)
    runtime.dispatcher.run_once()
    with world.sessions() as db:
        identifier_id = db.scalar(select(DeviceIdentifier.id))
    world.workflow.carve_out(OFFICER, request_id, identifier_id, "outside", "handset found outside the wall")
    runtime.dispatcher.run_once()
    (order,) = mock.orders_for(request_id)
    assert order.carve_outs and order.carve_outs[0]["grounds"] == "outside"
    world.workflow.withdraw(OFFICER, request_id, "device seized")
    runtime.dispatcher.run_once()
    assert order.status == "withdrawn"
    assert _message(world, request_id, "withdraw").status == "delivered"


def test_unknown_and_untrusted_clients_are_refused_by_mutual_tls(mock, pki):
    anonymous = ssl.create_default_context(cafile=str(pki.ca_file))  # trusts the server, shows no certificate
    with pytest.raises(httpx2.HTTPError):
        httpx2.get(f"{mock.url}/v1/orders/x", verify=anonymous)
    rogue = ssl.create_default_context(cafile=str(pki.ca_file))
    rogue.load_cert_chain(str(pki.rogue_cert), str(pki.rogue_key))
    with pytest.raises(httpx2.HTTPError):
        httpx2.get(f"{mock.url}/v1/orders/x", verify=rogue)


def test_operator_refusing_a_message_is_not_retried(mock, pki):
    adapter = WebhookAdapter(WebhookRoute(**_webhook_route(mock, pki)))
    bad = OutgoingMessage("k-1", "issue", "O2", "r-1", {"schema": "cellward.operator-request/1", "request_id": "r-1"})
    with pytest.raises(DeliveryError) as refused:
        adapter.deliver(bad)
    assert not refused.value.retryable and "422" in str(refused.value)


@pytest.mark.slow
def test_outbox_survives_an_outage_and_a_controller_restart_in_real_time(tmp_path, sessions, mock, pki):
    """Three requests authorised while the operator is down; the first runtime is stopped (a restart) and a
    second one delivers each exactly once when the operator returns."""
    world = make_world(
        tmp_path,
        sessions,
        {"O2": _webhook_route(mock, pki)},
        outbox=OutboxConfig(base_delay_s=0.2, max_delay_s=0.5, poll_s=0.05),
    )
    first = world.runtime(clock=time.time)
    mock.stop()
    first.start()
    ids = [_authorise(world) for _ in range(3)]
    time.sleep(1.0)
    first.stop()
    assert all(_request(world, i).status == "authorised" for i in ids), "nothing delivered while down"
    second = world.runtime(clock=time.time)
    second.start()
    try:
        mock.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_request(world, i).status == "authorised" for i in ids):
            time.sleep(0.1)
    finally:
        second.stop()
    assert [len(mock.orders_for(i)) for i in ids] == [1, 1, 1], "each request is one order at the operator"
    assert all(_request(world, i).status in ("acknowledged", "actioned") for i in ids)


def test_export_folder_writes_each_message_once(world):
    runtime = world.runtime()
    request_id = _authorise(world)
    assert runtime.dispatcher.run_once() == 1
    folders = list((world.tmp_path / "export").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith(f"{request_id}-issue-")
    body = json.loads((folders[0] / "request.json").read_text())
    assert body["request_id"] == request_id and body["identifiers"][0]["kind"] == "imei"
    assert (folders[0] / "evidence-pack" / "manifest.sig").is_file()
    assert _request(world, request_id).status == "submitted", "paper channels stay submitted until recorded"
    message = _message(world, request_id)
    adapter = runtime.adapters["O2"]
    adapter.deliver(outgoing(message, _request(world, request_id).pack_path))
    assert len(list((world.tmp_path / "export").iterdir())) == 1, "a re-delivery is the same folder"


def test_email_carries_the_request_and_the_zipped_pack(tmp_path, sessions):
    sink = SmtpSink()
    try:
        route = {
            "adapter": "email",
            "host": "127.0.0.1",
            "port": sink.port,
            "starttls": False,
            "sender": "tro@hmp-test.example",
            "recipients": ["orders@o2.example"],
        }
        world = make_world(tmp_path, sessions, {"O2": route})
        runtime = world.runtime()
        request_id = _authorise(world)
        assert runtime.dispatcher.run_once() == 1
    finally:
        sink.close()
    (mail,) = sink.messages
    assert request_id in mail["Subject"] and mail["To"] == "orders@o2.example"
    names = sorted(part.get_filename() for part in mail.iter_attachments())
    assert names == ["evidence-pack.zip", "request.json"]


WEBHOOK_SPEC = Path(__file__).resolve().parents[2] / "firmware-interface" / "operator-webhook.openapi.yaml"


def _validator(spec: dict, name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def test_sent_messages_match_the_documented_webhook_which_the_mock_implements(webhook_world, mock):
    spec = yaml.safe_load(WEBHOOK_SPEC.read_text())
    documented = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    served = {(p, m) for p, ops in create_app(MockOperatorState()).openapi()["paths"].items() for m in ops}
    assert documented <= served, f"the mock lacks {documented - served}"
    world = webhook_world
    runtime = world.runtime()
    request_id = _authorise(world)
    _validator(spec, "IssueRequest").validate(json.loads(_message(world, request_id).payload))
    runtime.dispatcher.run_once()
    with world.sessions() as db:
        identifier_id = db.scalar(select(DeviceIdentifier.id))
    world.workflow.carve_out(OFFICER, request_id, identifier_id, "outside", "found outside")
    _validator(spec, "CarveOut").validate(json.loads(_message(world, request_id, "carve_out").payload))
