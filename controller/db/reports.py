"""Tables for what sensors sent: per-sensor ingest state, accepted messages and their activity reports."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controller.db.base import Base, BigId


class SensorState(Base):
    """What the controller knows of one sensor: totals over its streams, liveness and clock."""

    __tablename__ = "sensors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    messages_received: Mapped[int] = mapped_column(Integer, default=0)
    messages_lost: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    availability: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_message_ts: Mapped[float | None] = mapped_column(Float, nullable=True)
    clock_offset_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    stats: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class SensorStream(Base):
    """Sequence bookkeeping of one sensor's stream (seq counts per sender AND message name)."""

    __tablename__ = "sensor_streams"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    highest_seq: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[list[int]] = mapped_column(JSON, default=list)  # seqs in gaps, so late arrivals count back


class PublishSeq(Base):
    """The controller's own per-message-name seq, persisted so it keeps rising across restarts."""

    __tablename__ = "publish_seq"

    message_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class Message(Base):
    """One accepted signed message; (sender, schema, seq) is unique, which makes redelivery idempotent."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("sender", "schema", "seq"),
        Index("ix_messages_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    schema: Mapped[str] = mapped_column(String(64))
    ts: Mapped[float] = mapped_column(Float)
    received_at: Mapped[float] = mapped_column(Float)
    digest: Mapped[str] = mapped_column(String(64))
    # The message exactly as received: with its signature it can be re-verified later (raw evidence).
    raw: Mapped[str] = mapped_column(Text)


class Report(Base):
    """One activity report: one sensor, one channel, one window. Raw data, pruned by retention."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_received_at", "received_at"),
        Index("ix_reports_sensor_window", "sensor_id", "window_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[float] = mapped_column(Float)
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    freq_hz: Mapped[float] = mapped_column(Float)
    bandwidth_hz: Mapped[float] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    operators: Mapped[list[str]] = mapped_column(JSON, default=list)
    technology: Mapped[str] = mapped_column(String(16))
    burst_count: Mapped[int] = mapped_column(Integer)
    duty_cycle: Mapped[float] = mapped_column(Float)
    mean_power_dbm: Mapped[float] = mapped_column(Float)
    peak_power_dbm: Mapped[float] = mapped_column(Float)
    snr_db: Mapped[float] = mapped_column(Float)
