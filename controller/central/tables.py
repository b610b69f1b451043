"""Central tables: the latest state of every site's incidents, alerts and disconnection requests, keyed by
(site id, id)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from controller.db.base import NAMING_CONVENTION


class CentralBase(DeclarativeBase):
    """Tables of the estate database only (a site controller's database never holds them)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CentralIncident(CentralBase):
    __tablename__ = "central_incidents"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, comment="seq of the lifecycle message this row reflects")
    lifecycle: Mapped[str] = mapped_column(String(8), comment="new, update or end")
    status: Mapped[str] = mapped_column(String(24))
    cell_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wing: Mapped[str | None] = mapped_column(String(16), nullable=True)
    landing: Mapped[int | None] = mapped_column(Integer, nullable=True)
    technology: Mapped[str] = mapped_column(String(16))
    freq_hz: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[str] = mapped_column(String(32))
    last_seen: Mapped[str] = mapped_column(String(32))
    suppressed: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[dict] = mapped_column(JSON, comment="the message's `after`, whole")
    received_at: Mapped[float] = mapped_column(Float)


class CentralAlert(CentralBase):
    __tablename__ = "central_alerts"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    lifecycle: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    incident_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    state: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[float] = mapped_column(Float)


class CentralRequest(CentralBase):
    """A site's disconnection request as the estate sees it (no grounds, identifiers or evidence cross)."""

    __tablename__ = "central_requests"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    lifecycle: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(36))
    incident_ids: Mapped[list[str]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[float] = mapped_column(Float)


class CentralStream(CentralBase):
    """Per site and message name: the seq bookkeeping that makes loss over the bridge measurable."""

    __tablename__ = "central_streams"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    highest_seq: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[list[int]] = mapped_column(JSON, default=list)
