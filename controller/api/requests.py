"""Cases, disconnection requests, their evidence, and the audit log (one router each, one module)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from controller.accounts import Principal
from controller.api.deps import AUTH_RESPONSES, ControllerDep, LoggedIn, Reader, SeqQuery, require
from controller.api.models.requests import (
    AuditEntryOut,
    AuditVerifyOut,
    CarveOutCreate,
    CarveOutOut,
    CaseCreate,
    CaseDetail,
    CaseOut,
    IdentifierCreate,
    IdentifierOut,
    IncidentIds,
    JurisdictionOut,
    OperatorStatus,
    Reason,
    RequestCreate,
    RequestDetail,
    RequestOut,
    RequestStatus,
    SnippetAttach,
    SnippetOut,
    TransitionOut,
)
from controller.audit import AuditEntry
from controller.audit.log import verify_session
from controller.evidence import zip_pack
from controller.evidence.pack import PACK_JSON, REPORT
from controller.jurisdictions import JurisdictionError, jurisdiction, jurisdiction_ids
from controller.requests.errors import WorkflowError
from controller.requests.models import (
    CarveOut,
    Case,
    CaseIncident,
    CaseSnippet,
    DeviceIdentifier,
    DisconnectionRequest,
    RequestIncident,
    RequestTransition,
)
from controller.requests.workflow import RequestWorkflow

T = TypeVar("T")
EVIDENCE_ROLES = frozenset({"officer", "authoriser", "auditor"})
AUDIT_ROLES = frozenset({"auditor"})
RESPONSES: dict[int | str, dict[str, str]] = {
    **AUTH_RESPONSES,
    404: {"description": "No such item, or requests are not enabled on this controller"},
    409: {"description": "Not possible in the current state (status, identification pending, register match)"},
}
EvidenceReader = Annotated[Principal, Depends(require(EVIDENCE_ROLES))]
Auditor = Annotated[Principal, Depends(require(AUDIT_ROLES))]

cases = APIRouter(prefix="/api/cases", tags=["cases"], responses=RESPONSES)
requests = APIRouter(prefix="/api/requests", tags=["requests"], responses=RESPONSES)
audit = APIRouter(prefix="/api/audit", tags=["audit"], responses=AUTH_RESPONSES)
jurisdictions = APIRouter(prefix="/api/jurisdictions", tags=["requests"], responses=AUTH_RESPONSES)
routers = (cases, requests, audit, jurisdictions)


def get_workflow(controller: ControllerDep) -> RequestWorkflow:
    runtime = getattr(controller, "requests", None)
    if runtime is None:
        # 404, not 503: on this deployment the resource does not exist; nothing is failing.
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "disconnection requests are not enabled on this controller (add a requests: section to its config)",
        )
    return runtime.workflow


Workflow = Annotated[RequestWorkflow, Depends(get_workflow)]


def run(action: Callable[[], T]) -> T:
    """Workflow refusals become 4xx answers carrying the workflow's own message."""
    try:
        return action()
    except WorkflowError as exc:
        raise HTTPException(exc.http_status, str(exc)) from None
    except JurisdictionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


# -- cases -------------------------------------------------------------------------------------------------


def _case_detail(workflow: RequestWorkflow, case_id: str) -> CaseDetail:
    with workflow.sessions() as db:
        case = db.get(Case, case_id)
        if case is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        return CaseDetail(
            **CaseOut.model_validate(case).model_dump(),
            incident_ids=list(db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == case_id))),
            identifiers=[
                IdentifierOut.model_validate(i)
                for i in db.scalars(select(DeviceIdentifier).where(DeviceIdentifier.case_id == case_id))
            ],
            snippets=[
                SnippetOut.model_validate(s)
                for s in db.scalars(select(CaseSnippet).where(CaseSnippet.case_id == case_id))
            ],
        )


