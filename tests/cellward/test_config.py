"""YAML config loading: every problem is reported with its file, line and field."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from cellward.config import ConfigError, load_yaml_model, parse_yaml_model


class Sensor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    gain_db: float


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    sensors: list[Sensor]


def test_valid_file_gives_the_model() -> None:
    site = parse_yaml_model("name: hmp\nsensors:\n  - id: a\n    gain_db: 30\n", Site)
    assert site.sensors[0].gain_db == 30.0


def test_bad_value_names_line_and_field() -> None:
    text = "name: hmp\nsensors:\n  - id: a\n    gain_db: 30\n  - id: b\n    gain_db: loud\n"
    with pytest.raises(ConfigError) as error:
        parse_yaml_model(text, Site, "site.yaml")
    assert "line 6: sensors.1.gain_db" in str(error.value)


def test_unknown_key_is_rejected_at_its_line() -> None:
    with pytest.raises(ConfigError) as error:
        parse_yaml_model("name: hmp\nsensors: []\ncolour: red\n", Site, "site.yaml")
    assert "line 3: colour: Extra inputs are not permitted" in str(error.value)


def test_broken_yaml_names_its_line() -> None:
    with pytest.raises(ConfigError, match=r"site.yaml: line 3: not valid YAML"):
        parse_yaml_model("name: hmp\nsensors: [\n", Site, "site.yaml")


def test_missing_and_empty_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_yaml_model(tmp_path / "absent.yaml", Site)
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_yaml_model(tmp_path / "empty.yaml", Site)
