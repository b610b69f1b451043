"""SigMF recordings: exact scaling, round trips, streaming in blocks, one clear error for every bad file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sigmf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellward.recording import SUPPORTED_DATATYPES, RecordingError, open_recording, write_recording

COMPONENT = {"cu8": np.uint8, "ci8": np.int8, "ci16_le": np.dtype("<i2"), "cf32_le": np.dtype("<f4")}
SUPPORTED_LIST = "cu8, ci8, ci16_le, cf32_le"  # as error messages name them
# half an ADC step in full-scale units: the most a rounded sample may move
HALF_STEP = {"cu8": 0.5 / 127.5, "ci8": 0.5 / 128, "ci16_le": 0.5 / 32768, "cf32_le": 0.0}


def samples(n: int, seed: int = 0) -> np.ndarray:
    """Complex samples inside full scale (up to 0.99), so that only rounding separates a round trip."""
    rng = np.random.default_rng(seed)
    parts = np.clip(0.4 * rng.normal(size=(2, n)), -0.99, 0.99)
    return (parts[0] + 1j * parts[1]).astype(np.complex64)


def decode(data_path: Path, datatype: str) -> np.ndarray:
    """The data file decoded in one piece, in float64 straight from the SigMF scaling rules."""
    c = np.fromfile(data_path, COMPONENT[datatype]).astype(np.float64)
    c = {"cu8": (c - 127.5) / 127.5, "ci8": c / 128, "ci16_le": c / 32768, "cf32_le": c}[datatype]
    return (c[0::2] + 1j * c[1::2]).astype(np.complex64)


def write(path: Path, x: np.ndarray, datatype: str = "cu8", **kwargs: Any) -> Path:
    return write_recording(path, x, datatype=datatype, sample_rate_hz=2.4e6, center_freq_hz=897e6, **kwargs)


GOOD: dict[str, Any] = {
    "global": {"core:datatype": "cu8", "core:sample_rate": 2.4e6, "core:version": "1.2.0"},
    "captures": [{"core:sample_start": 0, "core:frequency": 8.97e8}],
    "annotations": [],
}


def with_global(**fields: object) -> dict[str, Any]:
    """GOOD with these global fields set, or removed where given as None."""
    glob = {k: v for k, v in GOOD["global"].items() if fields.get(k, "") is not None}
    return GOOD | {"global": glob | {k: v for k, v in fields.items() if v is not None}}


def write_by_hand(tmp_path: Path, meta: object, data: bytes) -> Path:
    (tmp_path / "bad.sigmf-meta").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    (tmp_path / "bad.sigmf-data").write_bytes(data)
    return tmp_path / "bad.sigmf-meta"


# --- scaling and round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "components", "expected"),
    [
        ("cu8", [0, 255, 127, 128], [-1 + 1j, complex(-0.5 / 127.5, 0.5 / 127.5)]),
        ("ci8", [-128, 127, 0, 64], [complex(-1, 127 / 128), 0.5j]),
        ("ci16_le", [-32768, 32767, 1, -1], [complex(-1, 32767 / 32768), complex(1 / 32768, -1 / 32768)]),
        ("cf32_le", [0.25, -1.5, 3.0, 0.0], [0.25 - 1.5j, 3 + 0j]),
    ],
)
def test_each_datatype_reads_with_adc_full_scale_at_one(
    tmp_path: Path, datatype: str, components: list[float], expected: list[complex]
) -> None:
    data = np.array(components, COMPONENT[datatype]).tobytes()
    meta = write_by_hand(tmp_path, with_global(**{"core:datatype": datatype}), data)
    (block,) = open_recording(meta).blocks()
    assert block.dtype == np.complex64
    np.testing.assert_array_equal(block, np.array(expected, np.complex64), err_msg="scaling is exact")


@pytest.mark.parametrize("datatype", SUPPORTED_DATATYPES)
def test_round_trip_moves_no_sample_more_than_half_an_adc_step(tmp_path: Path, datatype: str) -> None:
    x = samples(5000)
    recording = open_recording(write(tmp_path / "rec", x, datatype), verify_checksum=True)
    y = np.concatenate(list(recording.blocks(777)))
    assert (recording.num_samples, recording.sample_rate_hz, recording.center_freq_hz) == (5000, 2.4e6, 897e6)
    error = max(np.max(np.abs(y.real - x.real)), np.max(np.abs(y.imag - x.imag)))
    # 1e-6 covers float32 arithmetic; a wrong scale factor moves samples near full scale by far more
    bound = HALF_STEP[datatype] + 1e-6
    assert error <= bound, f"{datatype}: error {error:.3g} > half a step {HALF_STEP[datatype]:.3g}"
    if datatype != "cf32_le":
        assert error > 0.9 * HALF_STEP[datatype], "5000 random samples round by nearly half a step somewhere"


@pytest.mark.parametrize(
    ("datatype", "components"),
    [("cu8", [255, 0, 166, 89]), ("ci8", [127, -128, 38, -38]), ("ci16_le", [32767, -32768, 9830, -9830])],
)
def test_writer_rounds_to_the_nearest_step_and_clips_at_full_scale(
    tmp_path: Path, datatype: str, components: list[int]
) -> None:
    meta = write(tmp_path / "clip", np.array([1.5 - 2j, 0.3 - 0.3j], np.complex64), datatype)
    written = np.fromfile(meta.with_suffix(".sigmf-data"), COMPONENT[datatype])
    assert written.tolist() == components


def test_cu8_writer_takes_interleaved_bytes_verbatim(tmp_path: Path) -> None:
    raw = np.arange(256, dtype=np.uint8)
    meta = write(tmp_path / "raw", (raw[:100], raw[100:]))
    assert meta.with_suffix(".sigmf-data").read_bytes() == raw.tobytes()
    assert open_recording(meta).num_samples == 128


# --- blocks --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 3000), block=st.integers(1, 4096), datatype=st.sampled_from(SUPPORTED_DATATYPES))
def test_blocks_cover_every_sample_once_in_order(tmp_path: Path, n: int, block: int, datatype: str) -> None:
    meta = write(tmp_path / "p", samples(n, seed=n), datatype)
    blocks = list(open_recording(meta).blocks(block))
    assert [len(b) for b in blocks] == [block] * (n // block) + ([n % block] if n % block else [])
    y = np.concatenate(blocks) if blocks else np.zeros(0, np.complex64)
    np.testing.assert_array_equal(y, decode(meta.with_suffix(".sigmf-data"), datatype))


@pytest.mark.parametrize("datatype", ["cu8", "cf32_le"])
def test_blocks_are_separate_complex64_arrays_the_caller_may_keep(tmp_path: Path, datatype: str) -> None:
    blocks = list(open_recording(write(tmp_path / "k", samples(3500), datatype)).blocks(1000))
    assert [(b.dtype, b.ndim, len(b)) for b in blocks] == [(np.complex64, 1, n) for n in (1000, 1000, 1000, 500)]
    assert not any(np.shares_memory(a, b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


@pytest.mark.parametrize("datatype", SUPPORTED_DATATYPES)
def test_block_fills_write_each_block_into_the_callers_array(tmp_path: Path, datatype: str) -> None:
    meta = write(tmp_path / "f", samples(2500, seed=3), datatype)
    buffer = np.full(4000, np.complex64(9 + 9j))  # a consumer's own buffer, filled block by block
    at = 0
    for count, fill in open_recording(meta).block_fills(1000):
        fill(buffer[at : at + count])
        at += count
    assert at == 2500
    np.testing.assert_array_equal(buffer[:2500], decode(meta.with_suffix(".sigmf-data"), datatype))
    assert np.all(buffer[2500:] == np.complex64(9 + 9j))


@pytest.mark.parametrize("datatype", ["cu8", "cf32_le"])
def test_a_block_fill_refuses_an_array_of_the_wrong_size_or_type(tmp_path: Path, datatype: str) -> None:
    count, fill = next(open_recording(write(tmp_path / "w", samples(300), datatype)).block_fills(200))
    for wrong in (
        np.empty(count + 1, np.complex64),
        np.empty(count, np.complex128),
        np.empty(2 * count, np.complex64)[::2],
    ):
        with pytest.raises(ValueError, match=f"complex64 array of {count}"):
            fill(wrong)


def test_block_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        next(open_recording(write(tmp_path / "z", samples(10))).blocks(0))


def test_a_200_mb_recording_is_written_and_read_in_blocks_without_loading_it(tmp_path: Path) -> None:
    chunk_bytes, chunks = 1 << 19, 400  # 210 MB of cu8; chunk k holds the byte k % 256
    block_samples = chunk_bytes // 2
    tracemalloc.start()
    meta = write(tmp_path / "big", (np.full(chunk_bytes, k % 256, np.uint8) for k in range(chunks)))
    _, write_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    recording = open_recording(meta)
    count = 0
    for k, block in enumerate(recording.blocks(block_samples)):
        assert len(block) == block_samples
        assert np.all(block == np.complex64(complex(k % 256 - 127.5, k % 256 - 127.5) / 127.5)), f"block {k}"
        count += len(block)
    _, read_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == chunks * block_samples
    # one complex64 block is 2 MiB; about two of them live at once (the caller's and the next) plus the read
    # buffer, against 210 MB on disk and 840 MB as complex64
    assert write_peak < 8e6, f"writing 210 MB in chunks peaked at {write_peak / 1e6:.0f} MB"
    assert read_peak < 8e6, f"reading 210 MB in blocks peaked at {read_peak / 1e6:.0f} MB"


# --- metadata ------------------------------------------------------------------------------------------


def test_written_metadata_validates_with_the_sigmf_package(tmp_path: Path) -> None:
    annotations = [
        {"core:sample_start": 300, "core:sample_count": 50, "core:label": "lte", "cellward:snr_db": 12.5},
        {
            "core:sample_start": np.int64(10),
            "core:sample_count": 100,
            "core:freq_lower_edge": 896.5e6,
            "core:freq_upper_edge": 896.7e6,
            "core:label": "gsm",
            "core:comment": "normal burst",
        },
    ]
    meta = write(
        tmp_path / "v",
        samples(400),
        "ci16_le",
        datetime="2025-01-31T12:00:00.5Z",
        hw="RTL-SDR Blog V4",
        description="wing B landing 2",
        annotations=annotations,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sigmf warns about undeclared extension namespaces
        handle = sigmf.sigmffile.fromfile(str(meta))  # also checks core:sha512 against the data
        handle.validate()
    written = json.loads(meta.read_text())
    data = meta.with_suffix(".sigmf-data").read_bytes()
    assert written["global"] == {
        "core:version": sigmf.__specification__,
        "core:datatype": "ci16_le",
        "core:sample_rate": 2.4e6,
        "core:num_channels": 1,
        "core:recorder": "cellward",
        "core:extensions": [{"name": "cellward", "version": "1.0.0", "optional": True}],
        "core:hw": "RTL-SDR Blog V4",
        "core:description": "wing B landing 2",
        "core:sha512": hashlib.sha512(data).hexdigest(),
    }
    assert written["captures"] == [
        {"core:sample_start": 0, "core:frequency": 897e6, "core:datetime": "2025-01-31T12:00:00.5Z"}
    ]
    assert [a["core:label"] for a in written["annotations"]] == ["gsm", "lte"], "sorted by sample_start"
    assert written["annotations"][1]["cellward:snr_db"] == 12.5
    recording = open_recording(meta)
    assert (recording.datetime, recording.hw) == ("2025-01-31T12:00:00.5Z", "RTL-SDR Blog V4")


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2025-03-01T13:00:00+01:00", "2025-03-01T12:00:00.000000Z"),
        ("2025-03-01T12:00:00.123456789Z", "2025-03-01T12:00:00.123456789Z"),
    ],
)
def test_datetime_is_written_in_utc_ending_in_z(tmp_path: Path, given: str, written: str) -> None:
    meta = write(tmp_path / "t", samples(4), datetime=given)
    assert open_recording(meta).datetime == written


def test_datetime_defaults_to_now_in_utc(tmp_path: Path) -> None:
    stamp = open_recording(write(tmp_path / "now", samples(4))).datetime
    assert stamp is not None and stamp.endswith("Z")
    age_s = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(stamp)).total_seconds()
    assert 0 <= age_s < 60


# --- what the writer refuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "block", "error", "message"),
    [
        ("cu8", np.zeros(8, np.float32), TypeError, "must be complex"),
        ("ci16_le", np.zeros(8, np.uint8), TypeError, "must be complex"),
        ("cu8", np.zeros(7, np.uint8), ValueError, "even number of bytes"),
        ("ci8", np.array([0, np.nan], np.complex64), ValueError, "NaN or infinity"),
        ("cf32_le", np.zeros((2, 4), np.complex64), ValueError, "1-D"),
    ],
)
def test_writer_refuses_samples_it_cannot_store_and_leaves_no_files(
    tmp_path: Path, datatype: str, block: np.ndarray, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        write(tmp_path / "w", (samples(100), block), datatype)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"datatype": "ri16_le"}, f"cannot write datatype 'ri16_le'; use one of {SUPPORTED_LIST}$"),
        ({"sample_rate_hz": -1.0}, "fails SigMF validation at global/core:sample_rate"),
        ({"center_freq_hz": float("nan")}, "cannot be written as JSON"),
        ({"datetime": "2025-03-01 12:00"}, "not an ISO 8601 time with a time zone"),
        ({"annotations": [{"core:sample_count": 5}]}, "fails SigMF validation at annotations/0"),
        (
            {"annotations": [{"core:sample_start": 90, "core:sample_count": 20}]},
            "reach sample 110 but only 100",
        ),
    ],
    ids=[
        "datatype",
        "rate",
        "frequency",
        "naive-datetime",
        "annotation-without-start",
        "annotation-past-end",
    ],
)
def test_writer_errors_are_one_line_naming_the_file(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    arguments = {"datatype": "cu8", "sample_rate_hz": 2.4e6, "center_freq_hz": 897e6} | kwargs
    with pytest.raises(RecordingError, match=message.replace("(", r"\(")) as caught:
        write_recording(tmp_path / "w", samples(100), **arguments)
    assert "\n" not in str(caught.value) and "w.sigmf-meta" in str(caught.value)
    assert list(tmp_path.iterdir()) == [], "no data file without its metadata"


# --- what the reader refuses ---------------------------------------------------------------------------

FOUR_SAMPLES = b"\x80" * 8


@pytest.mark.parametrize(
    ("meta", "data", "message"),
    [
        (
            "{not json",
            FOUR_SAMPLES,
            r"bad\.sigmf-meta: not valid JSON \(.*\); give a recording's \.sigmf-meta",
        ),
        ("[1, 2]", FOUR_SAMPLES, "no 'global' object, so not SigMF metadata"),
        (
            GOOD | {"captures": [{"core:sample_start": 0, "core:frequency": "897 MHz"}]},
            FOUR_SAMPLES,
            "fails SigMF validation at captures/0/core:frequency: .*; fix the metadata",
        ),
        (
            GOOD | {"annotations": [{"core:sample_start": 3}, {"core:sample_start": 1}]},
            FOUR_SAMPLES,
            "fails SigMF validation at top level: annotations has incorrect sample start ordering",
        ),
        (
            with_global(**{"core:datatype": "ri16_le"}),
            FOUR_SAMPLES,
            f"core:datatype 'ri16_le' is not supported; convert the recording to one of {SUPPORTED_LIST}$",
        ),
        (
            with_global(**{"core:datatype": "cu12_le"}),
            FOUR_SAMPLES,
            "core:datatype 'cu12_le' is not supported",
        ),
        (with_global(**{"core:sample_rate": None}), FOUR_SAMPLES, "no core:sample_rate; add the rate"),
        (with_global(**{"core:sample_rate": 0}), FOUR_SAMPLES, "core:sample_rate 0 is not a positive number"),
        (with_global(**{"core:sample_rate": -2.4e6}), FOUR_SAMPLES, "-2400000.0 is not a positive number"),
        (
            GOOD | {"captures": []},
            FOUR_SAMPLES,
            "no capture with core:frequency, so the tuner centre is unknown",
        ),
        (GOOD | {"captures": [{"core:sample_start": 0}]}, FOUR_SAMPLES, "no capture with core:frequency"),
        (with_global(**{"core:num_channels": 2}), FOUR_SAMPLES, "2 channels; cellward reads one"),
        (
            GOOD | {"captures": [*GOOD["captures"], {"core:sample_start": 2, "core:frequency": 9.3e8}]},
            FOUR_SAMPLES,
            "captures at 2 frequencies; cellward reads one tuning per recording, so split it",
        ),
        (
            GOOD | {"captures": [{"core:sample_start": 0, "core:frequency": 8.97e8, "core:header_bytes": 4}]},
            FOUR_SAMPLES,
            "non-conforming dataset",
        ),
        (
            GOOD,
            b"\x80" * 9,
            r"bad\.sigmf-data: 9 bytes is not a whole number of cu8 samples \(2 bytes each\), so the "
            r"recording was cut off mid-sample; .* \(its 4 whole samples open with allow_truncated=True\)",
        ),
        (
            GOOD | {"annotations": [{"core:sample_start": 0, "core:sample_count": 1000}]},
            FOUR_SAMPLES,
            r"bad\.sigmf-data: holds 4 samples but its metadata describes 1000, so the data file is "
            "truncated",
        ),
        (
            GOOD | {"captures": [*GOOD["captures"], {"core:sample_start": 6}]},
            FOUR_SAMPLES,
            "holds 4 samples but its metadata describes 6",
        ),
    ],
    ids=[
        "not-json",
        "not-sigmf",
        "fails-schema",
        "annotations-out-of-order",
        "unsupported-datatype",
        "invalid-datatype-name",
        "no-rate",
        "zero-rate",
        "negative-rate",
        "no-capture",
        "capture-without-frequency",
        "two-channels",
        "two-tunings",
        "header-bytes",
        "cut-mid-sample",
        "shorter-than-annotations",
        "shorter-than-captures",
    ],
)
def test_bad_recordings_give_one_clear_line_naming_the_file(
    tmp_path: Path, meta: object, data: bytes, message: str
) -> None:
    with pytest.raises(RecordingError, match=message) as caught:
        open_recording(write_by_hand(tmp_path, meta, data))
    assert "\n" not in str(caught.value) and "bad.sigmf-" in str(caught.value)


def test_missing_files_are_named_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"none\.sigmf-meta: no such metadata file; give the"):
        open_recording(tmp_path / "none.sigmf-meta")
    (tmp_path / "lonely.sigmf-meta").write_text(json.dumps(GOOD))
    with pytest.raises(RecordingError, match=r"lonely\.sigmf-data: the recording's data file is missing"):
        open_recording(tmp_path / "lonely")
    (tmp_path / "packed.sigmf").write_bytes(b"tar")
    with pytest.raises(RecordingError, match=r"packed\.sigmf: a SigMF archive; extract it"):
        open_recording(tmp_path / "packed.sigmf")


def test_the_meta_the_data_or_the_base_name_open_the_same_recording(tmp_path: Path) -> None:
    meta = write(tmp_path / "rec.v2", samples(10))
    for name in ("rec.v2.sigmf-meta", "rec.v2.sigmf-data", "rec.v2"):
        recording = open_recording(tmp_path / name)
        assert (recording.meta_path, recording.data_path) == (meta, tmp_path / "rec.v2.sigmf-data")


# --- truncation and integrity --------------------------------------------------------------------------


def test_a_recording_cut_mid_sample_opens_on_request_with_only_its_whole_samples(tmp_path: Path) -> None:
    x = samples(1000)
    meta = write(tmp_path / "cut", x, "ci16_le")
    whole = decode(meta.with_suffix(".sigmf-data"), "ci16_le")
    data = meta.with_suffix(".sigmf-data")
    data.write_bytes(data.read_bytes()[:-3])  # 999 whole samples and one byte of the last
    with pytest.raises(RecordingError, match="cut off mid-sample"):
        open_recording(meta)
    recording = open_recording(meta, allow_truncated=True)
    assert recording.num_samples == 999
    np.testing.assert_array_equal(np.concatenate(list(recording.blocks(100))), whole[:999])


def test_a_recording_shorter_than_its_annotations_opens_on_request(tmp_path: Path) -> None:
    meta = write(tmp_path / "short", samples(100), annotations=[{"core:sample_start": 50, "core:sample_count": 50}])
    data = meta.with_suffix(".sigmf-data")
    data.write_bytes(data.read_bytes()[:120])
    with pytest.raises(RecordingError, match="holds 60 samples but its metadata describes 100"):
        open_recording(meta)
    assert sum(len(b) for b in open_recording(meta, allow_truncated=True).blocks()) == 60


def test_a_file_that_shrinks_while_being_read_raises_instead_of_padding(tmp_path: Path) -> None:
    meta = write(tmp_path / "shrink", samples(1000))
    blocks = open_recording(meta).blocks(300)
    next(blocks)
    data = meta.with_suffix(".sigmf-data")
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(RecordingError, match=r"shrink\.sigmf-data: data ends at byte 1000 .* changed while"):
        list(blocks)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_cf32_sample_that_is_not_a_number_is_refused_naming_it(tmp_path: Path, bad: float) -> None:
    x = samples(1000)
    x[734] = complex(0.1, bad)
    meta = write(tmp_path / "nan", x, "cf32_le")
    blocks = open_recording(meta).blocks(300)
    assert len(next(blocks)) == 300 and len(next(blocks)) == 300, "the blocks before it read as usual"
    with pytest.raises(RecordingError, match=r"nan\.sigmf-data: sample 734 is NaN or infinite") as caught:
        next(blocks)
    assert "\n" not in str(caught.value)


def test_checksum_is_verified_only_on_request(tmp_path: Path) -> None:
    meta = write(tmp_path / "c", samples(100))
    open_recording(meta, verify_checksum=True)
    data = meta.with_suffix(".sigmf-data")
    data.write_bytes(bytes(b ^ 1 for b in data.read_bytes()))
    open_recording(meta)  # not checked unless asked: it reads the whole file
    with pytest.raises(RecordingError, match=r"c\.sigmf-data: core:sha512 does not match the data"):
        open_recording(meta, verify_checksum=True)


def test_verifying_a_recording_without_a_checksum_is_an_error_not_a_pass(tmp_path: Path) -> None:
    meta = write_by_hand(tmp_path, GOOD, FOUR_SAMPLES)
    with pytest.raises(RecordingError, match=r"bad\.sigmf-meta: no core:sha512 to verify the data with"):
        open_recording(meta, verify_checksum=True)
