"""Fixtures for the request workflow: a migrated real database (SQLite and PostgreSQL) and its sessions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cellward.recording import write_recording
from cellward.signing import NodeKey
from cellward.site import load_site, small_site_path
from controller.accounts import Principal
from controller.config import AuthorisedDevice
from controller.db.base import make_engine, make_session_factory
from controller.db.incidents import IncidentActivity, IncidentRecord
from controller.db.migrate import upgrade_database
from controller.db.reports import SensorState
from controller.evidence.build import EvidenceSources
from controller.requests.config import RequestsConfig
from controller.requests.runtime import RequestsRuntime
from controller.requests.workflow import RequestWorkflow
from dsp.band_plan import BandPlan
from tests.controller.conftest import database_url, postgresql_url, sqlite_url

__all__ = ["database_url", "postgresql_url", "sqlite_url"]


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """A database migrated to every head (controller core + requests/audit)."""
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


# -- a request workflow over a migrated database, with seeded incidents --------------------------------


O2_GSM_HZ = 887.6e6  # inside O2's B8 block 885.1-890.1 MHz
EE_LTE_HZ = 1760.0e6  # inside EE's B3 block
SENSOR_POWERS = {"A0-1": -61.5, "HUB0": -70.2, "A1-1": -78.9}  # sensors of the small site


def principal(username: str, *roles: str, user_id: int = 0) -> Principal:
    return Principal(user_id=user_id, username=username, roles=frozenset(roles))


OFFICER = principal("officer1", "officer", user_id=1)
OFFICER2 = principal("officer2", "officer", user_id=2)
AUTHORISER = principal("authoriser1", "authoriser", user_id=3)
BOTH = principal("dualrole", "officer", "authoriser", user_id=4)
VIEWER = principal("viewer1", "viewer", user_id=5)
VALID_IMEI = "490154203237518"  # Luhn-valid


class Clock:
    """A settable clock so deadlines and expiry are tested on fixed dates."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_snippet(folder: Path, name: str, center_hz: float = O2_GSM_HZ) -> str:
    """A short cu8 capture: noise plus GSM-like bursts (577 us every 4.615 ms) 200 kHz off centre."""
    rate = 2.4e6
    rng = np.random.default_rng(7)
    n = int(rate * 0.05)
    t = np.arange(n) / rate
    gate = (np.mod(t, 4.615e-3) < 0.577e-3).astype(float)
    samples = 0.02 * (rng.standard_normal(n) + 1j * rng.standard_normal(n)) + 0.3 * gate * np.exp(
        2j * np.pi * 200e3 * t
    )
    write_recording(
        folder / name.removesuffix(".sigmf-meta"),
        samples.astype(np.complex64),
        datatype="cu8",
        sample_rate_hz=rate,
        center_freq_hz=center_hz - 200e3,
        datetime="2026-11-20T21:14:05.000Z",
    )
    return name


def seed_incident(
    sessions,
    now: float,
    freq_hz: float = O2_GSM_HZ,
    cell_id: str = "A-0-03",
    operators: tuple[str, ...] = ("O2",),
    band: str = "B8",
    start_s: float | None = None,
    windows: int = 5,
) -> str:
    """An incident in `cell_id` with `windows` one-second activity windows 10 min apart, heard by 3 sensors."""
    start = now - 3 * 86400 if start_s is None else start_s
    incident_id = str(uuid.uuid4())
    with sessions() as db:
        db.add(
            IncidentRecord(
                id=incident_id,
                status="new",
                cell_id=cell_id,
                wing=cell_id.split("-")[0],
                landing=int(cell_id.split("-")[1]),
                zone="cells-A",
                region=[],
                method="rss",
                confidence=0.93,
                runners_up=[["A-0-04", 0.04], ["A-0-02", 0.02]],
                band=band,
                operators=list(operators),
                technology="gsm",
                freq_hz=freq_hz,
                bandwidth_hz=200e3,
                first_seen=start,
                last_seen=start + 600 * (windows - 1) + 1,
                activity_count=windows,
                suppressed=False,
                created_at=start,
                updated_at=start,
            )
        )
        db.flush()  # no ORM relationship orders the inserts: the incident row must exist first
        for n in range(windows):
            db.add(
                IncidentActivity(
                    incident_id=incident_id,
                    start_s=start + 600 * n,
                    end_s=start + 600 * n + 1,
                    freq_hz=freq_hz,
                    technology="gsm",
                    cell_id=cell_id,
                    confidence=0.93,
                    sensor_powers_dbm=SENSOR_POWERS,
                )
            )
        for sensor_id in SENSOR_POWERS:
            if db.get(SensorState, sensor_id) is None:
                db.add(SensorState(id=sensor_id, availability="online", last_seen=start, clock_offset_s=0.0012))
        db.commit()
    return incident_id


@dataclass
class RequestsWorld:
    workflow: RequestWorkflow
    sessions: sessionmaker[Session]
    config: RequestsConfig
    clock: Clock
    key: NodeKey
    tmp_path: Path
    sources: EvidenceSources
    register: list[AuthorisedDevice] = field(default_factory=list)

    def runtime(self, clock=None) -> RequestsRuntime:
        """A requests runtime over the same database and config; its workflow replaces this world's."""
        runtime = RequestsRuntime(
            self.sessions, self.config, self.sources, ZoneInfo("Europe/London"), self.key, clock or self.clock
        )
        self.workflow = runtime.workflow
        return runtime

    def seed_incident(self, **kwargs) -> str:
        return seed_incident(self.sessions, self.clock.now, **kwargs)

    def identified_case(self, **incident) -> str:
        """A case with one incident and a Luhn-valid IMEI from a seized handset."""
        case = self.workflow.open_case(OFFICER, [self.seed_incident(**incident)], summary="phone heard in A-0-03")
        self.workflow.add_identifier(OFFICER, case.id, "imei", VALID_IMEI, "seized_handset", "exhibit JB/1")
        return case.id


def make_world(
    tmp_path: Path, sessions, operators: dict, register=(), now: float | None = None, **overrides
) -> RequestsWorld:
    snippets = tmp_path / "snippets"
    snippets.mkdir(exist_ok=True)
    key = NodeKey.generate("controller")
    config = RequestsConfig(
        institution="HMP Test",
        evidence_dir=tmp_path / "evidence",
        snippet_dir=snippets,
        signing_key_file=tmp_path / "unused.pem",
        operators=operators,
        **overrides,
    )
    clock = Clock(time.time() if now is None else now)
    sources = EvidenceSources(
        site=load_site(small_site_path()),
        band_plan=BandPlan.load(),
        register=list(register),
        clock_tolerance_s=0.005,
        site_id="hmp-test",
    )
    workflow = RequestWorkflow(sessions, config, sources, key, ZoneInfo("Europe/London"), clock)
    return RequestsWorld(workflow, sessions, config, clock, key, tmp_path, sources, list(register))


@pytest.fixture
def world(tmp_path, sessions) -> RequestsWorld:
    """Workflow with O2 and EE routed to an export folder."""
    route = {"adapter": "export_folder", "path": str(tmp_path / "export")}
    return make_world(tmp_path, sessions, {"O2": route, "EE": route})
