"""Tables of the disconnection workflow: cases, identifiers, requests, their transitions, and carve-outs."""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controller.db.base import Base


class Case(Base):
    """A suspected device under investigation: its incidents, identifiers once known, and snippets."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))  # identification_pending | identified | closed
    summary: Mapped[str] = mapped_column(Text, default="")
    search_tasking: Mapped[str] = mapped_column(Text, default="")  # what the search team is asked to do
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class CaseIncident(Base):
    """An incident attached to a case: attached incidents are kept by the retention purge."""

    __tablename__ = "case_incidents"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), primary_key=True)


class DeviceIdentifier(Base):
    """An identifier of the device (IMEI, IMSI, MSISDN, ...) with where it came from: never from RF detection."""

    __tablename__ = "device_identifiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # seized_handset | lawful_identification | other
    source_reference: Mapped[str] = mapped_column(String(256))  # exhibit number, warrant, report id
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[float] = mapped_column(Float)


class CaseSnippet(Base):
    """A SigMF IQ capture attached to a case as evidence (path relative to the configured snippet folder)."""

    __tablename__ = "case_snippets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[float] = mapped_column(Float)


class DisconnectionRequest(Base):
    """A request to one operator to disconnect one device, from drafting to the operator's outcome."""

    __tablename__ = "disconnection_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    institution: Mapped[str] = mapped_column(String(256))
    grounds: Mapped[str] = mapped_column(Text)
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[float] = mapped_column(Float)
    authorised_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    authorised_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why rejected, withdrawn or expired
    submitted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    acknowledged_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    actioned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    deadline: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date, from the template
    operator_reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    pack_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    pack_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verification: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # post-order check result
    updated_at: Mapped[float] = mapped_column(Float)


class RequestIncident(Base):
    """An incident a request relies on (a subset of its case's incidents, frozen at drafting)."""

    __tablename__ = "request_incidents"

    request_id: Mapped[str] = mapped_column(
        ForeignKey("disconnection_requests.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), primary_key=True)


class RequestTransition(Base):
    """One status change of a request: from, to, who, when, why."""

    __tablename__ = "request_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("disconnection_requests.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")


class CarveOut(Base):
    """A device identifier excluded from an order after issue (shown to be outside or authorised)."""

    __tablename__ = "request_carve_outs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("disconnection_requests.id", ondelete="CASCADE"), index=True)
    identifier_id: Mapped[int] = mapped_column(ForeignKey("device_identifiers.id", ondelete="RESTRICT"))
    grounds: Mapped[str] = mapped_column(String(32))  # outside | authorised
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
