"""What the controller publishes on MQTT: incident, alert and disconnection-request lifecycle messages, in the
sensors' envelope.

Schemas: firmware-interface/schemas/controller.incident.v1.json, controller.alert.v1.json and
controller.request.v1.json; availability reuses cellward.availability/1 on cellward/<site>/controller/availability.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cellward.messages.envelope import Envelope, WireModel
from cellward.messages.wire_time import UtcMs

INCIDENT_SCHEMA = "cellward.controller_incident/1"
ALERT_SCHEMA = "cellward.controller_alert/1"
REQUEST_SCHEMA = "cellward.controller_request/1"
LifecycleType = Literal["new", "update", "end"]
RequestStatus = Literal[
    "drafted", "authorised", "submitted", "acknowledged", "actioned", "rejected", "withdrawn", "expired"
]  # controller.requests.lifecycle.STATUSES


def controller_topic(site: str, leaf: str) -> str:
    """cellward/<site>/controller/<leaf>: availability, incidents, alerts, requests."""
    return f"cellward/{site}/controller/{leaf}"


class IncidentState(WireModel):
    id: str = Field(description="stable incident id (UUID)")
    status: Literal["new", "acknowledged", "investigating", "request_raised", "closed"]
    cell_id: str | None = Field(description="most likely cell; None when only a region is known")
    wing: str | None
    landing: int | None
    zone: str | None
    region: list[str] = Field(description="cells of the coverage region when the cell is unresolved")
    method: str = Field(description="rss, fingerprint or single-sensor")
    confidence: float = Field(ge=0, le=1)
    runners_up: list[tuple[str, float]] = Field(description="next most likely cells with probabilities")
    band: str | None
    operators: list[str]
    technology: Literal["gsm", "lte", "nr", "unknown"]
    freq_hz: float
    bandwidth_hz: float
    first_seen: UtcMs
    last_seen: UtcMs
    activity_count: int = Field(ge=0, description="emissions attributed so far")
    suppressed: bool = Field(description="authorised zone/device or the site's own emission: no alerts")
    suppression_reason: str | None
    ended_at: UtcMs | None = Field(description="when the device was found silent; None while it is active")


class AlertState(WireModel):
    id: str = Field(description="stable alert id (UUID)")
    rule: str = Field(description="new_incident, repeat_activity, lockup_activity, sensor_silent, clock_drift, loss")
    class_: Literal["incident", "system"] = Field(alias="class")
    severity: Literal["info", "low", "medium", "high", "critical"]
    incident_id: str | None
    sensor_id: str | None
    key: str = Field(description="what the throttle groups by, e.g. new_incident:A-2-14")
    message: str
    active: bool
    occurrences: int = Field(ge=1, description="times the rule fired on this alert (throttled repeats)")
    created_at: UtcMs
    last_at: UtcMs
    ended_at: UtcMs | None
    acknowledged_by: str | None


class RequestState(WireModel):
    """A disconnection request as the estate sees it: ids, status, who and when; never its grounds, reasons,
    device identifiers or evidence (those stay in the site's database and evidence packs)."""

    id: str = Field(description="stable request id (UUID)")
    case_id: str = Field(description="the case (suspected device) the request is for")
    status: RequestStatus
    operator: str = Field(description="mobile network operator asked to disconnect")
    jurisdiction: str
    incident_ids: list[str] = Field(description="incidents the request relies on (frozen at drafting)")
    drafted_by: str
    drafted_at: UtcMs
    authorised_by: str | None
    authorised_at: UtcMs | None
    submitted_at: UtcMs | None
    acknowledged_at: UtcMs | None
    actioned_at: UtcMs | None
    deadline: str | None = Field(description="operator deadline, ISO date, once submitted")
    operator_reference: str | None
    changed_by: str = Field(description="who made this change: a user, operator:<name> or system")
    updated_at: UtcMs


class IncidentLifecycle(Envelope):
    schema_name: Literal["cellward.controller_incident/1"] = Field(default=INCIDENT_SCHEMA, alias="schema")
    type: LifecycleType
    id: str
    before: IncidentState | None
    after: IncidentState


class AlertLifecycle(Envelope):
    schema_name: Literal["cellward.controller_alert/1"] = Field(default=ALERT_SCHEMA, alias="schema")
    type: LifecycleType
    id: str
    before: AlertState | None
    after: AlertState


class RequestLifecycle(Envelope):
    schema_name: Literal["cellward.controller_request/1"] = Field(default=REQUEST_SCHEMA, alias="schema")
    type: LifecycleType
    id: str
    before: RequestState | None
    after: RequestState
