"""Gathers a request's evidence from the database into an EvidencePack (no I/O besides reading the DB)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cellward.recording import open_recording
from cellward.site import Site
from controller.config import AuthorisedDevice
from controller.db.incidents import IncidentActivity, IncidentRecord
from controller.db.reports import SensorState
from controller.evidence.model import (
    ActivityWindow,
    Approval,
    DeviceEvidence,
    EvidencePack,
    Identifier,
    Institution,
    LegalBasis,
    Location,
    Operator,
    RegisterCheck,
    SensorEvidence,
    Snippet,
)
from controller.jurisdictions import Jurisdiction
from controller.requests.models import DeviceIdentifier, DisconnectionRequest
from controller.sighting import Sighting
from controller.suppression import _device_matches
from dsp.band_plan import BandPlan

DETECTION_METHOD = (
    "Passive RF energy detection of mobile uplink transmissions by calibrated, time-synchronised sensors "
    "inside the perimeter. Energy detection establishes presence, time, channel, operator (from the licensed "
    "block) and location; it does not decode IMEI, IMSI or any other identifier."
)
IDENTIFIERS_NOTE = (
    "Identifiers below were obtained from the sources named with each (forensic download of a seized handset, "
    "lawful identification equipment); none were derived from RF energy detection."
)


def iso(ts: float) -> str:
    """UTC epoch seconds as ISO-8601 with milliseconds and Z."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class EvidenceSources:
    """What the pack is built from besides the database: the site, band plan, register and clock tolerance."""

    site: Site
    band_plan: BandPlan
    register: Sequence[AuthorisedDevice]
    clock_tolerance_s: float
    site_id: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def snippet_entry(meta_path: Path) -> Snippet:
    recording = open_recording(meta_path)
    return Snippet(
        file=f"snippets/{recording.meta_path.name}",
        sha256=sha256_file(recording.data_path),
        sample_rate_hz=recording.sample_rate_hz,
        center_freq_hz=recording.center_freq_hz,
        num_samples=recording.num_samples,
        datetime=recording.datetime,
    )


def _sighting(incident: IncidentRecord) -> Sighting:
    return Sighting(
        start_s=incident.first_seen,
        end_s=incident.last_seen,
        freq_hz=incident.freq_hz,
        bandwidth_hz=incident.bandwidth_hz,
        technology=incident.technology,
        band=incident.band,
        operators=tuple(incident.operators),
        cell_id=incident.cell_id,
        wing=incident.wing,
        landing=incident.landing,
        zone=incident.zone,
        confidence=incident.confidence,
        method=incident.method,
    )


def register_check(
    incidents: Sequence[IncidentRecord], register: Sequence[AuthorisedDevice], now: float
) -> RegisterCheck:
    """Any register entry matching the place, channel and technology (at any time of day) is a possible match."""
    matches = sorted({d.id for d in register for i in incidents if _device_matches(d, _sighting(i))})
    suppressed = sorted(i.id for i in incidents if i.suppressed)
    return RegisterCheck(
        checked_at=iso(now),
        entries_checked=len(register),
        matches=matches,
        suppressed_incidents=suppressed,
        result="possible match" if matches or suppressed else "not authorised",
    )


def _operator(request: DisconnectionRequest, incidents: Sequence[IncidentRecord], plan: BandPlan) -> Operator:
    blocks = []
    for incident in incidents:
        low, high = incident.freq_hz - incident.bandwidth_hz / 2, incident.freq_hz + incident.bandwidth_hz / 2
        for band in plan.bands:
            for block in band.blocks:
                if block.operator == request.operator and block.uplink_low_hz < high and low < block.uplink_high_hz:
                    label = f"{band.name} {block.uplink_low_hz / 1e6:.1f}-{block.uplink_high_hz / 1e6:.1f} MHz uplink"
                    if label not in blocks:
                        blocks.append(label)
    return Operator(
        network=request.operator,
        licensee=plan.operator_licensees.get(request.operator, request.operator),
        blocks=blocks,
        band_plan_source=f"{plan.source} (retrieved {plan.retrieved})",
    )


def _location(incidents: Sequence[IncidentRecord], site: Site) -> Location:
    best = max(incidents, key=lambda i: (i.activity_count, i.confidence))
    position = None
    inside = False
    if best.cell_id is not None:
        room = site.room(best.cell_id)
        position = room.centroid
        inside = site.inside_perimeter(room.centroid[0], room.centroid[1])
    return Location(
        cell_id=best.cell_id,
        wing=best.wing,
        landing=best.landing,
        zone=best.zone,
        confidence=best.confidence,
        method=best.method,
        runners_up=[(str(cell), float(p)) for cell, p in best.runners_up],
        region=list(best.region),
        inside_perimeter=inside,
        position_m=position,
    )


