"""central.yaml: the central broker, the central database and the sites whose controllers it trusts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cellward.config import ConfigError, load_yaml_model
from controller.config import DatabaseConfig, MqttConfig, Section


class CentralConfig(Section):
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="The central broker the site bridges feed")
    database: DatabaseConfig = Field(description="The estate database (PostgreSQL; SQLite for a trial)")
    sites: dict[str, Path] = Field(
        description="Site id -> that site's controller-keyring.json (from `cellward provision`): whose signatures count"
    )
    client_id: str = Field(default="cellward-central", description="Fixed MQTT client id (persistent session)")


def load_central_config(path: Path) -> CentralConfig:
    """Read central.yaml; relative keyring paths are taken from the file's folder."""
    config = load_yaml_model(path, CentralConfig)
    base = Path(path).resolve().parent
    sites = {site: keyring if keyring.is_absolute() else base / keyring for site, keyring in config.sites.items()}
    for site, keyring in sites.items():
        if not keyring.is_file():
            raise ConfigError(f"{path}: sites.{site}: {keyring} does not exist")
    return config.model_copy(update={"sites": sites})
