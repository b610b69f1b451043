"""The machine-readable evidence pack (pack.json) as pydantic models; its JSON Schema is generated from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PACK_SCHEMA = "cellward.evidence-pack/1"
# Beside (not inside) firmware-interface/schemas/, which holds only the MQTT message schemas.
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "firmware-interface" / "evidence-pack.v1.schema.json"


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Institution(Part):
    name: str = Field(description="The custodial institution")
    site_id: str = Field(description="cellward site id")


class Approval(Part):
    drafted_by: str = Field(description="User who drafted the request (the applicant's officer)")
    drafted_at: str = Field(description="ISO-8601 UTC")
    authorised_by: str = Field(description="A different user holding the authoriser role")
    authorised_at: str = Field(description="ISO-8601 UTC")


class LegalBasis(Part):
    jurisdiction: str = Field(description="Template id (controller/jurisdictions/*.yaml)")
    name: str
    instrument: str
    statute: str
    regulations: str
    decision_maker: str
    test: str
    deadline_working_days: int
    deadline_note: str
    sources: list[str]


class Operator(Part):
    network: str = Field(description="Network whose uplink block the device used (band plan)")
    licensee: str = Field(description="Company the request is served on")
    blocks: list[str] = Field(
        description="Uplink blocks of this network the activity fell in, e.g. 'B8 880.1-885.1 MHz'"
    )
    band_plan_source: str = Field(description="Band plan title and retrieval date")


class ActivityWindow(Part):
    incident_id: str
    start: str = Field(description="ISO-8601 UTC, ms")
    end: str = Field(description="ISO-8601 UTC, ms")
    duration_s: float
    freq_hz: float
    technology: str
    cell_id: str | None
    confidence: float
    sensor_powers_dbm: dict[str, float] = Field(description="Calibrated level at each sensor that heard it")


class Location(Part):
    cell_id: str | None = Field(description="Most likely cell, None when only a region is known")
    wing: str | None
    landing: int | None
    zone: str | None
    confidence: float = Field(ge=0, le=1)
    method: str
    runners_up: list[tuple[str, float]] = Field(description="Next most likely cells with their probabilities")
    region: list[str]
    inside_perimeter: bool = Field(description="Whether the located cell lies inside the site perimeter")
    position_m: tuple[float, float, float] | None = Field(description="Cell centroid, site frame (x east, y north, z)")


class SensorEvidence(Part):
    id: str
    role: str
    position_m: tuple[float, float, float] | None = Field(description="Antenna position; None if no longer in the site")
    calibration_offset_db: float | None = Field(description="Calibration offset applied to its levels")
    clock_offset_s: float | None = Field(description="Last measured clock offset to the controller")
    clock_synchronised: bool | None = Field(description="Offset within the configured tolerance")
    availability: str
    last_seen: str | None


class DeviceEvidence(Part):
    method: str = Field(description="How the evidence was gathered (energy detection: no identifiers decoded)")
    technology: str
    band: str | None
    channel_freq_hz: float
    channel_bandwidth_hz: float
    first_seen: str
    last_seen: str
    activity_count: int
    incidents: list[str]
    activity_windows: list[ActivityWindow]
    location: Location
    sensors: list[SensorEvidence]


class Identifier(Part):
    kind: str = Field(description="imei, imsi, msisdn, iccid, meid, esn, min, msin, mac, serial")
    value: str
    source: Literal["seized_handset", "lawful_identification", "other"] = Field(
        description="Where it came from: never from RF energy detection"
    )
    source_reference: str
    added_by: str
    added_at: str


class RegisterCheck(Part):
    checked_at: str
    entries_checked: int = Field(description="Entries in the register of authorised devices")
    matches: list[str] = Field(description="Register ids matching the device's place, channel and time")
    suppressed_incidents: list[str] = Field(description="Incidents the controller marked as authorised activity")
    result: Literal["not authorised", "possible match"]


class Snippet(Part):
    file: str = Field(description="Path in the pack of the .sigmf-meta (its .sigmf-data sits beside it)")
    sha256: str = Field(description="SHA-256 of the .sigmf-data")
    sample_rate_hz: float
    center_freq_hz: float
    num_samples: int
    datetime: str | None


class EvidencePack(Part):
    schema_: Literal["cellward.evidence-pack/1"] = Field(alias="schema", default=PACK_SCHEMA)
    pack_id: str
    request_id: str
    case_id: str
    created_at: str
    institution: Institution
    approval: Approval
    legal_basis: LegalBasis
    operator: Operator
    device: DeviceEvidence
    identifiers: list[Identifier] = Field(description="From seized handsets or lawful identification, with source")
    identifiers_note: str = Field(description="States that identifiers do not come from RF detection")
    authorised_device_register: RegisterCheck
    evidence_summary: str
    snippets: list[Snippet]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def pack_json_schema() -> dict[str, Any]:
    """The JSON Schema of pack.json, as published in firmware-interface/evidence-pack.v1.schema.json."""
    schema = EvidencePack.model_json_schema(by_alias=True)
    schema["$id"] = "https://cellward.example/schemas/evidence-pack.v1.json"
    schema["title"] = "cellward evidence pack (pack.json)"
    return schema


if __name__ == "__main__":
    print(json.dumps(pack_json_schema(), indent=2, sort_keys=True))
