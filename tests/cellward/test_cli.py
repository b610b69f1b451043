"""The `cellward` command as a user runs it: detect on recordings, errors, and the README's promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from cellward.recording import open_recording, write_recording
from sim.signals import gsm, lte
from sim.signals.scene import Scene

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "firmware-interface/schemas/detection.v1.json").read_text())


def cellward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cellward.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.fixture(scope="module")
def phone_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    fs, fc = 2.4e6, 897.1e6
    scene = Scene(fs, fc, 0.2, seed=3).add(
        gsm.call(fs, gsm.uplink_arfcn_hz(33), 4, 0.0, 0.2, 18, rng),
        lte.volte(fs, 897.9e6, 6, 0.0, 0.2, 15, rng),
    )
    cu8, _, _ = scene.render()
    return write_recording(
        tmp_path_factory.mktemp("rec") / "phones", cu8, datatype="cu8", sample_rate_hz=fs, center_freq_hz=fc
    )


def test_detect_prints_valid_json_lines_in_time_order(phone_recording: Path) -> None:
    run = cellward("detect", str(phone_recording))
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    for record in records:
        jsonschema.validate(record, SCHEMA)
    starts = [r["start_s"] for r in records]
    assert starts == sorted(starts)
    technologies = {r["technology"] for r in records}
    assert {"gsm", "lte"} <= technologies, f"expected a GSM call and a VoLTE UE, got {technologies}"
    assert all(r["band"] == "B8" and r["operators"] == ["Vodafone"] for r in records if r["technology"] == "gsm")
    assert sum(r["technology"] == "gsm" for r in records) >= 40, "a 0.2 s call holds 41 bursts"


def test_detect_accepts_the_data_file_or_the_base_name(phone_recording: Path) -> None:
    by_meta = cellward("detect", str(phone_recording)).stdout
    assert cellward("detect", str(phone_recording.with_suffix(".sigmf-data"))).stdout == by_meta
    assert cellward("detect", str(phone_recording.with_suffix(""))).stdout == by_meta


def test_detect_in_dwells_hears_the_recording_as_a_node_does(phone_recording: Path) -> None:
    whole = [json.loads(line) for line in cellward("detect", str(phone_recording)).stdout.splitlines()]
    run = cellward("detect", str(phone_recording), "--dwell-s", "0.05")
    assert run.returncode == 0, run.stderr
    dwells = [json.loads(line) for line in run.stdout.splitlines()]
    gsm_starts = [r["start_s"] for r in dwells if r["technology"] == "gsm"]
    assert gsm_starts == sorted(gsm_starts) and gsm_starts[-1] > 0.15, "times are the recording's, not the dwell's"
    # the call's bursts are found in every dwell, at the times one stream gives them to within a frame hop (a
    # restart starts the frames afresh)
    whole_gsm = [r["start_s"] for r in whole if r["technology"] == "gsm"]
    assert len(gsm_starts) >= len(whole_gsm) - 4
    near = [min(abs(t - w) for w in whole_gsm) < 60e-6 for t in gsm_starts]
    assert sum(near) >= len(whole_gsm) - 4, f"{len(near) - sum(near)} of {len(near)} bursts at other times"
    refused = cellward("detect", str(phone_recording), "--dwell-s", "-1")
    assert refused.returncode == 2 and refused.stdout == "" and "--dwell-s" in refused.stderr


def test_detect_with_fftw_finds_what_pocketfft_finds(phone_recording: Path) -> None:
    default = [json.loads(line) for line in cellward("detect", str(phone_recording)).stdout.splitlines()]
    run = cellward("detect", str(phone_recording), "--fft-library", "fftw")
    assert run.returncode == 0, run.stderr
    fftw = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["technology"] for r in fftw] == [r["technology"] for r in default] and len(default) >= 40
    assert max(abs(a["start_s"] - b["start_s"]) for a, b in zip(fftw, default, strict=True)) < 5e-6
    refused = cellward("detect", str(phone_recording), "--fft-library", "mkl")
    assert refused.returncode == 2 and refused.stdout == "" and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("cellward detect: --fft-library: unknown FFT library 'mkl'"), refused.stderr


def truncated(tmp: Path, source: Path) -> Path:
    meta = json.loads(source.read_text())
    (tmp / "cut.sigmf-meta").write_text(json.dumps(meta))
    data = source.with_suffix(".sigmf-data").read_bytes()
    (tmp / "cut.sigmf-data").write_bytes(data[: len(data) // 2 + 1])
    return tmp / "cut.sigmf-meta"


def with_a_nan_sample(tmp: Path, source: Path) -> Path:
    """The recording as cf32, one sample half way through not a number."""
    recording = open_recording(source)
    samples = np.concatenate(list(recording.blocks()))
    samples[samples.size // 2] = complex(np.nan, 0.0)
    return write_recording(
        tmp / "nan",
        [samples],
        datatype="cf32_le",
        sample_rate_hz=recording.sample_rate_hz,
        center_freq_hz=recording.center_freq_hz,
        description="nan",
    )


@pytest.mark.parametrize("case", ["missing", "truncated", "unsupported", "garbage", "nan-sample"])
def test_detect_errors_are_one_line_on_stderr_with_nothing_on_stdout(
    tmp_path: Path, phone_recording: Path, case: str
) -> None:
    if case == "missing":
        path = tmp_path / "nothing.sigmf-meta"
    elif case == "truncated":
        path = truncated(tmp_path, phone_recording)
    elif case == "unsupported":
        meta = json.loads(phone_recording.read_text())
        meta["global"]["core:datatype"] = "ri16_le"
        path = tmp_path / "odd.sigmf-meta"
        path.write_text(json.dumps(meta))
        (tmp_path / "odd.sigmf-data").write_bytes(b"\x00" * 16)
    elif case == "nan-sample":
        path = with_a_nan_sample(tmp_path, phone_recording)
    else:
        path = tmp_path / "junk.sigmf-meta"
        path.write_text("not json at all")
        (tmp_path / "junk.sigmf-data").write_bytes(b"")
    run = cellward("detect", str(path))
    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and run.stderr.startswith("cellward detect: ")


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^    (bash \.ci/setup && .*)$", readme, flags=re.MULTILINE)
    assert any("pytest" in c for c in commands), "README must give the test command"
    assert any("cellward demo" in c for c in commands), "README must give the demo command"
    assert "README.md" in (ROOT / ".ci/run").read_text(), ".ci/run must take its test command from README.md"
