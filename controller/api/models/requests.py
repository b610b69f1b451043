"""Request and response bodies of the cases, requests and audit routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.requests.identifiers import KINDS, SOURCES
from controller.requests.lifecycle import STATUSES

RequestStatus = Literal[STATUSES]  # type: ignore[valid-type]
IdentifierKind = Literal[KINDS]  # type: ignore[valid-type]
IdentifierSource = Literal[SOURCES]  # type: ignore[valid-type]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CaseCreate(Body):
    incident_ids: list[str] = Field(min_length=1, max_length=200, description="Incidents of one suspected device")
    summary: str = Field(default="", max_length=4000, description="What is known so far")
    search_tasking: str = Field(default="", max_length=4000, description="What the search team is asked to do")


class IncidentIds(Body):
    incident_ids: list[str] = Field(min_length=1, max_length=200)


class IdentifierCreate(Body):
    kind: IdentifierKind = Field(description="imei, imsi, msisdn, iccid, ...")
    value: str = Field(min_length=1, max_length=64)
    source: IdentifierSource = Field(description="seized_handset, lawful_identification or other (never RF)")
    source_reference: str = Field(min_length=1, max_length=256, description="Exhibit, report or warrant reference")


class SnippetAttach(Body):
    file: str = Field(min_length=1, max_length=255, description="Bare .sigmf-meta file name in the snippet folder")


class IdentifierOut(Out):
    id: int
    kind: str
    value: str
    source: str
    source_reference: str
    added_by: str
    added_at: float


class SnippetOut(Out):
    id: int
    path: str
    sha256: str
    added_by: str
    added_at: float


class CaseOut(Out):
    id: str
    status: str
    summary: str
    search_tasking: str
    created_by: str
    created_at: float
    updated_at: float


class CaseDetail(CaseOut):
    incident_ids: list[str]
    identifiers: list[IdentifierOut]
    snippets: list[SnippetOut]


class RequestCreate(Body):
    case_id: str = Field(min_length=1, max_length=36)
    grounds: str = Field(min_length=1, max_length=8000, description="Why this device should be disconnected")
    operator: str | None = Field(default=None, max_length=64, description="Network; needed when several fit")
    jurisdiction: str | None = Field(default=None, max_length=64, description="Template id; default from config")


class Reason(Body):
    reason: str = Field(min_length=1, max_length=4000)


class OperatorStatus(Body):
    status: Literal["acknowledged", "actioned", "rejected"]
    reference: str | None = Field(default=None, max_length=128, description="The operator's order reference")
    reason: str = Field(default="", max_length=4000)


class CarveOutCreate(Body):
    identifier_id: int = Field(ge=1)
    grounds: Literal["outside", "authorised"]
    reason: str = Field(min_length=1, max_length=4000)


class TransitionOut(Out):
    from_status: str
    to_status: str
    actor: str
    at: float
    reason: str


class CarveOutOut(Out):
    id: int
    identifier_id: int
    grounds: str
    reason: str
    by: str
    at: float


class RequestOut(Out):
    id: str
    case_id: str
    jurisdiction: str
    operator: str
    status: RequestStatus
    institution: str
    grounds: str
    drafted_by: str
    drafted_at: float
    authorised_by: str | None
    authorised_at: float | None
    reason: str | None
    submitted_at: float | None
    acknowledged_at: float | None
    actioned_at: float | None
    deadline: str | None
    operator_reference: str | None
    pack_sha256: str | None
    verification: dict | None
    updated_at: float


class RequestDetail(RequestOut):
    incident_ids: list[str]
    transitions: list[TransitionOut]
    carve_outs: list[CarveOutOut]


class AuditEntryOut(Out):
    seq: int
    ts: float
    actor: str
    action: str
    target: str
    details: str
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    first_broken_seq: int | None
    problem: str | None


class JurisdictionOut(BaseModel):
    id: str
    name: str
    statute: str
    decision_maker: str
    deadline_working_days: int
