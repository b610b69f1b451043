"""IQ captures asked of sensors for an incident, and the SigMF snippets they delivered."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controller.db.base import Base


class IncidentCapture(Base):
    """One capture_snippet command sent for an incident, and what came of it."""

    __tablename__ = "incident_captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[str] = mapped_column(String(64))
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    freq_hz: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # requested | received | failed | expired
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it failed or expired; a note while it waits
    file: Mapped[str | None] = mapped_column(String(255), nullable=True)  # .sigmf-meta in the snippet folder
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # of the .sigmf-data
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[float | None] = mapped_column(Float, nullable=True)