def _sensors(db: Session, sensor_ids: set[str], sources: EvidenceSources) -> list[SensorEvidence]:
    states = {s.id: s for s in db.scalars(select(SensorState).where(SensorState.id.in_(sensor_ids)))}
    evidence = []
    placements = {sensor.id: sensor for sensor in sources.site.sensors}
    for sensor_id in sorted(sensor_ids):
        placement = placements.get(sensor_id)  # None: the sensor left the site file since it heard the device
        state = states.get(sensor_id)
        offset = state.clock_offset_s if state is not None else None
        evidence.append(
            SensorEvidence(
                id=sensor_id,
                role=placement.role if placement else "not in the current site file",
                position_m=tuple(placement.position) if placement else None,
                calibration_offset_db=placement.calibration_offset_db if placement else None,
                clock_offset_s=offset,
                clock_synchronised=None if offset is None else abs(offset) <= sources.clock_tolerance_s,
                availability=state.availability if state is not None else "unknown",
                last_seen=iso(state.last_seen) if state is not None and state.last_seen is not None else None,
            )
        )
    return evidence


def build_pack(
    db: Session,
    request: DisconnectionRequest,
    institution: str,
    legal: Jurisdiction,
    incidents: Sequence[IncidentRecord],
    identifiers: Sequence[DeviceIdentifier],
    snippet_metas: Sequence[Path],
    sources: EvidenceSources,
    now: float,
) -> EvidencePack:
    """The pack of an authorised request (its approvals must be set)."""
    incident_ids = [i.id for i in incidents]
    activity = db.scalars(
        select(IncidentActivity)
        .where(IncidentActivity.incident_id.in_(incident_ids))
        .order_by(IncidentActivity.start_s)
    ).all()
    windows = [
        ActivityWindow(
            incident_id=a.incident_id,
            start=iso(a.start_s),
            end=iso(a.end_s),
            duration_s=round(a.end_s - a.start_s, 6),
            freq_hz=a.freq_hz,
            technology=a.technology,
            cell_id=a.cell_id,
            confidence=a.confidence,
            sensor_powers_dbm={k: float(v) for k, v in a.sensor_powers_dbm.items()},
        )
        for a in activity
    ]
    sensor_ids = {sensor_id for a in activity for sensor_id in a.sensor_powers_dbm}
    main = max(incidents, key=lambda i: i.activity_count)
    location = _location(incidents, sources.site)
    first, last = min(i.first_seen for i in incidents), max(i.last_seen for i in incidents)
    register = register_check(incidents, sources.register, now)
    summary = (
        f"A {main.technology.upper()} uplink transmitter on {main.freq_hz / 1e6:.3f} MHz "
        f"({main.band or 'unknown band'}, {request.operator}) was active {len(windows)} times "
        f"between {iso(first)} and {iso(last)}, located in "
        f"{location.cell_id or 'region ' + ', '.join(location.region)} with confidence {location.confidence:.2f} "
        f"by {len(sensor_ids)} sensors; {len(identifiers)} device identifier(s) attached from other sources; "
        f"register of authorised devices: {register.result}."
    )
    return EvidencePack(
        pack_id=str(uuid.uuid4()),
        request_id=request.id,
        case_id=request.case_id,
        created_at=iso(now),
        institution=Institution(name=institution, site_id=sources.site_id),
        approval=Approval(
            drafted_by=request.drafted_by,
            drafted_at=iso(request.drafted_at),
            authorised_by=request.authorised_by or "",
            authorised_at=iso(request.authorised_at or now),
        ),
        legal_basis=LegalBasis(
            jurisdiction=legal.id,
            name=legal.name,
            instrument=legal.instrument,
            statute=legal.statute,
            regulations=legal.regulations,
            decision_maker=legal.decision_maker,
            test=legal.test,
            deadline_working_days=legal.deadline_working_days,
            deadline_note=legal.deadline_note,
            sources=legal.sources,
        ),
        operator=_operator(request, incidents, sources.band_plan),
        device=DeviceEvidence(
            method=DETECTION_METHOD,
            technology=main.technology,
            band=main.band,
            channel_freq_hz=main.freq_hz,
            channel_bandwidth_hz=main.bandwidth_hz,
            first_seen=iso(first),
            last_seen=iso(last),
            activity_count=sum(i.activity_count for i in incidents),
            incidents=incident_ids,
            activity_windows=windows,
            location=location,
            sensors=_sensors(db, sensor_ids, sources),
        ),
        identifiers=[
            Identifier(
                kind=i.kind,
                value=i.value,
                source=i.source,
                source_reference=i.source_reference,
                added_by=i.added_by,
                added_at=iso(i.added_at),
            )
            for i in identifiers
        ],
        identifiers_note=IDENTIFIERS_NOTE,
        authorised_device_register=register,
        evidence_summary=summary,
        snippets=[snippet_entry(meta) for meta in snippet_metas],
    )
