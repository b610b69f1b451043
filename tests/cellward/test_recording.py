"""SigMF recordings: exact round trips, streaming in blocks, and a clear error for every kind of bad file."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellward.recording import SUPPORTED_DATATYPES, RecordingError, open_recording, write_recording

# largest rounding error of each datatype in full-scale units
RESOLUTION = {"cu8": 0.5 / 127.5, "ci8": 0.5 / 128, "ci16_le": 0.5 / 32768, "cf32_le": 1e-7}


def samples(n: int, seed: int = 0) -> np.ndarray:
    """Complex samples inside full scale (so that only rounding, not clipping, separates a round trip)."""
    rng = np.random.default_rng(seed)
    parts = np.clip(0.3 * rng.normal(size=(2, n)), -0.99, 0.99)
    return (parts[0] + 1j * parts[1]).astype(np.complex64)


@pytest.mark.parametrize("datatype", SUPPORTED_DATATYPES)
def test_round_trip_is_exact_to_the_datatype_resolution(tmp_path: Path, datatype: str) -> None:
    x = samples(5000)
    meta = write_recording(tmp_path / "rec", x, datatype=datatype, sample_rate_hz=2.4e6, center_freq_hz=897e6)
    recording = open_recording(meta, verify_checksum=True)
    y = np.concatenate(list(recording.blocks(777)))
    assert (recording.num_samples, recording.sample_rate_hz, recording.center_freq_hz) == (5000, 2.4e6, 897e6)
    assert np.max(np.abs(y.real - x.real)) <= RESOLUTION[datatype] * 1.01
    assert np.max(np.abs(y.imag - x.imag)) <= RESOLUTION[datatype] * 1.01


def test_cu8_full_scale_maps_to_plus_and_minus_one(tmp_path: Path) -> None:
    raw = np.array([0, 255, 255, 0], np.uint8)
    meta = write_recording(tmp_path / "fs", raw, datatype="cu8", sample_rate_hz=1e6, center_freq_hz=1e8)
    (block,) = open_recording(meta).blocks()
    assert block.tolist() == [complex(-1, 1), complex(1, -1)]


def test_written_metadata_validates_with_the_sigmf_package(tmp_path: Path) -> None:
    import sigmf

    annotation = {
        "core:sample_start": 10,
        "core:sample_count": 100,
        "core:label": "gsm",
        "core:freq_lower_edge": 896.5e6,
        "core:freq_upper_edge": 896.7e6,
    }
    meta = write_recording(
        tmp_path / "v",
        samples(200),
        datatype="ci16_le",
        sample_rate_hz=2.048e6,
        center_freq_hz=896.6e6,
        hw="RTL-SDR Blog V4",
        annotations=[annotation],
    )
    handle = sigmf.sigmffile.fromfile(str(meta))
    handle.validate()
    assert handle.get_global_field("core:hw") == "RTL-SDR Blog V4"
    assert handle.get_annotations()[0]["core:label"] == "gsm"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 3000), block=st.integers(1, 4096), datatype=st.sampled_from(SUPPORTED_DATATYPES))
def test_blocks_cover_every_sample_once_in_order(tmp_path: Path, n: int, block: int, datatype: str) -> None:
    x = samples(n, seed=n)
    meta = write_recording(
        tmp_path / f"b{n}_{block}_{datatype}", x, datatype=datatype, sample_rate_hz=1e6, center_freq_hz=1e8
    )
    blocks = list(open_recording(meta).blocks(block))
    assert all(len(b) == block for b in blocks[:-1]) and 0 < len(blocks[-1]) <= block
    y = np.concatenate(blocks)
    assert len(y) == n
    assert np.max(np.abs(y - x)) <= 2 * RESOLUTION[datatype]


def test_a_large_recording_is_streamed_not_loaded(tmp_path: Path) -> None:
    chunk = np.full(1 << 20, 127, np.uint8)
    meta = write_recording(
        tmp_path / "big", (chunk for _ in range(100)), datatype="cu8", sample_rate_hz=2.4e6, center_freq_hz=9e8
    )  # 100 MiB of cu8
    recording = open_recording(meta)
    tracemalloc.start()
    total = sum(len(b) for b in recording.blocks(1 << 18))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == 50 * (1 << 20)
    assert peak < 20e6, f"reading 100 MB in blocks peaked at {peak / 1e6:.0f} MB"


def write_bad(tmp_path: Path, meta: object, data: bytes = b"\x00" * 64) -> Path:
    (tmp_path / "bad.sigmf-meta").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    (tmp_path / "bad.sigmf-data").write_bytes(data)
    return tmp_path / "bad.sigmf-meta"


GOOD = {
    "global": {"core:datatype": "cu8", "core:sample_rate": 2.4e6, "core:version": "1.2.0"},
    "captures": [{"core:sample_start": 0, "core:frequency": 8.97e8}],
    "annotations": [],
}


@pytest.mark.parametrize(
    ("meta", "data", "message"),
    [
        ("{not json", b"\x00" * 4, "not valid JSON"),
        (
            GOOD | {"global": GOOD["global"] | {"core:datatype": "cu12_le"}},
            b"\x00" * 4,
            "fails SigMF validation|not supported",
        ),
        (GOOD | {"global": GOOD["global"] | {"core:datatype": "ri16_le"}}, b"\x00" * 4, "not supported"),
        (GOOD | {"captures": []}, b"\x00" * 4, "core:frequency"),
        (
            GOOD | {"global": {k: v for k, v in GOOD["global"].items() if k != "core:sample_rate"}},
            b"\x00" * 4,
            "sample_rate",
        ),
        (GOOD, b"\x00" * 5, "not a whole number"),
        (GOOD | {"annotations": [{"core:sample_start": 0, "core:sample_count": 1000}]}, b"\x00" * 8, "truncated"),
        (GOOD | {"global": GOOD["global"] | {"core:num_channels": 2}}, b"\x00" * 8, "channels"),
    ],
    ids=[
        "not-json",
        "bad-datatype-name",
        "unsupported-datatype",
        "no-capture",
        "no-rate",
        "half-sample",
        "shorter-than-annotations",
        "two-channels",
    ],
)
def test_bad_recordings_give_one_clear_error(tmp_path: Path, meta: object, data: bytes, message: str) -> None:
    with pytest.raises(RecordingError, match=message) as caught:
        open_recording(write_bad(tmp_path, meta, data))
    assert "\n" not in str(caught.value) and "bad.sigmf" in str(caught.value)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such metadata file"):
        open_recording(tmp_path / "none.sigmf-meta")
    (tmp_path / "lonely.sigmf-meta").write_text(json.dumps(GOOD))
    with pytest.raises(RecordingError, match="data file is missing"):
        open_recording(tmp_path / "lonely")


def test_checksum_mismatch_is_found_on_request(tmp_path: Path) -> None:
    meta = write_recording(tmp_path / "c", samples(100), datatype="cu8", sample_rate_hz=1e6, center_freq_hz=1e8)
    data = tmp_path / "c.sigmf-data"
    data.write_bytes(bytes([b ^ 1 for b in data.read_bytes()]))
    open_recording(meta)  # not checked unless asked: it reads the whole file
    with pytest.raises(RecordingError, match="sha512"):
        open_recording(meta, verify_checksum=True)
