"""The disconnection workflow: cases, drafting, two-person authorisation, issue, tracking, carve-outs, checks.

Every method takes the acting Principal, checks its role server-side, changes state in one transaction,
writes a RequestTransition for status changes and an audit entry for everything, and returns the row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cellward.recording import RecordingError, open_recording
from cellward.signing import NodeKey
from controller.accounts import Principal
from controller.audit import record
from controller.db.incidents import IncidentActivity, IncidentRecord
from controller.events import LifecycleEvent
from controller.evidence.build import EvidenceSources, build_pack, iso, register_check, sha256_file
from controller.evidence.pack import MANIFEST, SIGNATURE, write_pack
from controller.evidence.report_html import render_report
from controller.jurisdictions import add_working_days, calendar, jurisdiction
from controller.operators.adapter import DeliveryResult
from controller.operators.outbox import enqueue
from controller.operators.outbox_model import OutboxMessage
from controller.requests.changes import RequestChanges
from controller.requests.config import RequestsConfig
from controller.requests.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from controller.requests.identifiers import SOURCES, identifier_problem
from controller.requests.lifecycle import OPEN_ORDER, OPERATOR_REPORTS, check_move
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

log = logging.getLogger("cellward.controller.requests")
OFFICER = frozenset({"officer"})
DAY_S = 86400.0


def require_officer(actor: Principal) -> None:
    if not actor.has_any(OFFICER):
        raise ForbiddenError(f"user {actor.username} needs the officer role for this")


def require_authoriser(actor: Principal) -> None:
    # Strictly the authoriser role: admin does not stand in for it (separation of duties).
    if "authoriser" not in actor.roles:
        raise ForbiddenError(f"user {actor.username} needs the authoriser role to authorise or reject requests")


class RequestWorkflow:
    """Cases and disconnection requests over the controller database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: RequestsConfig,
        sources: EvidenceSources,
        signer: NodeKey,
        tz: ZoneInfo,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[LifecycleEvent], None] | None = None,
    ) -> None:
        """`on_change` receives each committed status change as a lifecycle event (the controller publishes it)."""
        self.sessions = sessions
        self.config = config
        self.sources = sources
        self.signer = signer
        self.tz = tz
        self.clock = clock
        self.changes = RequestChanges(on_change) if on_change is not None else None

    # -- cases ---------------------------------------------------------------------------------------

    def open_case(
        self, actor: Principal, incident_ids: Sequence[str], summary: str = "", search_tasking: str = ""
    ) -> Case:
        """A case for one suspected device from one or more incidents; identification is pending."""
        require_officer(actor)
        if not incident_ids:
            raise InvalidError("a case needs at least one incident id")
        now = self.clock()
        with self.sessions() as db:
            self._incidents(db, incident_ids)
            case = Case(
                id=str(uuid.uuid4()),
                status="identification_pending",
                summary=summary,
                search_tasking=search_tasking,
                created_by=actor.username,
                created_at=now,
                updated_at=now,
            )
            db.add(case)
            db.flush()
            db.add_all(CaseIncident(case_id=case.id, incident_id=i) for i in dict.fromkeys(incident_ids))
            record(db, actor.username, "case.open", f"case:{case.id}", {"incidents": list(incident_ids)}, now)
            db.commit()
            return case

    def attach_incidents(self, actor: Principal, case_id: str, incident_ids: Sequence[str]) -> Case:
        require_officer(actor)
        with self.sessions() as db:
            case = self._case(db, case_id)
            self._incidents(db, incident_ids)
            have = set(db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == case_id)))
            new = [i for i in dict.fromkeys(incident_ids) if i not in have]
            db.add_all(CaseIncident(case_id=case_id, incident_id=i) for i in new)
            case.updated_at = self.clock()
            record(db, actor.username, "case.attach_incidents", f"case:{case_id}", {"incidents": new})
            db.commit()
            return case

    def add_identifier(
        self, actor: Principal, case_id: str, kind: str, value: str, source: str, source_reference: str
    ) -> DeviceIdentifier:
        """Attach an identifier learnt from a seized handset or lawful identification (never from RF)."""
        require_officer(actor)
        value = value.strip()
        problem = identifier_problem(kind, value)
        if problem is not None:
            raise InvalidError(problem)
        if source not in SOURCES:
            raise InvalidError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        if not source_reference.strip():
            raise InvalidError("source_reference is required (exhibit number, report or warrant reference)")
        now = self.clock()
        with self.sessions() as db:
            case = self._case(db, case_id)
            if case.status == "closed":
                raise ConflictError(f"case {case_id} is closed")
            identifier = DeviceIdentifier(
                case_id=case_id,
                kind=kind,
                value=value,
                source=source,
                source_reference=source_reference.strip(),
                added_by=actor.username,
                added_at=now,
            )
            db.add(identifier)
            case.status = "identified"
            case.updated_at = now
            db.flush()
            record(
                db,
                actor.username,
                "case.add_identifier",
                f"case:{case_id}",
                {"identifier": identifier.id, "kind": kind, "value": value, "source": source},
                now,
            )
            db.commit()
            return identifier

    def attach_snippet(self, actor: Principal, case_id: str, name: str) -> CaseSnippet:
        """Attach a SigMF capture from the snippet folder by file name (no paths: nothing outside it)."""
        require_officer(actor)
        folder = self.config.snippet_dir
        if folder is None:
            raise ConflictError("no snippet_dir is configured in requests: snippets cannot be attached")
        if Path(name).name != name or not name.endswith(".sigmf-meta"):
            raise InvalidError(f"give the bare file name of a .sigmf-meta in the snippet folder, got {name!r}")
        meta = folder / name
        try:
            recording = open_recording(meta, verify_checksum=True)
        except RecordingError as exc:
            raise InvalidError(f"snippet {name}: {exc}") from None
        now = self.clock()
        with self.sessions() as db:
            self._case(db, case_id)
            snippet = CaseSnippet(
                case_id=case_id,
                path=name,
                sha256=sha256_file(recording.data_path),
                added_by=actor.username,
                added_at=now,
            )
            db.add(snippet)
            db.flush()
            record(
                db, actor.username, "case.attach_snippet", f"case:{case_id}", {"file": name, "sha256": snippet.sha256}
            )
            db.commit()
            return snippet

    # -- requests ------------------------------------------------------------------------------------

    def draft(
        self,
        actor: Principal,
        case_id: str,
        grounds: str,
        operator: str | None = None,
        jurisdiction_id: str | None = None,
    ) -> DisconnectionRequest:
        """Draft a request to the operator whose block the device used; identifiers must be attached."""
        require_officer(actor)
        if not grounds.strip():
            raise InvalidError("grounds are required: why this device should be disconnected")
        legal = jurisdiction(jurisdiction_id or self.config.jurisdiction)
        now = self.clock()
        with self.sessions() as db:
            case = self._case(db, case_id)
            incidents = self._case_incidents(db, case_id)
            identifiers = self._identifiers(db, case_id)
            if legal.requires_identifier and not identifiers:
                raise ConflictError(
                    f"case {case_id}: identification pending - attach an identifier (IMEI, IMSI, MSISDN ...) from a "
                    "seized handset or lawful identification before drafting a request"
                )
            wrong = [i.kind for i in identifiers if i.kind not in legal.identifier_kinds]
            if wrong and len(wrong) == len(identifiers):
                raise ConflictError(f"{legal.name} recognises none of the attached identifier kinds {wrong}")
            operators = list(dict.fromkeys(op for incident in incidents for op in incident.operators))
            operator = self._choose_operator(operator, operators)
            if operator not in self.config.operators:
                raise ConflictError(
                    f"no delivery route is configured for operator {operator} (requests.operators in the config)"
                )
            register = register_check(incidents, self.sources.register, now)
            if register.result != "not authorised":
                raise ConflictError(
                    "the device may be authorised: register matches "
                    f"{register.matches or '-'}, suppressed incidents {register.suppressed_incidents or '-'}"
                )
            request = DisconnectionRequest(
                id=str(uuid.uuid4()),
                case_id=case.id,
                jurisdiction=legal.id,
                operator=operator,
                status="drafted",
                institution=self.config.institution,
                grounds=grounds.strip(),
                drafted_by=actor.username,
                drafted_at=now,
                updated_at=now,
            )
            db.add(request)
            db.flush()
            db.add_all(RequestIncident(request_id=request.id, incident_id=i.id) for i in incidents)
            self._note(db, request, actor.username, new=True)
            db.add(
                RequestTransition(
                    request_id=request.id, from_status="", to_status="drafted", actor=actor.username, at=now, reason=""
                )
            )
            record(
                db,
                actor.username,
                "request.draft",
                f"request:{request.id}",
                {
                    "case": case.id,
                    "operator": operator,
                    "jurisdiction": legal.id,
                    "incidents": [i.id for i in incidents],
                },
                now,
            )
            db.commit()
            return request

    def authorise(self, actor: Principal, request_id: str) -> DisconnectionRequest:
        """Second person authorises: the signed evidence pack is frozen and the request queued to the operator."""
        require_authoriser(actor)
        now = self.clock()
        with self.sessions() as db:
            request = self._request(db, request_id)
            if request.drafted_by == actor.username:
                raise ForbiddenError(
                    f"two-person rule: {actor.username} drafted request {request_id} and cannot authorise it"
                )
            check_move(request.status, "authorised")
            self._note(db, request, actor.username)  # the state before, for the estate
            request.authorised_by = actor.username
            request.authorised_at = now
            legal = jurisdiction(request.jurisdiction)
            incidents = self._request_incidents(db, request.id)
            identifiers = self._identifiers(db, request.case_id)
            snippets = self._snippet_paths(db, request.case_id)
            pack = build_pack(
                db, request, request.institution, legal, incidents, identifiers, snippets, self.sources, now
            )
            pack_dir = Path(self.config.evidence_dir) / request.id / pack.pack_id
            request.pack_sha256 = write_pack(
                pack_dir, pack, render_report(pack, self.sources.site, snippets), snippets, self.signer
            )
            request.pack_path = str(pack_dir)
            self._move(db, request, "authorised", actor.username, "", now)
            body = {
                "schema": "cellward.operator-request/1",
                "request_id": request.id,
                "operator": request.operator,
                "jurisdiction": legal.id,
                "instrument": legal.instrument,
                "deadline_working_days": legal.deadline_working_days,
                "institution": request.institution,
                "identifiers": [{"kind": i.kind, "value": i.value} for i in identifiers],
                "pack_sha256": request.pack_sha256,
                "pack": pack.model_dump(mode="json", by_alias=True),
                "manifest": json.loads((pack_dir / MANIFEST).read_text()),
                "signature": (pack_dir / SIGNATURE).read_text().strip(),
            }
            enqueue(db, request.id, request.operator, "issue", body, now)
            db.commit()
            return request

    def reject(self, actor: Principal, request_id: str, reason: str) -> DisconnectionRequest:
        require_authoriser(actor)
        if not reason.strip():
            raise InvalidError("a rejection needs a reason")
        with self.sessions() as db:
            request = self._request(db, request_id)
            if request.status != "drafted":
                raise ConflictError(
                    f"only drafted requests can be rejected by an authoriser; this one is {request.status}"
                )
            if request.drafted_by == actor.username:
                raise ForbiddenError(f"two-person rule: {actor.username} drafted request {request_id}")
            self._move(db, request, "rejected", actor.username, reason.strip(), self.clock())
            db.commit()
            return request

    def withdraw(self, actor: Principal, request_id: str, reason: str) -> DisconnectionRequest:
        """Withdraw; if the operator already has it, a withdrawal message follows through the outbox."""
        require_officer(actor)
        if not reason.strip():
            raise InvalidError("a withdrawal needs a reason")
        now = self.clock()
        with self.sessions() as db:
            request = self._request(db, request_id)
            was = request.status
            self._move(db, request, "withdrawn", actor.username, reason.strip(), now)
            if was in OPEN_ORDER:
                body = {"schema": "cellward.operator-request/1", "request_id": request.id, "reason": reason.strip()}
                body["operator_reference"] = request.operator_reference
                enqueue(db, request.id, request.operator, "withdraw", body, now)
            db.commit()
            return request

    def record_operator_status(
        self, actor: str, request_id: str, status: str, reference: str | None = None, reason: str = ""
    ) -> DisconnectionRequest:
        """The operator's outcome, from polling (actor "operator:<name>") or keyed in by an officer."""
        if status not in OPERATOR_REPORTS:
            raise InvalidError(f"operator status must be one of {', '.join(OPERATOR_REPORTS)}, got {status!r}")
        with self.sessions() as db:
            request = self._request(db, request_id)
            self._apply_operator_status(db, request, actor, status, reference, reason, self.clock())
            db.commit()
            return request

    def officer_records_operator_status(
        self, actor: Principal, request_id: str, status: str, reference: str | None, reason: str
    ) -> DisconnectionRequest:
        require_officer(actor)
        return self.record_operator_status(actor.username, request_id, status, reference, reason)

    def _apply_operator_status(
        self,
        db: Session,
        request: DisconnectionRequest,
        actor: str,
        status: str,
        reference: str | None,
        reason: str,
        now: float,
    ) -> None:
        if request.status == status:
            return  # a repeated report (polling) changes nothing
        if status == "rejected" and not reason:
            reason = "rejected by the operator (no reason given)"
        self._move(db, request, status, actor, reason, now)
        if reference:
            request.operator_reference = reference

    def on_delivered(self, db: Session, message: OutboxMessage, result: DeliveryResult) -> None:
        """Called by the outbox in its transaction once the operator has the message."""
        request = self._request(db, message.request_id)
        now = self.clock()
        if message.kind != "issue":
            record(
                db,
                "system",
                f"operator.{message.kind}_delivered",
                f"request:{request.id}",
                {"operator": message.operator},
            )
            return
        self._note(db, request, "system")  # the state before, for the estate
        request.operator_reference = result.reference
        self._move(db, request, "submitted", "system", f"delivered to {message.operator}", now)
        request.submitted_at = now
        legal = jurisdiction(request.jurisdiction)
        served = dt.datetime.fromtimestamp(now, self.tz).date()
        cal = calendar(legal.calendar, tuple(self.config.extra_holidays))
        request.deadline = add_working_days(served, legal.deadline_working_days, cal).isoformat()
        if result.status in OPERATOR_REPORTS:
            self._apply_operator_status(
                db, request, f"operator:{message.operator}", result.status, result.reference, result.reason, now
            )

    def should_send(self, db: Session, message: OutboxMessage) -> bool:
        """An issue message whose request was withdrawn before delivery is never sent."""
        if message.kind != "issue":
            return True
        return self._request(db, message.request_id).status == "authorised"

    def pack_path_of(self, db: Session, request_id: str) -> str | None:
        return self._request(db, request_id).pack_path

    def expire_due(self) -> list[str]:
        """Expire drafts never authorised in time, and orders whose deadline passed without action."""
        now = self.clock()
        today = dt.datetime.fromtimestamp(now, self.tz).date().isoformat()
        expired = []
        with self.sessions() as db:
            candidates = db.scalars(
                select(DisconnectionRequest).where(DisconnectionRequest.status.in_(("drafted", *OPEN_ORDER)))
            ).all()
            for request in candidates:
                if request.status == "drafted" and request.drafted_at < now - self.config.draft_expiry_days * DAY_S:
                    reason = f"not authorised within {self.config.draft_expiry_days:g} days"
                elif request.status in OPEN_ORDER and request.deadline is not None and request.deadline < today:
                    reason = f"operator deadline {request.deadline} passed without action reported"
                else:
                    continue
                self._move(db, request, "expired", "system", reason, now)
                expired.append(request.id)
            db.commit()
        return expired

    def carve_out(self, actor: Principal, request_id: str, identifier_id: int, grounds: str, reason: str) -> CarveOut:
        """Exclude a device later shown to be outside or authorised; the operator is told via the outbox."""
        require_officer(actor)
        if grounds not in ("outside", "authorised"):
            raise InvalidError(f"grounds must be 'outside' or 'authorised', got {grounds!r}")
        if not reason.strip():
            raise InvalidError("a carve-out needs a reason")
        now = self.clock()
        with self.sessions() as db:
            request = self._request(db, request_id)
            if request.status not in (*OPEN_ORDER, "actioned", "expired"):
                raise ConflictError(f"carve-outs apply to issued orders; request {request_id} is {request.status}")
            identifier = db.get(DeviceIdentifier, identifier_id)
            if identifier is None or identifier.case_id != request.case_id:
                raise NotFoundError(f"identifier {identifier_id} is not one of request {request_id}'s identifiers")
            carve = CarveOut(
                request_id=request_id,
                identifier_id=identifier_id,
                grounds=grounds,
                reason=reason.strip(),
                by=actor.username,
                at=now,
            )
            db.add(carve)
            db.flush()
            body = {
                "schema": "cellward.operator-request/1",
                "request_id": request_id,
                "operator_reference": request.operator_reference,
                "identifier": {"kind": identifier.kind, "value": identifier.value},
                "grounds": grounds,
                "reason": reason.strip(),
            }
            enqueue(db, request_id, request.operator, "carve_out", body, now)
            record(
                db,
                actor.username,
                "request.carve_out",
                f"request:{request_id}",
                {"identifier": identifier_id, "grounds": grounds},
                now,
            )
            db.commit()
            return carve

    def verify_order(self, actor: str, request_id: str) -> dict:
        """Post-order check: was the device's channel heard again in the located cells after it was actioned?"""
        now = self.clock()
        with self.sessions() as db:
            request = self._request(db, request_id)
            if request.status != "actioned" or request.actioned_at is None:
                raise ConflictError(f"request {request_id} is {request.status}; only actioned orders can be verified")
            incidents = self._request_incidents(db, request_id)
            cells = {i.cell_id for i in incidents} | {c for i in incidents for c, _ in i.runners_up}
            cells.discard(None)
            tolerance = max(max(i.bandwidth_hz for i in incidents) / 2, 100e3)
            later = []
            for incident in incidents:
                later += db.scalars(
                    select(IncidentActivity).where(
                        IncidentActivity.start_s > request.actioned_at,
                        IncidentActivity.freq_hz.between(incident.freq_hz - tolerance, incident.freq_hz + tolerance),
                        IncidentActivity.cell_id.in_(cells),
                    )
                ).all()
            ids = {a.id for a in later}
            watched_until = request.actioned_at + self.config.verification_window_days * DAY_S
            if ids:
                result = "activity continues"
            elif now >= watched_until:
                result = "activity stopped"
            else:
                result = "no activity so far"
            verification = {
                "checked_at": iso(now),
                "actioned_at": iso(request.actioned_at),
                "watched_until": iso(watched_until),
                "activity_after": len(ids),
                "last_activity": iso(max(a.end_s for a in later)) if later else None,
                "cells": sorted(cells),
                "result": result,
            }
            request.verification = verification
            record(db, actor, "request.verify_order", f"request:{request_id}", verification, now)
            db.commit()
            return verification

    def view_pack(self, actor: Principal, request_id: str) -> Path:
        """The pack directory of a request; viewing evidence is audited."""
        with self.sessions() as db:
            request = self._request(db, request_id)
            if request.pack_path is None:
                raise ConflictError(f"request {request_id} has no evidence pack yet (built when it is authorised)")
            record(db, actor.username, "evidence.view", f"request:{request_id}", {"pack_sha256": request.pack_sha256})
            db.commit()
            return Path(request.pack_path)

    # -- shared pieces -------------------------------------------------------------------------------

    def _note(self, db: Session, request: DisconnectionRequest, actor: str, new: bool = False) -> None:
        """Before a status change: remember the request's state for its lifecycle message (when published)."""
        if self.changes is not None:
            self.changes.note(db, request, actor, new)

    def _move(
        self, db: Session, request: DisconnectionRequest, target: str, actor: str, reason: str, now: float
    ) -> None:
        check_move(request.status, target)
        self._note(db, request, actor)
        db.add(
            RequestTransition(
                request_id=request.id, from_status=request.status, to_status=target, actor=actor, at=now, reason=reason
            )
        )
        record(
            db,
            actor,
            f"request.{target}",
            f"request:{request.id}",
            {"from": request.status, "to": target, "reason": reason},
            now,
        )
        log.info("event=request_status request=%s from=%s to=%s actor=%s", request.id, request.status, target, actor)
        request.status = target
        request.updated_at = now
        if target in ("rejected", "withdrawn", "expired"):
            request.reason = reason
        stamp = {"acknowledged": "acknowledged_at", "actioned": "actioned_at"}.get(target)
        if stamp is not None:
            setattr(request, stamp, now)

    @staticmethod
    def _choose_operator(operator: str | None, operators: list[str]) -> str:
        if not operators:
            raise ConflictError("the case's incidents fall in no operator's block: no operator to serve")
        if operator is None:
            if len(operators) > 1:
                raise InvalidError(
                    f"the activity lies in blocks of {', '.join(operators)}: draft one request per operator "
                    "(give operator)"
                )
            return operators[0]
        if operator not in operators:
            raise InvalidError(f"operator {operator} holds none of the blocks the device used ({', '.join(operators)})")
        return operator

    @staticmethod
    def _case(db: Session, case_id: str) -> Case:
        case = db.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        return case

    @staticmethod
    def _request(db: Session, request_id: str) -> DisconnectionRequest:
        # Row lock (PostgreSQL) so two people acting on one request at once are serialised, not interleaved.
        request = db.get(DisconnectionRequest, request_id, with_for_update=True)
        if request is None:
            raise NotFoundError(f"no request {request_id}")
        return request

    @staticmethod
    def _incidents(db: Session, incident_ids: Sequence[str]) -> list[IncidentRecord]:
        found = db.scalars(select(IncidentRecord).where(IncidentRecord.id.in_(incident_ids))).all()
        missing = sorted(set(incident_ids) - {i.id for i in found})
        if missing:
            raise NotFoundError(f"no incident(s) {', '.join(missing)}")
        return list(found)

    @staticmethod
    def _case_incidents(db: Session, case_id: str) -> list[IncidentRecord]:
        return list(
            db.scalars(
                select(IncidentRecord)
                .join(CaseIncident, CaseIncident.incident_id == IncidentRecord.id)
                .where(CaseIncident.case_id == case_id)
                .order_by(IncidentRecord.first_seen)
            )
        )

    @staticmethod
    def _request_incidents(db: Session, request_id: str) -> list[IncidentRecord]:
        return list(
            db.scalars(
                select(IncidentRecord)
                .join(RequestIncident, RequestIncident.incident_id == IncidentRecord.id)
                .where(RequestIncident.request_id == request_id)
                .order_by(IncidentRecord.first_seen)
            )
        )

    @staticmethod
    def _identifiers(db: Session, case_id: str) -> list[DeviceIdentifier]:
        carved = select(CarveOut.identifier_id)
        return list(
            db.scalars(
                select(DeviceIdentifier)
                .where(DeviceIdentifier.case_id == case_id, DeviceIdentifier.id.not_in(carved))
                .order_by(DeviceIdentifier.id)
            )
        )

    def _snippet_paths(self, db: Session, case_id: str) -> list[Path]:
        names = db.scalars(select(CaseSnippet.path).where(CaseSnippet.case_id == case_id).order_by(CaseSnippet.id))
        folder = self.config.snippet_dir
        return [folder / name for name in names] if folder is not None else []
