"""The sensor's configuration file (sensor.yaml) as one typed model, validated once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cellward.config import load_yaml_model
from cellward.messages import NodeId
from dsp.fft_libraries import check_fft_library
from sensors.gain import GainConfig, PowerCalibration
from sensors.publisher import MqttConfig, anchor_mqtt_paths
from sensors.scan_plan import ScanConfig
from sensors.sources import SourceConfig


class FrequencyCalibrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ppm: float = Field(default=0.0, ge=-200, le=200, description="frequency error to apply until one is measured")
    references_hz: list[float] = Field(
        default_factory=list, description="downlink carriers to measure against (GSM BCCH carriers near the site)"
    )
    method: Literal["gsm_fcch", "lte_pss", "tone"] = Field(
        default="gsm_fcch", description="what the references are: GSM BCCH carriers, LTE carrier centres, or tones"
    )
    interval_s: float = Field(default=6 * 3600, gt=60, description="re-measure this often")
    capture_s: float = Field(default=0.5, gt=0.05, le=5, description="samples per measurement")


class ReportConfig(BaseModel):
    """Detections go out as one message per closed window, holding every channel heard in it: the window is
    the batch, so there is no separate publish interval (one would only delay a new phone's first report)."""

    model_config = ConfigDict(extra="forbid")
    window_s: float = Field(default=1.0, gt=0, le=60, description="activity report window, and publish interval")
    report_unknown: bool = Field(default=False, description="also report unclassified energy inside uplink bands")
    prompt_first: bool = Field(
        default=True,
        description="report a channel's new activity at the end of the dwell that first heard it (the window is "
        "cut there), not when the window ends",
    )
    prompt_quiet_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="activity is new when its channel was silent this long (one full scan cycle by default)",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_batch_s(cls, data: Any) -> Any:
        if isinstance(data, dict) and "batch_s" in data:
            raise ValueError(
                "batch_s is no longer a setting: detections are published as each report window closes "
                "(window_s), one message holding every channel; delete the batch_s line"
            )
        return data


class SpoolConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_mb: float = Field(default=64, gt=0, description="size bound; the oldest messages are dropped beyond it")
    max_messages: int = Field(default=200_000, ge=10)


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(default="127.0.0.1", description="address for /metrics and /health")
    port: int = Field(default=9108, ge=0, le=65535, description="0 picks a free port")


class SensorConfig(BaseModel):
    """Everything one sensor node needs; relative paths are relative to the config file."""

    model_config = ConfigDict(extra="forbid")
    site: NodeId = Field(description="site id (topic level)")
    sensor_id: NodeId = Field(description="this sensor's id, as in the site model")
    source: SourceConfig = Field(description="where IQ comes from (kind: rtlsdr, rtl_tcp, sigmf, sim, scene, soapy)")
    mqtt: MqttConfig
    signing_key: Path = Field(description="this sensor's Ed25519 private key (PEM), from `cellward sensor keygen`")
    controller_keyring: Path | None = Field(
        default=None, description="JSON keyring of controller public keys; without it every command is refused"
    )
    state_dir: Path = Field(default=Path("/var/lib/cellward-sensor"), description="spool and snippets")
    scan: ScanConfig = Field(default_factory=ScanConfig)
    gain: GainConfig = Field(default_factory=GainConfig)
    power_calibration: PowerCalibration = Field(default_factory=PowerCalibration)
    frequency_calibration: FrequencyCalibrationConfig = Field(default_factory=FrequencyCalibrationConfig)
    reports: ReportConfig = Field(default_factory=ReportConfig)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    http: HttpConfig | None = Field(default_factory=HttpConfig, description="null disables /metrics and /health")
    stats_interval_s: float = Field(default=30.0, gt=0)
    fft_library: str = Field(
        default="pocketfft",
        description="the detector's FFT: pocketfft, or fftw (about a tenth less CPU on a quiet band; FFTW is "
        "GPL-2.0-or-later, installed with cellward[fftw])",
    )

    @field_validator("fft_library")
    @classmethod
    def _fft_library_installed(cls, library: str) -> str:
        check_fft_library(library)
        return library


def _resolve(base: Path, path: Path | None) -> Path | None:
    return None if path is None or path.is_absolute() else base / path


def load_sensor_config(path: Path) -> SensorConfig:
    """Read sensor.yaml (ConfigError naming the line of every problem) and anchor relative paths to it."""
    config = load_yaml_model(path, SensorConfig)
    base = Path(path).resolve().parent
    updates = {
        name: _resolve(base, getattr(config, name))
        for name in ("signing_key", "controller_keyring", "state_dir")
        if _resolve(base, getattr(config, name)) is not None
    }
    for name in ("path", "scenario"):  # the SigMF recording, the simulator's scenario
        value = getattr(config.source, name, None)
        if value is not None and not Path(value).is_absolute():
            setattr(config.source, name, base / value)
    site = getattr(config.source, "site", None)
    if site not in (None, "small", "reference") and not Path(site).is_absolute():
        config.source.site = str(base / site)  # type: ignore[union-attr]
    anchor_mqtt_paths(config.mqtt, base)
    return config.model_copy(update=updates)
