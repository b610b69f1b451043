"""`cellward sensor run` with a bad config or key: one readable error naming the line, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cellward.cli import app
from cellward.config import ConfigError
from sensors.config import load_sensor_config
from tests.sensors.harness import make_keys

GOOD = """site: hmp-test
sensor_id: s-1
source:
  kind: scene
mqtt:
  host: 127.0.0.1
  port: 1883
signing_key: sensor.pem
"""


def _run(tmp_path: Path, text: str) -> tuple[int, str]:
    make_keys(tmp_path)
    path = tmp_path / "sensor.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["sensor", "run", "--config", str(path)])
    return result.exit_code, result.output


def test_unknown_key_is_reported_with_its_line(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD.replace("  port: 1883\n", "  port: 1883\n  qos: 2\n"))
    assert code == 2 and "line 8: mqtt.qos: Extra inputs are not permitted" in output, output
    assert "Traceback" not in output


def test_a_config_with_the_retired_batch_s_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "sensor.yaml"
    path.write_text(GOOD + "reports:\n  window_s: 1\n  batch_s: 5\n")
    with pytest.raises(ConfigError) as caught:
        load_sensor_config(path)
    message = str(caught.value)
    assert "line 10: reports: Value error, batch_s is no longer a setting" in message, message
    assert "delete the batch_s line" in message, "the fitter is told what to change"


def test_unknown_source_kind_is_reported_with_its_line(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD.replace("kind: scene", "kind: hackrf"))
    assert code == 2 and "line 4" in output and "source" in output, output


def test_bad_value_is_reported_with_its_line(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD.replace("sensor_id: s-1", "sensor_id: s/1"))
    assert code == 2 and "line 2: sensor_id" in output, output


def test_an_unknown_fft_library_is_reported_with_its_line_and_the_choices(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD + "fft_library: mkl\n")
    assert code == 2 and "line 9: fft_library" in output and "choose one of pocketfft, fftw" in output, output


def test_the_fftw_library_is_taken_when_installed(tmp_path: Path) -> None:
    make_keys(tmp_path)
    (tmp_path / "sensor.yaml").write_text(GOOD + "fft_library: fftw\n")
    assert load_sensor_config(tmp_path / "sensor.yaml").fft_library == "fftw"


def test_missing_signing_key_says_how_to_make_one(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD.replace("sensor.pem", "missing.pem"))
    assert code == 2 and "cellward sensor keygen" in output, output


def test_keygen_prints_the_public_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["sensor", "keygen", "--sensor-id", "s-9", "--out", str(tmp_path / "k.pem")])
    assert first.exit_code == 0 and first.output.startswith('{"s-9": "')
    again = runner.invoke(app, ["sensor", "keygen", "--sensor-id", "s-9", "--out", str(tmp_path / "k.pem")])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output


def test_unusable_source_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD.replace("kind: scene", "kind: sigmf\n  path: gone.sigmf-meta"))
    assert code == 2 and "gone.sigmf-meta: no such metadata file" in output, output
    assert "Traceback" not in output
