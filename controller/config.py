"""The controller's configuration file as pydantic models, one per section, validated once at start-up."""

from __future__ import annotations

import os
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator

from cellward.config import ConfigError, load_yaml_model
from cellward.messages import MAX_CONTROL_CHANNELS, MAX_FOCUS_CHANNELS
from controller.requests.config import RequestsConfig
from sensors.scan_plan import ScanConfig

Role = Literal["viewer", "officer", "authoriser", "admin", "auditor"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlockingSchedule(Section):
    """Blocking wanted in a zone every day from `start` to `end`, local time (before `start`: past midnight).
    The policy still refuses never-block zones, zones without a unit in service and an emergency all-off."""

    zone: str = Field(description="Zone id, as in the site model")
    start: time = Field(description="Switch on, local time HH:MM")
    end: time = Field(description="Switch off, local time HH:MM")

    def seconds_of_day(self) -> tuple[float, float]:
        return tuple(float(t.hour * 3600 + t.minute * 60 + t.second) for t in (self.start, self.end))


class BlockingConfig(Section):
    reactive_zones: list[str] = Field(
        default_factory=list, description="Zones whose blocking switches on by itself on confirmed phone activity"
    )
    reactive_hold_s: float = Field(default=120.0, gt=0, description="How long a reactive switch-on lasts")
    reactive_cooldown_s: float = Field(default=300.0, ge=0, description="Rest after a hold before the next one")
    max_on_s: float = Field(default=1800.0, gt=0, description="No zone stays on longer than this")
    schedules: list[BlockingSchedule] = Field(default_factory=list, description="Daily blocking windows")
    leak_limit_dbm: float = Field(
        default=-95.0,
        description="Perimeter reading of a unit's noise in an uplink band above which the unit is switched off "
        "(default: an operator receiver's own noise over a 35 MHz band, kTB + 5 dB; docs/blocking.md)",
    )
    heartbeat_timeout_s: float = Field(default=10.0, gt=0, description="Silence after which a unit is out of service")
    keepalive_s: float = Field(
        default=3.0, gt=0, description="How often each unit hears the controller is alive (below its fail-safe timeout)"
    )


class Severity(StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class TimeWindow(Section):
    """A daily window in the site's local time; `end` before `start` spans midnight (e.g. 19:30-07:30)."""

    start: time = Field(description="Start, local time HH:MM")
    end: time = Field(description="End, local time HH:MM (before start means the window runs past midnight)")
    days: list[Weekday] = Field(default=list(WEEKDAYS), description="Days on which the window starts")

    def contains(self, local: datetime) -> bool:
        t = local.time()
        day = WEEKDAYS[local.weekday()]
        previous_day = WEEKDAYS[(local.weekday() - 1) % 7]
        if self.start <= self.end:
            return day in self.days and self.start <= t < self.end
        # Overnight: the evening part belongs to today's start, the morning part to yesterday's.
        return (day in self.days and t >= self.start) or (previous_day in self.days and t < self.end)


class Schedule(Section):
    """When something applies: always (no windows) or during any of the windows."""

    windows: list[TimeWindow] = Field(default_factory=list, description="Windows; empty means at all times")

    def active(self, local: datetime) -> bool:
        return not self.windows or any(window.contains(local) for window in self.windows)


class TlsConfig(Section):
    ca_file: Path = Field(description="CA certificate that signed the broker's certificate")
    cert_file: Path | None = Field(default=None, description="Client certificate (mutual TLS)")
    key_file: Path | None = Field(default=None, description="Client private key (mutual TLS)")


class MqttConfig(Section):
    host: str = Field(default="127.0.0.1", description="Broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port")
    username: str | None = Field(default=None, description="Controller's broker user name")
    password_env: str | None = Field(
        default=None, description="Name of the environment variable holding the broker password (never in YAML)"
    )
    tls: TlsConfig | None = Field(default=None, description="TLS to the broker; omit for loopback only")
    client_id: str | None = Field(
        default=None, description="Fixed MQTT client id (persistent session); default cellward-controller-<site_id>"
    )
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keep-alive, seconds")

    def password(self) -> str | None:
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(f"mqtt.password_env: environment variable {self.password_env} is not set")
        return value


class DatabaseConfig(Section):
    url: str = Field(
        default="sqlite:///cellward-controller.db",
        description="SQLAlchemy URL: sqlite:///path.db (embedded, WAL) or postgresql://user@host/db",
    )


class UserBootstrap(Section):
    """A user created at start-up when absent (first admin, service accounts); never overwrites."""

    username: str = Field(min_length=1, max_length=64, description="Login name")
    roles: list[Role] = Field(min_length=1, description="Roles: viewer, officer, authoriser, admin, auditor")
    password_hash: str | None = Field(default=None, description="argon2 hash (`cellward controller hash-password`)")
    password_env: str | None = Field(default=None, description="Environment variable holding the initial password")

    @model_validator(mode="after")
    def _one_secret(self) -> UserBootstrap:
        if (self.password_hash is None) == (self.password_env is None):
            raise ValueError("give exactly one of password_hash or password_env")
        if self.password_hash is not None and not self.password_hash.startswith("$argon2"):
            raise ValueError("password_hash must be an argon2 hash (starts with $argon2)")
        return self


class AuthConfig(Section):
    session_ttl_s: float = Field(default=12 * 3600, gt=0, description="Login session lifetime, seconds")
    max_failed_logins: int = Field(default=5, ge=1, description="Failed logins in a row before lock-out")
    lockout_s: float = Field(default=900, ge=0, description="Lock-out duration after too many failures, seconds")
    cookie_secure: bool = Field(default=False, description="Mark the session cookie Secure (set when behind HTTPS)")
    users: list[UserBootstrap] = Field(default_factory=list, description="Users created at start-up when absent")


class AlertRule(Section):
    enabled: bool = Field(default=True, description="Whether the rule raises alerts")
    severity: Severity = Field(description="Severity of the alerts it raises")
    throttle_s: float = Field(
        default=300, ge=0, description="At most one new alert per key in this time; repeats count on the open alert"
    )


class RepeatRule(AlertRule):
    sightings: int = Field(default=3, ge=2, description="Separate sightings in one cell that make a repeat")
    window_s: float = Field(default=24 * 3600, gt=0, description="Time window for counting sightings, seconds")
    gap_s: float = Field(default=600, gt=0, description="Silence that separates two sightings, seconds")


class SensorSilentRule(AlertRule):
    silent_after_s: float = Field(default=120, gt=0, description="No message for this long: sensor silent")


class ClockDriftRule(AlertRule):
    max_offset_s: float = Field(default=0.005, gt=0, description="Sensor clock offset that raises an alert, s")
    max_learnt_offset_s: float = Field(
        default=0.004,
        gt=0,
        description="Offset from the site's consensus, learnt from the bursts several sensors heard, that raises "
        "an alert, s: the correlator corrects offsets up to ingest.clock_tolerance_s and no further",
    )


class LossRule(AlertRule):
    max_lost_fraction: float = Field(default=0.01, gt=0, le=1, description="Lost fraction (by seq) that alerts")
    min_messages: int = Field(default=100, ge=1, description="Messages needed before the fraction is judged")


class AlertRules(Section):
    new_incident: AlertRule = Field(default_factory=lambda: AlertRule(severity=Severity.high, throttle_s=60))
    repeat_activity: RepeatRule = Field(default_factory=lambda: RepeatRule(severity=Severity.medium, throttle_s=3600))
    lockup_activity: AlertRule = Field(default_factory=lambda: AlertRule(severity=Severity.critical, throttle_s=600))
    sensor_silent: SensorSilentRule = Field(
        default_factory=lambda: SensorSilentRule(severity=Severity.high, throttle_s=3600)
    )
    clock_drift: ClockDriftRule = Field(
        default_factory=lambda: ClockDriftRule(severity=Severity.medium, throttle_s=3600)
    )
    loss: LossRule = Field(default_factory=lambda: LossRule(severity=Severity.medium, throttle_s=3600))
    blocking_alarm: AlertRule = Field(
        default_factory=lambda: AlertRule(severity=Severity.critical, throttle_s=600),
        description="A blocker unit tripped by an interlock (leakage, lost heartbeat) or reporting a fault",
    )


class AuthorisedZone(Section):
    """A zone where phones are allowed at the scheduled times (staff offices, visits hall in session)."""

    zone: str = Field(description="Zone id from the site file")
    schedule: Schedule = Field(default_factory=Schedule, description="When phones are allowed there")
    reason: str = Field(default="authorised zone", description="Shown on suppressed incidents")


class AuthorisedDevice(Section):
    """A known, allowed transmitter (in-cell phone, visits equipment), recognised by place and channel."""

    id: str = Field(description="Register id of the device")
    description: str = Field(default="", description="What it is")
    rooms: list[str] = Field(default_factory=list, description="Rooms it is in (empty: anywhere)")
    zones: list[str] = Field(default_factory=list, description="Zones it is in (empty: anywhere)")
    freq_min_hz: float | None = Field(default=None, description="Lowest channel centre it uses, Hz")
    freq_max_hz: float | None = Field(default=None, description="Highest channel centre it uses, Hz")
    technologies: list[Literal["gsm", "lte", "nr", "unknown"]] = Field(default_factory=list, description="Empty: any")
    schedule: Schedule = Field(default_factory=Schedule, description="When it is authorised")

    @model_validator(mode="after")
    def _something_to_match(self) -> AuthorisedDevice:
        if not (self.rooms or self.zones or self.freq_min_hz is not None or self.freq_max_hz is not None):
            raise ValueError("an authorised device needs rooms, zones or a frequency range, else it hides everything")
        return self


class IncidentRules(Section):
    merge_gap_s: float = Field(
        default=1800,
        gt=0,
        description="Activity within this gap joins the same incident (resuming it if it had ended and is not closed)",
    )
    end_after_silent_s: float = Field(
        default=600, gt=0, description="An incident whose device has been silent this long ends (lifecycle 'end')"
    )
    channel_tolerance_hz: float = Field(default=300e3, ge=0, description="Channel centres this close are one channel")
    min_confidence: float = Field(default=0.0, ge=0, le=1, description="Locations below this open no incident")


class RetentionConfig(Section):
    raw_reports_days: float = Field(default=30, gt=0, description="Keep raw messages and reports this long")
    prune_interval_s: float = Field(default=3600, gt=0, description="How often the pruning job runs")


class IngestConfig(Section):
    batch_max: int = Field(default=2000, ge=1, description="Messages written per database transaction at most")
    batch_wait_s: float = Field(default=0.05, gt=0, description="Longest wait to fill a write batch, seconds")
    correlation_delay_s: float = Field(
        default=0.1, ge=0, description="Wait at least this long for other sensors' reports of a window before locating"
    )
    correlation_delay_max_s: float = Field(
        default=1.0,
        ge=0,
        description="Wait up to this long while reports of one window have lately arrived further apart, seconds",
    )
    max_missing_tracked: int = Field(default=10000, ge=0, description="Missing seqs remembered per sensor")
    bursts_per_report: int = Field(
        default=8, ge=1, le=64, description="Listed bursts per report used for cross-sensor correlation"
    )
    clock_tolerance_s: float = Field(
        default=0.005, gt=0, description="Largest clock disagreement between sensors about one burst, s"
    )

    @model_validator(mode="after")
    def _delays_ordered(self) -> IngestConfig:
        if self.correlation_delay_max_s < self.correlation_delay_s:
            raise ValueError("correlation_delay_max_s must not be below correlation_delay_s")
        return self


class LocatorConfig(Section):
    """Memory the locator may keep for its level tables; what falls out is rebuilt when needed (seconds each)."""

    fine_table_cache_mib: float = Field(
        default=64, gt=0, description="Per-room fine level tables kept, MiB; the least recently used go first"
    )
    model_level_cache_mib: float = Field(
        default=16, gt=0, description="Model levels the fine tables are built from kept, MiB; least recently used go"
    )

    def budgets_bytes(self) -> dict[str, int]:
        """The Locator's keyword arguments for these budgets."""
        return {
            "fine_table_cache_bytes": round(self.fine_table_cache_mib * 2**20),
            "model_level_cache_bytes": round(self.model_level_cache_mib * 2**20),
        }


class CaptureConfig(Section):
    duration_s: float = Field(default=0.25, gt=0, le=2, description="Length of an IQ capture asked for an incident, s")
    sensors: int = Field(default=2, ge=1, le=8, description="Captures per request: the sensors that heard it best")
    max_bytes: int = Field(
        default=16 << 20, ge=1 << 16, le=64 << 20, description="Larger snippet deliveries are refused (bytes)"
    )
    spectrum_max_s: float = Field(default=300, gt=0, le=600, description="Longest live spectrum stream, s")
    deliver_timeout_s: float = Field(
        default=600,
        ge=1,
        le=86400,
        description="A capture not delivered this long after it was asked for is marked expired (a sensor's "
        "spool keeps chunks through broker and controller outages, so a controller restart alone does not end it)",
    )


class AckConfig(Section):
    interval_s: float = Field(
        default=1.0, gt=0, description="A sensor whose streams advanced is acknowledged at most this often"
    )
    refresh_s: float = Field(
        default=15.0, gt=0, description="Every sensor is acknowledged again this often (lost acks, tail losses)"
    )


class ScanFocusConfig(Section):
    enabled: bool = Field(default=True, description="Publish the site's scan focus for the sensors' revisit slots")
    active_s: float = Field(
        default=30.0, gt=0, le=3600, description="A channel stays in the focus this long after its last phone burst"
    )
    max_channels: int = Field(
        default=32, ge=1, le=MAX_FOCUS_CHANNELS, description="The most recently heard channels kept in the focus"
    )
    valid_s: float = Field(
        default=30.0, gt=0, le=3600, description="Sensors obey a focus this long after it is written (resent at half)"
    )
    interval_s: float = Field(default=1.0, gt=0, description="The focus is published at most this often")
    control_channels_hz: list[PositiveFloat] = Field(
        default_factory=list,
        max_length=MAX_CONTROL_CHANNELS,
        description="Uplinks of the GSM control carriers (BCCH, C0) serving the site, from a downlink survey: every "
        "other revisit slot goes to them, so that the short signalling phones send there (SMS, location updates, "
        "call set-up) is caught between the regular hop's visits",
    )


class ApiConfig(Section):
    host: str = Field(default="127.0.0.1", description="Listen address")
    port: int = Field(default=8080, ge=1, le=65535, description="Listen port")


class ControllerConfig(Section):
    site_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="Site id: the <site> segment of MQTT topics")
    site_file: Path = Field(description="Site model YAML (geometry, zones, sensors, blockers)")
    timezone: str = Field(default="Europe/London", description="Local time zone for schedules")
    sensor_keyring: Path = Field(
        description="JSON keyring of sensor public keys {sensor_id: base64 key or [keys]} (cellward.signing.Keyring)"
    )
    survey_file: Path | None = Field(
        default=None, description="Calibration survey (sensor offsets, room fingerprints) for the locator"
    )
    signing_key_file: Path = Field(
        default=Path("controller-signing-key.pem"),
        description="Controller's Ed25519 private key (PEM) signing what it publishes; created on first start",
    )
    controller_id: str = Field(
        default="controller", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="Sender id of the controller"
    )
    database: DatabaseConfig = Field(default_factory=DatabaseConfig, description="Database")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT broker")
    api: ApiConfig = Field(default_factory=ApiConfig, description="HTTP API")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="Users and sessions")
    alerts: AlertRules = Field(default_factory=AlertRules, description="Alert rules")
    lockup_hours: Schedule = Field(
        default_factory=lambda: Schedule(windows=[TimeWindow(start=time(19, 30), end=time(7, 30))]),
        description="When prisoners are locked up (activity then raises the lock-up alert)",
    )
    authorised_zones: list[AuthorisedZone] = Field(default_factory=list, description="Zone suppression")
    authorised_devices: list[AuthorisedDevice] = Field(default_factory=list, description="Device register")
    incidents: IncidentRules = Field(default_factory=IncidentRules, description="Incident merge rules")
    retention: RetentionConfig = Field(default_factory=RetentionConfig, description="Raw data retention")
    ingest: IngestConfig = Field(default_factory=IngestConfig, description="Ingest tuning")
    locator: LocatorConfig = Field(default_factory=LocatorConfig, description="The locator's memory budgets")
    acks: AckConfig = Field(default_factory=AckConfig, description="Acknowledgements of stored streams to sensors")
    scan_focus: ScanFocusConfig = Field(
        default_factory=ScanFocusConfig, description="The site's scan focus for the sensors' revisit slots"
    )
    scan: ScanConfig = Field(
        default_factory=ScanConfig,
        description="The sensors' scan settings (bands, slots, revisits, scan groups) as the controller assumes "
        "them, to know which sensors were listening when a burst was heard (controller.listening)",
    )
    requests: RequestsConfig | None = Field(
        default=None, description="Disconnection requests (institution, jurisdiction, operators); omit: disabled"
    )
    blocking: BlockingConfig = Field(default_factory=lambda: BlockingConfig(), description="Blocking policies")
    captures: CaptureConfig = Field(
        default_factory=CaptureConfig, description="IQ captures for incidents and live spectra from sensors"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def mqtt_client_id(self) -> str:
        return self.mqtt.client_id or f"cellward-controller-{self.site_id}"


def load_controller_config(path: Path) -> ControllerConfig:
    """Load and validate the controller YAML; relative paths in it are taken from the file's folder."""
    config = load_yaml_model(path, ControllerConfig)
    base = Path(path).resolve().parent
    updates: dict[str, Path] = {}
    for name in ("site_file", "sensor_keyring", "signing_key_file", "survey_file"):
        value = getattr(config, name)
        if value is not None and not value.is_absolute():
            updates[name] = base / value
    if config.requests is not None:
        updates["requests"] = config.requests.with_paths_from(base)
    config = config.model_copy(update=updates)
    if not config.site_file.is_file():
        raise ConfigError(f"{path}: site_file: {config.site_file} does not exist")
    if not config.sensor_keyring.is_file():
        raise ConfigError(f"{path}: sensor_keyring: {config.sensor_keyring} does not exist")
    url = config.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        config.database.url = f"sqlite:///{base / url.removeprefix('sqlite:///')}"
    return config
