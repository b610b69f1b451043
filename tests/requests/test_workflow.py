"""Roles, the two-person rule, identification before drafting, and the request lifecycle's bookkeeping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from controller.audit import verify_database
from controller.audit.log import AuditEntry
from controller.config import AuthorisedDevice
from controller.evidence import verify_pack
from controller.jurisdictions import JurisdictionError, add_working_days, calendar, jurisdiction
from controller.operators.adapter import DeliveryResult
from controller.operators.outbox_model import OutboxMessage
from controller.requests.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from controller.requests.models import DeviceIdentifier, DisconnectionRequest, RequestTransition
from tests.requests.conftest import (
    AUTHORISER,
    BOTH,
    EE_LTE_HZ,
    OFFICER,
    OFFICER2,
    VALID_IMEI,
    VIEWER,
    make_world,
    write_snippet,
)


def _authorised(world):
    case_id = world.identified_case()
    request = world.workflow.draft(OFFICER, case_id, "used in cell A-0-03 over three days")
    return world.workflow.authorise(AUTHORISER, request.id)


def _deliver(world, request_id, status="acknowledged", reference="O2-REF-1"):
    """What the outbox does once the operator has the message."""
    with world.sessions() as db:
        message = db.scalar(select(OutboxMessage).where(OutboxMessage.request_id == request_id))
        world.workflow.on_delivered(db, message, DeliveryResult(status=status, reference=reference))
        message.status = "delivered"
        db.commit()


def test_viewer_can_never_open_a_case_or_draft(world):
    incident = world.seed_incident()
    with pytest.raises(ForbiddenError, match="officer role"):
        world.workflow.open_case(VIEWER, [incident])
    case_id = world.identified_case()
    with pytest.raises(ForbiddenError, match="officer role"):
        world.workflow.draft(VIEWER, case_id, "grounds")


def test_drafter_can_never_authorise_even_holding_the_authoriser_role(world):
    case_id = world.identified_case()
    request = world.workflow.draft(BOTH, case_id, "grounds")
    with pytest.raises(ForbiddenError, match="two-person rule"):
        world.workflow.authorise(BOTH, request.id)
    with pytest.raises(ForbiddenError, match="two-person rule"):
        world.workflow.reject(BOTH, request.id, "no")


def test_officer_without_authoriser_role_cannot_authorise(world):
    request = world.workflow.draft(OFFICER, world.identified_case(), "grounds")
    with pytest.raises(ForbiddenError, match="authoriser role"):
        world.workflow.authorise(OFFICER2, request.id)


def test_case_without_identifiers_stays_a_case_until_one_is_attached(world):
    case = world.workflow.open_case(OFFICER, [world.seed_incident()], search_tasking="search A-0-03 and A-0-04")
    assert case.status == "identification_pending"
    with pytest.raises(ConflictError, match="identification pending"):
        world.workflow.draft(OFFICER, case.id, "grounds")
    world.workflow.add_identifier(OFFICER, case.id, "imsi", "234150999999999", "lawful_identification", "LIE-0042")
    assert world.workflow.draft(OFFICER, case.id, "grounds").status == "drafted"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("imei", "490154203237519", "Luhn"),
        ("imei", "12345", "15 digits"),
        ("msisdn", "call me", "E.164"),
        ("shoe-size", "9", "unknown identifier kind"),
    ],
)
def test_mistyped_identifiers_are_refused_with_the_reason(world, kind, value, message):
    case = world.workflow.open_case(OFFICER, [world.seed_incident()])
    with pytest.raises(InvalidError, match=message):
        world.workflow.add_identifier(OFFICER, case.id, kind, value, "seized_handset", "exhibit 1")


def test_identifier_needs_a_source_and_reference(world):
    case = world.workflow.open_case(OFFICER, [world.seed_incident()])
    with pytest.raises(InvalidError, match="source must be"):
        world.workflow.add_identifier(OFFICER, case.id, "imei", VALID_IMEI, "rf_detection", "x")
    with pytest.raises(InvalidError, match="source_reference"):
        world.workflow.add_identifier(OFFICER, case.id, "imei", VALID_IMEI, "seized_handset", "  ")


def test_unknown_incident_and_case_are_not_found(world):
    with pytest.raises(NotFoundError, match="no incident"):
        world.workflow.open_case(OFFICER, ["nope"])
    with pytest.raises(NotFoundError, match="no case"):
        world.workflow.draft(OFFICER, "nope", "grounds")


def test_operator_comes_from_the_band_plan_block_and_must_be_chosen_when_ambiguous(world):
    case_id = world.identified_case()
    with pytest.raises(InvalidError, match="holds none of the blocks"):
        world.workflow.draft(OFFICER, case_id, "grounds", operator="EE")
    ee = world.seed_incident(freq_hz=EE_LTE_HZ, operators=("EE",), band="B3")
    world.workflow.attach_incidents(OFFICER, case_id, [ee])
    with pytest.raises(InvalidError, match="one request per operator"):
        world.workflow.draft(OFFICER, case_id, "grounds")
    assert world.workflow.draft(OFFICER, case_id, "grounds", operator="EE").operator == "EE"


def test_register_of_authorised_devices_blocks_drafting(tmp_path, sessions):
    register = [AuthorisedDevice(id="ICP-A-0-03", description="in-cell phone", rooms=["A-0-03"])]
    route = {"adapter": "export_folder", "path": str(tmp_path / "export")}
    world = make_world(tmp_path, sessions, {"O2": route}, register=register)
    with pytest.raises(ConflictError, match="ICP-A-0-03"):
        world.workflow.draft(OFFICER, world.identified_case(), "grounds")


def test_authorisation_freezes_a_signed_pack_and_queues_exactly_one_issue(world):
    case_id = world.identified_case()
    world.workflow.attach_snippet(OFFICER, case_id, write_snippet(world.config.snippet_dir, "a0-03.sigmf-meta"))
    request = world.workflow.draft(OFFICER, case_id, "grounds")
    request = world.workflow.authorise(AUTHORISER, request.id)
    assert request.status == "authorised" and request.authorised_by == "authoriser1"
    problems, manifest = verify_pack(request.pack_path, world.key.public_b64)
    assert problems == [], problems
    assert "snippets/a0-03.sigmf-data" in manifest["files"]
    with world.sessions() as db:
        messages = db.scalars(select(OutboxMessage).where(OutboxMessage.request_id == request.id)).all()
    assert [(m.kind, m.status, m.operator) for m in messages] == [("issue", "pending", "O2")]


def test_every_transition_is_timestamped_attributed_and_audited(world):
    request = _authorised(world)
    _deliver(world, request.id, status="acknowledged")
    world.workflow.record_operator_status("operator:O2", request.id, "actioned", "O2-REF-1")
    with world.sessions() as db:
        moves = db.scalars(
            select(RequestTransition).where(RequestTransition.request_id == request.id).order_by(RequestTransition.id)
        ).all()
        actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert [(m.from_status, m.to_status, m.actor) for m in moves] == [
        ("", "drafted", "officer1"),
        ("drafted", "authorised", "authoriser1"),
        ("authorised", "submitted", "system"),
        ("submitted", "acknowledged", "operator:O2"),
        ("acknowledged", "actioned", "operator:O2"),
    ]
    assert all(m.at > 0 for m in moves)
    for action in ("request.draft", "request.authorised", "request.submitted", "request.acknowledged"):
        assert action in actions
    assert verify_database(world.sessions.kw["bind"].url).ok


def test_rejection_needs_a_reason_and_ends_the_request(world):
    request = world.workflow.draft(OFFICER, world.identified_case(), "grounds")
    with pytest.raises(InvalidError, match="reason"):
        world.workflow.reject(AUTHORISER, request.id, " ")
    rejected = world.workflow.reject(AUTHORISER, request.id, "location confidence too low for court")
    assert rejected.status == "rejected" and rejected.reason == "location confidence too low for court"
    with pytest.raises(ConflictError, match="cannot become authorised"):
        world.workflow.authorise(AUTHORISER, request.id)


def test_withdrawn_before_delivery_is_never_sent(world):
    request = _authorised(world)
    world.workflow.withdraw(OFFICER, request.id, "device found and seized")
    with world.sessions() as db:
        message = db.scalar(select(OutboxMessage).where(OutboxMessage.request_id == request.id))
        assert not world.workflow.should_send(db, message)


def test_withdrawal_after_issue_tells_the_operator(world):
    request = _authorised(world)
    _deliver(world, request.id)
    world.workflow.withdraw(OFFICER, request.id, "device found and seized")
    with world.sessions() as db:
        kinds = db.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == request.id)).all()
    assert sorted(kinds) == ["issue", "withdraw"]


def test_deadline_is_the_fifth_working_day_skipping_bank_holidays():
    cal = calendar("england-wales")
    # Served Thursday 24 Dec 2026: 25 and 28 Dec (Boxing Day substitute) and 1 Jan are bank holidays.
    assert add_working_days(dt.date(2026, 12, 24), 5, cal) == dt.date(2027, 1, 5)
    assert add_working_days(dt.date(2026, 11, 23), 5, cal) == dt.date(2026, 11, 30)
    closure = calendar("england-wales", (dt.date(2026, 11, 25),))
    assert add_working_days(dt.date(2026, 11, 23), 5, closure) == dt.date(2026, 12, 1)


def test_deadline_past_the_holiday_data_fails_loudly():
    with pytest.raises(JurisdictionError, match="only covers dates up to"):
        add_working_days(dt.date(2028, 12, 28), 5, calendar("england-wales"))


def test_delivery_sets_the_deadline_from_the_template(world):
    world.clock.now = dt.datetime(2026, 12, 24, 10, 0, tzinfo=dt.UTC).timestamp()
    request = _authorised(world)
    _deliver(world, request.id, status="submitted")
    with world.sessions() as db:
        stored = db.get(DisconnectionRequest, request.id)
    assert stored.status == "submitted" and stored.deadline == "2027-01-05"


def test_orders_past_their_deadline_and_stale_drafts_expire(world):
    world.clock.now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC).timestamp()
    issued = _authorised(world)
    _deliver(world, issued.id, status="acknowledged")
    draft = world.workflow.draft(OFFICER, world.identified_case(), "grounds")
    world.clock.now += 8 * 86400  # deadline 30 Nov has passed; the draft is 8 days old
    assert world.workflow.expire_due() == [issued.id]
    world.clock.now += 7 * 86400
    assert world.workflow.expire_due() == [draft.id]
    late = world.workflow.record_operator_status("operator:O2", issued.id, "actioned", None)
    assert late.status == "actioned", "an operator acting after the deadline is still recorded"


def test_carve_out_excludes_the_identifier_and_tells_the_operator(world):
    request = _authorised(world)
    _deliver(world, request.id)
    with world.sessions() as db:
        identifier = db.scalar(select(DeviceIdentifier))
    with pytest.raises(InvalidError, match="grounds"):
        world.workflow.carve_out(OFFICER, request.id, identifier.id, "because", "reason")
    world.workflow.carve_out(OFFICER, request.id, identifier.id, "authorised", "approved prisoner device")
    with world.sessions() as db:
        kinds = db.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == request.id)).all()
    assert "carve_out" in kinds


def test_post_order_verification_sees_whether_the_channel_went_quiet(world):
    request = _authorised(world)
    _deliver(world, request.id, status="actioned")
    assert world.workflow.verify_order("system", request.id)["result"] == "no activity so far"
    world.clock.now += 8 * 86400
    assert world.workflow.verify_order("system", request.id)["result"] == "activity stopped"
    world.seed_incident(start_s=world.clock.now - 86400, windows=2)  # the same channel and cell, after the order
    verdict = world.workflow.verify_order("system", request.id)
    assert verdict["result"] == "activity continues" and verdict["activity_after"] == 2


@pytest.mark.parametrize("template_id", ["england-wales-tro", "scotland-tro", "us-fcc-qualifying-request"])
def test_every_jurisdiction_template_loads_with_a_usable_calendar(template_id):
    legal = jurisdiction(template_id)
    served = dt.date(2026, 11, 23)
    deadline = add_working_days(served, legal.deadline_working_days, calendar(legal.calendar))
    assert deadline > served and legal.sources and legal.requires_identifier


def test_unknown_jurisdiction_names_the_known_ones():
    with pytest.raises(JurisdictionError, match="england-wales-tro"):
        jurisdiction("mars")
