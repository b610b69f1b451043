"""The `requests` section of the controller config: institution, jurisdiction, evidence, operators, retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from controller.jurisdictions import JurisdictionError, jurisdiction


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExportFolderRoute(_Section):
    adapter: Literal["export_folder"] = Field(description="Write the pack and request into a folder")
    path: Path = Field(description="Folder picked up by hand or by an SFTP job")


class WebhookRoute(_Section):
    adapter: Literal["webhook"] = Field(description="HTTPS POST to the operator (mutual TLS)")
    url: str = Field(pattern=r"^https://", description="Base URL of the operator's endpoint (https only)")
    ca_file: Path = Field(description="CA that signed the operator's server certificate")
    cert_file: Path = Field(description="Our client certificate (mutual TLS)")
    key_file: Path = Field(description="Our client private key")
    timeout_s: float = Field(default=10, gt=0, description="Per-attempt timeout, seconds")
    poll_interval_s: float = Field(default=60, gt=0, description="How often the status of open orders is polled")


class EmailRoute(_Section):
    adapter: Literal["email"] = Field(description="E-mail the request with the pack as a zip attachment")
    host: str = Field(description="SMTP server")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    starttls: bool = Field(default=True, description="Upgrade to TLS with STARTTLS before sending")
    username: str | None = Field(default=None, description="SMTP user, when the server wants a login")
    password_env: str | None = Field(default=None, description="Environment variable holding the SMTP password")
    sender: str = Field(description="From address")
    recipients: list[str] = Field(min_length=1, description="The operator's order desk addresses")


OperatorRoute = Annotated[ExportFolderRoute | WebhookRoute | EmailRoute, Field(discriminator="adapter")]


class OutboxConfig(_Section):
    base_delay_s: float = Field(default=5, gt=0, description="First retry delay; doubles each attempt")
    max_delay_s: float = Field(default=900, gt=0, description="Longest wait between attempts")
    poll_s: float = Field(default=1.0, gt=0, description="How often the outbox is looked at")


class RequestsConfig(_Section):
    institution: str = Field(min_length=1, description="Name of the custodial institution, as on the application")
    jurisdiction: str = Field(default="england-wales-tro", description="Default jurisdiction template id")
    extra_holidays: list[dt.date] = Field(default_factory=list, description="Extra non-working days (court closures)")
    evidence_dir: Path = Field(description="Where signed evidence packs are written")
    snippet_dir: Path | None = Field(default=None, description="Folder of SigMF snippets that cases may attach")
    signing_key_file: Path | None = Field(
        default=None, description="Ed25519 key (PEM) signing evidence packs; default: the controller's signing key"
    )
    signer_id: str = Field(
        default="", max_length=64, description="Signer id in pack manifests; default: the controller_id"
    )
    operators: dict[str, OperatorRoute] = Field(
        default_factory=dict, description="Delivery per network name of the band plan (EE, O2, Vodafone, Three)"
    )
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="Retry policy of the delivery outbox")
    draft_expiry_days: float = Field(default=14, gt=0, description="Drafts not authorised in this time expire")
    clock_tolerance_s: float = Field(default=0.005, gt=0, description="Sensor clock offset counted as synchronised")
    retention_days: float = Field(
        default=92, gt=0, description="Detection data older than this is destroyed unless attached (three months)"
    )
    verification_window_days: float = Field(
        default=7, gt=0, description="After an order is actioned, how long activity on the channel is watched"
    )

    def with_paths_from(self, base: Path) -> RequestsConfig:
        """Relative paths (evidence, snippets, keys, export folders, certificates) taken from `base`."""

        def absolute(path: Path | None) -> Path | None:
            return path if path is None or path.is_absolute() else base / path

        operators = {
            name: route.model_copy(
                update={
                    field: absolute(getattr(route, field))
                    for field in ("path", "ca_file", "cert_file", "key_file")
                    if hasattr(route, field)
                }
            )
            for name, route in self.operators.items()
        }
        return self.model_copy(
            update={
                "evidence_dir": absolute(self.evidence_dir),
                "snippet_dir": absolute(self.snippet_dir),
                "signing_key_file": absolute(self.signing_key_file),
                "operators": operators,
            }
        )

    @field_validator("jurisdiction")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            jurisdiction(value)
        except JurisdictionError as exc:
            raise ValueError(str(exc)) from None
        return value
