"""Imports every controller table so Base.metadata is complete (Alembic autogenerate, tests)."""

from controller.db.auth import AuthSession, User
from controller.db.base import Base
from controller.db.captures import IncidentCapture
from controller.db.incidents import AlertRecord, IncidentActivity, IncidentNote, IncidentRecord, IncidentTransition
from controller.db.reports import Message, PublishSeq, Report, SensorState, SensorStream

__all__ = [
    "AlertRecord",
    "AuthSession",
    "Base",
    "IncidentActivity",
    "IncidentCapture",
    "IncidentNote",
    "IncidentRecord",
    "IncidentTransition",
    "Message",
    "PublishSeq",
    "Report",
    "SensorState",
    "SensorStream",
    "User",
]