@cases.post("", status_code=status.HTTP_201_CREATED)
def open_case(body: CaseCreate, actor: LoggedIn, workflow: Workflow) -> CaseDetail:
    case = run(lambda: workflow.open_case(actor, body.incident_ids, body.summary, body.search_tasking))
    return _case_detail(workflow, case.id)


@cases.get("")
def list_cases(
    _: Reader,
    workflow: Workflow,
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[CaseOut]:
    query = select(Case).order_by(Case.updated_at.desc()).limit(limit)
    if status_ is not None:
        query = query.where(Case.status == status_)
    with workflow.sessions() as db:
        return [CaseOut.model_validate(case) for case in db.scalars(query)]


@cases.get("/{case_id}")
def get_case(case_id: str, _: EvidenceReader, workflow: Workflow) -> CaseDetail:
    """A case with its device identifiers: personal data, so not for the plain viewer role."""
    return _case_detail(workflow, case_id)


@cases.post("/{case_id}/incidents")
def attach_incidents(case_id: str, body: IncidentIds, actor: LoggedIn, workflow: Workflow) -> CaseDetail:
    run(lambda: workflow.attach_incidents(actor, case_id, body.incident_ids))
    return _case_detail(workflow, case_id)


@cases.post("/{case_id}/identifiers", status_code=status.HTTP_201_CREATED)
def add_identifier(case_id: str, body: IdentifierCreate, actor: LoggedIn, workflow: Workflow) -> IdentifierOut:
    identifier = run(
        lambda: workflow.add_identifier(actor, case_id, body.kind, body.value, body.source, body.source_reference)
    )
    return IdentifierOut.model_validate(identifier)


@cases.post("/{case_id}/snippets", status_code=status.HTTP_201_CREATED)
def attach_snippet(case_id: str, body: SnippetAttach, actor: LoggedIn, workflow: Workflow) -> SnippetOut:
    return SnippetOut.model_validate(run(lambda: workflow.attach_snippet(actor, case_id, body.file)))


# -- requests ----------------------------------------------------------------------------------------------


def _request_detail(workflow: RequestWorkflow, request_id: str) -> RequestDetail:
    with workflow.sessions() as db:
        request = db.get(DisconnectionRequest, request_id)
        if request is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no request {request_id}")
        where = RequestTransition.request_id == request_id
        return RequestDetail(
            **RequestOut.model_validate(request).model_dump(),
            incident_ids=list(
                db.scalars(select(RequestIncident.incident_id).where(RequestIncident.request_id == request_id))
            ),
            transitions=[
                TransitionOut.model_validate(t)
                for t in db.scalars(select(RequestTransition).where(where).order_by(RequestTransition.id))
            ],
            carve_outs=[
                CarveOutOut.model_validate(c)
                for c in db.scalars(select(CarveOut).where(CarveOut.request_id == request_id))
            ],
        )


@requests.post("", status_code=status.HTTP_201_CREATED)
def draft_request(body: RequestCreate, actor: LoggedIn, workflow: Workflow) -> RequestDetail:
    request = run(lambda: workflow.draft(actor, body.case_id, body.grounds, body.operator, body.jurisdiction))
    return _request_detail(workflow, request.id)


@requests.get("")
def list_requests(
    _: Reader,
    workflow: Workflow,
    status_: Annotated[list[RequestStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RequestOut]:
    query = select(DisconnectionRequest).order_by(DisconnectionRequest.updated_at.desc()).limit(limit)
    if status_:
        query = query.where(DisconnectionRequest.status.in_(status_))
    with workflow.sessions() as db:
        return [RequestOut.model_validate(r) for r in db.scalars(query)]


@requests.get("/{request_id}")
def get_request(request_id: str, _: Reader, workflow: Workflow) -> RequestDetail:
    return _request_detail(workflow, request_id)


@requests.post("/{request_id}/authorise")
def authorise(request_id: str, actor: LoggedIn, workflow: Workflow) -> RequestDetail:
    """Second person (authoriser role, not the drafter) approves; the signed pack is built and issue queued."""
    run(lambda: workflow.authorise(actor, request_id))
    return _request_detail(workflow, request_id)


@requests.post("/{request_id}/reject")
def reject(request_id: str, body: Reason, actor: LoggedIn, workflow: Workflow) -> RequestDetail:
    run(lambda: workflow.reject(actor, request_id, body.reason))
    return _request_detail(workflow, request_id)


@requests.post("/{request_id}/withdraw")
def withdraw(request_id: str, body: Reason, actor: LoggedIn, workflow: Workflow) -> RequestDetail:
    run(lambda: workflow.withdraw(actor, request_id, body.reason))
    return _request_detail(workflow, request_id)


@requests.post("/{request_id}/operator-status")
def operator_status(request_id: str, body: OperatorStatus, actor: LoggedIn, workflow: Workflow) -> RequestDetail:
    """An officer records the operator's answer received by mail or on paper."""
    run(lambda: workflow.officer_records_operator_status(actor, request_id, body.status, body.reference, body.reason))
    return _request_detail(workflow, request_id)


@requests.post("/{request_id}/carve-outs", status_code=status.HTTP_201_CREATED)
def carve_out(request_id: str, body: CarveOutCreate, actor: LoggedIn, workflow: Workflow) -> CarveOutOut:
    carve = run(lambda: workflow.carve_out(actor, request_id, body.identifier_id, body.grounds, body.reason))
    return CarveOutOut.model_validate(carve)


@requests.post("/{request_id}/verification")
def verify_order(request_id: str, actor: LoggedIn, workflow: Workflow) -> dict:
    """Post-order check: has the device's channel gone quiet in the located cells since it was actioned?"""
    if not actor.has_any(frozenset({"officer", "authoriser"})):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs the officer or authoriser role")
    return run(lambda: workflow.verify_order(actor.username, request_id))


@requests.get("/{request_id}/pack")
def get_pack(request_id: str, actor: EvidenceReader, workflow: Workflow) -> FileResponse:
    """pack.json of the request's signed evidence pack (viewing is audited)."""
    path = run(lambda: workflow.view_pack(actor, request_id))
    return FileResponse(path / PACK_JSON, media_type="application/json")


@requests.get("/{request_id}/report")
def get_report(request_id: str, actor: EvidenceReader, workflow: Workflow) -> FileResponse:
    """The human-readable report (self-contained HTML; viewing is audited)."""
    path = run(lambda: workflow.view_pack(actor, request_id))
    return FileResponse(path / REPORT, media_type="text/html")


@requests.get("/{request_id}/pack.zip")
def get_pack_zip(request_id: str, actor: EvidenceReader, workflow: Workflow) -> Response:
    """The whole signed pack as a zip, checkable with `cellward evidence verify` (download is audited)."""
    path = run(lambda: workflow.view_pack(actor, request_id))
    return Response(
        zip_pack(path),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="evidence-{request_id}.zip"'},
    )


# -- audit and jurisdictions -------------------------------------------------------------------------------


@audit.get("")
def list_audit(
    _: Auditor,
    controller: ControllerDep,
    after_seq: SeqQuery = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditEntryOut]:
    query = select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    with controller.sessions() as db:
        return [AuditEntryOut.model_validate(entry) for entry in db.scalars(query)]


@audit.get("/verify")
def verify_audit(_: Auditor, controller: ControllerDep) -> AuditVerifyOut:
    with controller.sessions() as db:
        report = verify_session(db)
    broken = report.first_break
    return AuditVerifyOut(
        ok=report.ok,
        entries=report.entries,
        head_hash=report.head_hash,
        first_broken_seq=broken.seq if broken else None,
        problem=broken.problem if broken else None,
    )


@jurisdictions.get("")
def list_jurisdictions(_: Reader) -> list[JurisdictionOut]:
    return [JurisdictionOut.model_validate(jurisdiction(i).model_dump()) for i in jurisdiction_ids()]
