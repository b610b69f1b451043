"""Calibration survey: a known transmitter walked through known rooms, turned into sensor offsets and
per-room fingerprints that the locator trusts more than the propagation model.

Fit. Sample i is a transmitter of known power P_i at a known position x_i in room R_i, heard by sensor s at
r_is. The sensor offset is the least-squares solution of r_is = P_i + G_model(x_i, s) + o_s, i.e. the mean
residual, taken only where the model puts the level well above the sensitivity (near the threshold only
the lucky, upward-shadowed samples are heard, which would bias the mean upwards). The fingerprint of
room R at sensor s is the mean of r_is - P_i over the room's samples (kept when the sensor heard at least
half of them) with the spread of those values: it carries the real walls, the real antenna and the real
shadowing at that spot, which no model has.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.correlate import HeardEmission
from controller.locate import Locator

SURVEY_SCHEMA = "cellward.survey/1"
# The fingerprint spread is never taken below this: a handful of samples under-estimates it.
MIN_FINGERPRINT_SIGMA_DB = 1.5


class SurveyError(ValueError):
    """A survey file or survey data that cannot be used, with what is wrong and where."""


@dataclass(frozen=True, slots=True)
class SurveySample:
    """One burst of the survey transmitter: where it really was, its power, and what the sensors heard."""

    room_id: str
    position: tuple[float, float, float]
    tx_power_dbm: float
    emission: HeardEmission


class FingerprintLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean_db: float = Field(description="Mean received level for a 0 dBm transmitter in the room, dBm")
    sigma_db: float = Field(gt=0, description="Spread of that level within the room, dB")
    count: int = Field(ge=1, description="Survey samples the sensor heard in the room")


class RoomFingerprint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    freq_hz: float = Field(gt=0, description="Frequency the survey transmitter used, Hz")
    samples: int = Field(ge=1, description="Survey samples taken in the room")
    levels: dict[str, FingerprintLevel] = Field(description="Per sensor id; sensors that rarely heard it are absent")


class Survey(BaseModel):
    """A fitted survey, stored as JSON next to the site file."""

    model_config = ConfigDict(extra="forbid")
    schema_: str = Field(SURVEY_SCHEMA, alias="schema", description="Format name and version")
    site: str = Field(description="Site name the survey was taken on")
    sensor_offsets_db: dict[str, float] = Field(description="Measured minus modelled level per sensor, dB")
    fingerprints: dict[str, RoomFingerprint] = Field(description="Per room id")

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(by_alias=True, indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Survey:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SurveyError(f"{path}: no such survey file") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SurveyError(f"{path}: not a readable JSON survey ({exc})") from exc
        try:
            survey = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise SurveyError(f"{path}: {where}: {first['msg']}") from exc
        if survey.schema_ != SURVEY_SCHEMA:
            raise SurveyError(f"{path}: schema {survey.schema_!r} is not {SURVEY_SCHEMA!r}")
        return survey


def fit_survey(locator: Locator, samples: Sequence[SurveySample], *, margin_sigmas: float = 2.0) -> Survey:
    """Fit sensor offsets and room fingerprints from survey samples (the locator supplies the model)."""
    if not samples:
        raise SurveyError("survey has no samples")
    unknown = sorted({s.room_id for s in samples} - set(locator.room_index))
    if unknown:
        raise SurveyError(f"survey samples name rooms the site does not have: {', '.join(unknown[:5])}")
    n_sensors = len(locator.sensors)
    residual_sum = np.zeros(n_sensors)
    residual_count = np.zeros(n_sensors)
    per_room: dict[str, list[SurveySample]] = defaultdict(list)
    for sample in samples:
        per_room[sample.room_id].append(sample)
        predicted = sample.tx_power_dbm + locator.model_levels_db([sample.position], sample.emission.freq_hz)[0]
        floor = locator.sensitivity_dbm(sample.emission.bandwidth_hz) + margin_sigmas * locator.sigma_db
        for obs in sample.emission.observations:
            s = locator.sensor_index.get(obs.sensor_id)
            if s is not None and predicted[s] >= floor:
                residual_sum[s] += obs.power_dbm - predicted[s]
                residual_count[s] += 1
    offsets = {
        sensor.id: float(residual_sum[i] / residual_count[i])
        for i, sensor in enumerate(locator.sensors)
        if residual_count[i] > 0
    }

    fingerprints: dict[str, RoomFingerprint] = {}
    for room_id, room_samples in per_room.items():
        ref_hz = room_samples[0].emission.freq_hz
        room = locator.rooms[locator.room_index[room_id]]
        at_ref = locator.model_levels_db([room.centroid], ref_hz)[0]
        values: dict[str, list[float]] = defaultdict(list)
        for sample in room_samples:
            # Samples at another frequency are moved to the room's reference with the model's slope.
            shift = at_ref - locator.model_levels_db([room.centroid], sample.emission.freq_hz)[0]
            for obs in sample.emission.observations:
                s = locator.sensor_index.get(obs.sensor_id)
                if s is not None:
                    values[obs.sensor_id].append(obs.power_dbm - sample.tx_power_dbm + shift[s])
        levels = {}
        for sensor_id, vals in values.items():
            if 2 * len(vals) < len(room_samples):
                continue
            arr = np.asarray(vals)
            n = len(arr)
            spread = math.sqrt(arr.var(ddof=1) * (1.0 + 1.0 / n)) if n >= 3 else locator.sigma_db
            levels[sensor_id] = FingerprintLevel(
                mean_db=float(arr.mean()), sigma_db=max(MIN_FINGERPRINT_SIGMA_DB, spread), count=n
            )
        fingerprints[room_id] = RoomFingerprint(freq_hz=ref_hz, samples=len(room_samples), levels=levels)
    return Survey(site=locator.site.name, sensor_offsets_db=offsets, fingerprints=fingerprints)
