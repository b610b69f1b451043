"""Calibration survey: a known transmitter walked through known rooms, turned into sensor offsets and
per-room corrections that the locator trusts more than the propagation model alone.

Fit. Sample i is a transmitter of known power P_i at a known position x_i in room R_i, heard by sensor s at
r_is; its residual is d_is = r_is - P_i - G_model(x_i, s) (G_model including the mean fading). The sensor
offset is the least-squares solution of d_is = o_s, i.e. the mean residual, taken only where the model
puts the level well above the sensitivity (near the threshold only the lucky, upward-shadowed samples are
heard, which would bias the mean upwards). The fingerprint of room R at sensor s is the mean residual of
the room's samples (kept when the sensor heard at least half of them): it carries the sensor's offset, the
real walls on the way and the shadowing at that spot, none of which the model knows, while the model keeps
the detail within the room (a whole wall more or less to a distant sensor across a cell). Its spread is
pooled over all rooms and sensors, fading removed, plus the error of the room's mean.
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
# The fingerprint's static spread is never taken below this: a handful of samples under-estimates it.
MIN_FINGERPRINT_SIGMA_DB = 1.0


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
    correction_db: float = Field(description="Mean measured minus modelled level in the room, dB")
    sigma_db: float = Field(gt=0, description="Static spread of that level within the room (fading excluded), dB")
    count: int = Field(ge=1, description="Survey samples the sensor heard in the room")


class RoomFingerprint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    freq_hz: float = Field(gt=0, description="Frequency the survey transmitter used (first sample), Hz")
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
    predictions = _predicted_levels_dbm(locator, samples)
    for sample, predicted in zip(samples, predictions, strict=True):
        per_room[sample.room_id].append(sample)
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

    # Per room and sensor: the residuals against the model, and the fading variance each one carries.
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    fading_var: dict[tuple[str, str], list[float]] = defaultdict(list)
    for sample, predicted in zip(samples, predictions, strict=True):
        for obs in sample.emission.observations:
            s = locator.sensor_index.get(obs.sensor_id)
            if s is not None:
                values[sample.room_id, obs.sensor_id].append(obs.power_dbm - predicted[s])
                fading_var[sample.room_id, obs.sensor_id].append(locator.fading_std_db**2 / obs.bursts)
    static_var = _pooled_static_variance(values, fading_var)

    fingerprints: dict[str, RoomFingerprint] = {}
    for room_id, room_samples in per_room.items():
        levels = {}
        for sensor in locator.sensors:
            vals = values.get((room_id, sensor.id), [])
            if not vals or 2 * len(vals) < len(room_samples):
                continue  # rarely heard here: the model (with its censoring) is the better description
            n = len(vals)
            # A phone later found in the room differs from the fingerprint by the room's static spread plus
            # the error of the fingerprint's mean.
            mean_error_var = (static_var + float(np.mean(fading_var[room_id, sensor.id]))) / n
            levels[sensor.id] = FingerprintLevel(
                correction_db=float(np.mean(vals)),
                sigma_db=max(MIN_FINGERPRINT_SIGMA_DB, math.sqrt(static_var + mean_error_var)),
                count=n,
            )
        fingerprints[room_id] = RoomFingerprint(
            freq_hz=room_samples[0].emission.freq_hz, samples=len(room_samples), levels=levels
        )
    return Survey(site=locator.site.name, sensor_offsets_db=offsets, fingerprints=fingerprints)


def _predicted_levels_dbm(locator: Locator, samples: Sequence[SurveySample]) -> np.ndarray:
    """Model level (dBm, mean fading included) of every sample at every sensor: (samples, sensors)."""
    out = np.empty((len(samples), len(locator.sensors)))
    by_freq: dict[float, list[int]] = defaultdict(list)
    for i, sample in enumerate(samples):
        by_freq[sample.emission.freq_hz].append(i)
    for freq_hz, rows in by_freq.items():
        positions = np.array([samples[i].position for i in rows], dtype=float)
        out[rows] = locator.model_levels_db(positions, freq_hz) + locator.fading_mean_db
    tx = np.array([s.tx_power_dbm for s in samples])
    return out + tx[:, None]


def _pooled_static_variance(
    values: dict[tuple[str, str], list[float]], fading_var: dict[tuple[str, str], list[float]]
) -> float:
    """Spread (dB^2) of the level within one room at one sensor, fading removed, pooled over all rooms and
    sensors: a single room's three or four samples say too little about it on their own."""
    num = den = 0.0
    for key, vals in values.items():
        if len(vals) >= 2:
            arr = np.asarray(vals)
            num += float(((arr - arr.mean()) ** 2).sum()) - (len(arr) - 1) * float(np.mean(fading_var[key]))
            den += len(arr) - 1
    return max(num / den, MIN_FINGERPRINT_SIGMA_DB**2) if den else MIN_FINGERPRINT_SIGMA_DB**2
