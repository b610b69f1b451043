"""Tables for what the controller concluded: incidents (suspected devices), their timeline, and alerts."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controller.db.base import Base, BigId


class IncidentRecord(Base):
    """A suspected device. Evidence: never pruned by retention."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_last_seen", "status", "last_seen"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    cell_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wing: Mapped[str | None] = mapped_column(String(16), nullable=True)
    landing: Mapped[int | None] = mapped_column(Integer, nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[list[str]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(24))
    confidence: Mapped[float] = mapped_column(Float)
    runners_up: Mapped[list] = mapped_column(JSON, default=list)
    band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    operators: Mapped[list[str]] = mapped_column(JSON, default=list)
    technology: Mapped[str] = mapped_column(String(16))
    freq_hz: Mapped[float] = mapped_column(Float)
    bandwidth_hz: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    activity_count: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppression_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Set when the device has gone silent (incidents.end_after_silent_s); cleared if it resumes.
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class IncidentActivity(Base):
    """One heard emission attributed to an incident: when, on which channel, where, by which sensors."""

    __tablename__ = "incident_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    freq_hz: Mapped[float] = mapped_column(Float)
    technology: Mapped[str] = mapped_column(String(16))
    cell_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    sensor_powers_dbm: Mapped[dict] = mapped_column(JSON, default=dict)


class IncidentTransition(Base):
    """Who moved an incident from one lifecycle state to another, and when (attributed, append-only)."""

    __tablename__ = "incident_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")


class IncidentNote(Base):
    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class AlertRecord(Base):
    """An alert raised by a rule (incident class) or by the system's own health (system class)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_active_created", "active", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    alert_class: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True)
    sensor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    message: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[float] = mapped_column(Float)
    last_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
