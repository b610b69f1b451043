"""The blocker node's configuration file (blocker.yaml) as one typed model, validated once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cellward.config import load_yaml_model
from cellward.messages import NodeId
from cellward.messages.blocker import BAND_PATTERN, MAX_BANDS
from sensors.config import HttpConfig, SpoolConfig
from sensors.publisher import MqttConfig, anchor_mqtt_paths

BandName = Annotated[str, Field(pattern=BAND_PATTERN)]


class BandLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_power_dbm: float = Field(ge=-30, le=60, description="the unit's licence limit in this band, dBm")
    power_dbm: float | None = Field(
        default=None, ge=-30, le=60, description="output power at start, dBm; default the limit"
    )

    @model_validator(mode="after")
    def _within_limit(self) -> BandLimit:
        if self.power_dbm is not None and self.power_dbm > self.max_power_dbm:
            raise ValueError(f"power_dbm {self.power_dbm} is above max_power_dbm {self.max_power_dbm}")
        return self

    @property
    def start_power_dbm(self) -> float:
        return self.max_power_dbm if self.power_dbm is None else self.power_dbm


class FailsafeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["off", "hold"] = Field(
        default="off", description="on losing the controller: off switches every band off, hold keeps them"
    )
    timeout_s: float = Field(default=10.0, gt=0, le=3600, description="controller silence before fail-safe, s")
    allow_hold: bool = Field(
        default=False, description="whether a set_failsafe command may choose hold (refused otherwise)"
    )

    @field_validator("state", mode="before")
    @classmethod
    def _bare_off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML 1.1 reads a bare `off` as false

    @model_validator(mode="after")
    def _hold_allowed(self) -> FailsafeConfig:
        if self.state == "hold" and not self.allow_hold:
            raise ValueError("state hold needs allow_hold: true")
        return self


class GpioActuatorConfig(BaseModel):
    """Relays on a Raspberry Pi's GPIO (libgpiod): one output line keys one band of the unit."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["gpio"] = "gpio"
    chip: Path = Field(default=Path("/dev/gpiochip0"), description="GPIO character device")
    lines: dict[BandName, int] = Field(description="band -> line offset on the chip, e.g. {B8: 17, B3: 27}")
    active_low: bool = Field(default=False, description="true when the relay board energises on a low output")


class SimActuatorConfig(BaseModel):
    """The simulator's blocker unit: switches are written where the simulated world reads them."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["sim"] = "sim"
    site: str = Field(default="small", description="site file, or 'small' / 'reference'")
    unit: NodeId | None = Field(default=None, description="the site's blocker unit; default the blocker_id")
    switch_log: Path = Field(description="JSON Lines time line of switches that the simulator reads")


ActuatorConfig = Annotated[GpioActuatorConfig | SimActuatorConfig, Field(discriminator="kind")]


class BlockerNodeConfig(BaseModel):
    """Everything one blocker node needs; relative paths are relative to the config file."""

    model_config = ConfigDict(extra="forbid")
    site: NodeId = Field(description="site id (topic level)")
    blocker_id: NodeId = Field(description="this unit's id, as in the site file's blockers")
    zones: list[NodeId] = Field(min_length=1, max_length=64, description="zones this unit may block (allow-list)")
    bands: dict[BandName, BandLimit] = Field(
        min_length=1, max_length=MAX_BANDS, description="bands the unit has, with their licence limits"
    )
    actuator: ActuatorConfig = Field(description="what switches the bands (kind: gpio or sim)")
    mqtt: MqttConfig
    signing_key: Path = Field(description="this node's Ed25519 private key (PEM)")
    controller_keyring: Path | None = Field(
        default=None, description="JSON keyring of controller public keys; without it every command is refused"
    )
    state_dir: Path = Field(default=Path("/var/lib/cellward-blocker"), description="spool and command seq")
    failsafe: FailsafeConfig = Field(default_factory=FailsafeConfig)
    heartbeat_interval_s: float = Field(default=2.0, gt=0, le=3600, description="heartbeat period, s")
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    http: HttpConfig | None = Field(
        default_factory=lambda: HttpConfig(port=9109), description="/metrics and /health; null disables"
    )

    @model_validator(mode="after")
    def _every_band_has_a_line(self) -> BlockerNodeConfig:
        if isinstance(self.actuator, GpioActuatorConfig) and set(self.actuator.lines) != set(self.bands):
            lines = sorted(self.actuator.lines)
            raise ValueError(f"actuator.lines must name exactly the unit's bands {sorted(self.bands)}, got {lines}")
        return self


def load_blocker_config(path: Path) -> BlockerNodeConfig:
    """Read blocker.yaml (ConfigError naming the line of every problem) and anchor relative paths to it."""
    config = load_yaml_model(path, BlockerNodeConfig)
    base = Path(path).resolve().parent
    for name in ("signing_key", "controller_keyring", "state_dir"):
        value = getattr(config, name)
        if value is not None and not value.is_absolute():
            setattr(config, name, base / value)
    anchor_mqtt_paths(config.mqtt, base)
    actuator = config.actuator
    if isinstance(actuator, SimActuatorConfig):
        if not actuator.switch_log.is_absolute():
            actuator.switch_log = base / actuator.switch_log
        if actuator.site not in ("small", "reference") and not Path(actuator.site).is_absolute():
            actuator.site = str(base / actuator.site)
    return config
