"""SigMF recordings on disk: open and check one, stream its samples as complex64 blocks, write one."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import jsonschema
import numpy as np
import sigmf
from numba import njit
from sigmf import schema as sigmf_schema

SUPPORTED_DATATYPES = ("cu8", "ci8", "ci16_le", "cf32_le")
_COMPONENT = {
    "cu8": np.dtype(np.uint8),
    "ci8": np.dtype(np.int8),
    "ci16_le": np.dtype("<i2"),
    "cf32_le": np.dtype("<f4"),
}
# (component value at zero, component span from zero to ADC full scale): sample = (component - zero) / span
_ZERO_AND_SPAN = {"cu8": (127.5, 127.5), "ci8": (0.0, 128.0), "ci16_le": (0.0, 32768.0)}
# SigMF's own form of core:datetime: UTC, ending in Z
_SIGMF_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
# Namespaces used in annotations are declared optional (sigmf warns on undeclared ones and will refuse them).
_EXTENSION_VERSION = "1.0.0"


class RecordingError(Exception):
    """A recording that cannot be used; the one-line message says what is wrong, in which file, what to do."""


@dataclass(frozen=True)
class Recording:
    """An opened, checked SigMF recording: one channel, one tuning, `num_samples` whole samples on disk."""

    meta_path: Path
    data_path: Path
    datatype: str
    sample_rate_hz: float
    center_freq_hz: float  # the tuner centre (core:frequency of the capture)
    num_samples: int
    datetime: str | None  # core:datetime of the first sample, ISO 8601 UTC, when the recording gives it
    hw: str | None

    def blocks(self, block_samples: int = 1 << 18) -> Iterator[np.ndarray]:
        """Every sample once, in order, as new 1-D complex64 arrays (ADC full scale = 1.0) of `block_samples`.

        Only the last block may be shorter. Each block is read with readinto() into one reused buffer and
        converted by a compiled kernel, so memory stays near one block whatever the file size; the arrays
        handed out are new and the caller may keep them.

        Measured for cu8 (2^18-sample blocks, 10 s at 2.4 MS/s in the page cache, pinned to one core of the
        shared dev box, best of 7 passes, three runs), read + convert to complex64:
          readinto() + numba kernel (this)                    2.3-2.4 GS/s
          np.fromfile() at the offset + numba kernel          2.1-2.3 GS/s
          np.memmap window per block + numba kernel           1.3-1.4 GS/s
          np.fromfile() + 256-entry float32 table, gathered   0.22-0.23 GS/s
        The table gather (numpy fancy indexing) is ten times slower than the kernel, which the compiler
        vectorises; the kernel computes the same float32 values bit for bit. About 1000x real time.
        """
        for count, fill in self.block_fills(block_samples):
            block = np.empty(count, np.complex64)
            fill(block)
            yield block

    def block_fills(self, block_samples: int = 1 << 18) -> Iterator[tuple[int, Callable[[np.ndarray], None]]]:
        """Every sample once, in order, in blocks as `blocks` gives them, but as (count, fill): fill(out)
        writes the block's `count` samples into `out` (C-contiguous complex64 of `count`), converting them
        there. For a consumer with a sample buffer of its own (`dsp.detector.Detector.process_into`): the
        samples land in it without passing through a block array. Call fill before the next block, or not at all.
        """
        if block_samples <= 0:
            raise ValueError(f"block_samples must be positive, got {block_samples}")
        with self.data_path.open("rb", buffering=0) as handle:
            if self.datatype == "cf32_le":  # complex64 on disk already (little-endian hosts): read into `out`
                for start in range(0, self.num_samples, block_samples):
                    count = min(block_samples, self.num_samples - start)
                    yield count, functools.partial(self._read_cf32, handle, start, count)
                return
            raw = np.empty(2 * min(block_samples, self.num_samples), _COMPONENT[self.datatype])
            zero, span = _ZERO_AND_SPAN[self.datatype]
            for start in range(0, self.num_samples, block_samples):
                components = raw[: 2 * min(block_samples, self.num_samples - start)]
                self._fill(handle, components.view(np.uint8), start)
                yield components.size // 2, functools.partial(_convert_into, components, zero, span)

    def _read_cf32(self, handle: BinaryIO, start_sample: int, count: int, out: np.ndarray) -> None:
        _check_fill_target(out, count)
        handle.seek(start_sample * 8)
        self._fill(handle, out.view(np.uint8), start_sample)
        # the one datatype that can hold NaN or infinity: passed on, they blind the detector's floor and lose
        # the bursts around them without a word
        finite = np.isfinite(out.view(np.float32))
        if not finite.all():
            first = start_sample + int(np.argmin(finite)) // 2
            raise RecordingError(
                f"{self.data_path}: sample {first} is NaN or infinite, which no receiver delivers; the data is corrupt"
            )

    def _fill(self, handle: BinaryIO, buffer: np.ndarray, start_sample: int) -> None:
        """Read exactly len(buffer) bytes; the file ending early means it shrank after it was opened."""
        view = memoryview(buffer)
        filled = 0
        while filled < len(view):
            got = handle.readinto(view[filled:])
            if not got:
                at = start_sample * 2 * _COMPONENT[self.datatype].itemsize + filled
                raise RecordingError(
                    f"{self.data_path}: data ends at byte {at} but held {self.num_samples} samples when "
                    "opened; the file changed while being read - let its writer finish, then open it again"
                )
            filled += got


def _check_fill_target(out: np.ndarray, count: int) -> None:
    if out.dtype != np.complex64 or out.shape != (count,) or not out.flags.c_contiguous:
        raise ValueError(
            f"a block's samples fill a C-contiguous complex64 array of {count}, got {out.dtype} {out.shape}"
        )


def _convert_into(components: np.ndarray, zero: float, span: float, out: np.ndarray) -> None:
    _check_fill_target(out, components.size // 2)
    _scale_components(components, np.float32(zero), np.float32(span), out.view(np.float32))


@njit(cache=True, nogil=True)
def _scale_components(raw: np.ndarray, zero: np.float32, span: np.float32, out: np.ndarray) -> None:
    for i in range(raw.size):
        out[i] = (np.float32(raw[i]) - zero) / span


def to_complex64(raw: np.ndarray, datatype: str) -> np.ndarray:
    """Interleaved I/Q components of `datatype` (1-D, I first) as a new complex64 array, ADC full scale = 1.0.

    cu8: (u - 127.5) / 127.5; ci8: v / 128; ci16_le: v / 32768; cf32_le: as stored.
    """
    if datatype not in SUPPORTED_DATATYPES:
        raise ValueError(f"datatype {datatype!r} is not one of {', '.join(SUPPORTED_DATATYPES)}")
    raw = np.asarray(raw)
    if raw.dtype != _COMPONENT[datatype] or raw.ndim != 1 or raw.size % 2:
        raise ValueError(
            f"{datatype} needs a 1-D {_COMPONENT[datatype]} array of I/Q pairs, got {raw.dtype} of shape {raw.shape}"
        )
    if datatype == "cf32_le":
        return raw.astype(np.float32).view(np.complex64)
    zero, span = _ZERO_AND_SPAN[datatype]
    out = np.empty(raw.size // 2, np.complex64)
    _scale_components(raw, np.float32(zero), np.float32(span), out.view(np.float32))
    return out


def from_complex64(samples: np.ndarray, datatype: str) -> np.ndarray:
    """Complex samples (ADC full scale = 1.0) as interleaved components of `datatype`, rounded and clipped."""
    interleaved = np.ascontiguousarray(samples, np.complex64).reshape(-1).view(np.float32)
    if datatype == "cf32_le":
        return interleaved.astype("<f4")
    if not np.isfinite(interleaved).all():
        raise ValueError(f"samples hold NaN or infinity, which {datatype} cannot store")
    zero, span = _ZERO_AND_SPAN[datatype]
    limits = np.iinfo(_COMPONENT[datatype])
    scaled = np.rint(interleaved * np.float32(span) + np.float32(zero))
    return np.clip(scaled, limits.min, limits.max).astype(_COMPONENT[datatype])


def open_recording(meta_path: str | Path, *, verify_checksum: bool = False, allow_truncated: bool = False) -> Recording:
    """Open a SigMF recording from its .sigmf-meta, its .sigmf-data or its base name, or raise RecordingError.

    Truncation policy: a data file that ends inside a sample, or holds fewer samples than its captures and
    annotations describe, was cut short, and is refused by default (`cellward detect` must not report on
    half a recording as if it were whole). With `allow_truncated=True` it opens with `num_samples` = the
    whole samples present; the bytes of a partial last sample are never read, so they cannot become a
    garbage sample. `verify_checksum` reads the whole data file to check core:sha512.
    """
    meta_path, data_path = _paths(meta_path)
    archive = meta_path.with_suffix(".sigmf")
    if archive.is_file() and not meta_path.is_file():
        raise RecordingError(f"{archive}: a SigMF archive; extract it (tar -xf) and give its .sigmf-meta")
    if not meta_path.is_file():
        raise RecordingError(f"{meta_path}: no such metadata file; give the .sigmf-meta of a SigMF recording")
    if not data_path.is_file():
        raise RecordingError(
            f"{data_path}: the recording's data file is missing; it must sit beside {meta_path.name}, named like it"
        )
    meta = _read_metadata(meta_path)
    glob = meta["global"]
    datatype = glob["core:datatype"]
    bytes_per_sample = 2 * _COMPONENT[datatype].itemsize
    size = data_path.stat().st_size
    num_samples, stray_bytes = divmod(size, bytes_per_sample)
    described = _samples_described(meta)
    if stray_bytes and not allow_truncated:
        raise RecordingError(
            f"{data_path}: {size} bytes is not a whole number of {datatype} samples ({bytes_per_sample} "
            "bytes each), so the recording was cut off mid-sample; copy it again from its source if you can "
            f"(its {num_samples} whole samples open with allow_truncated=True)"
        )
    if described > num_samples and not allow_truncated:
        raise RecordingError(
            f"{data_path}: holds {num_samples} samples but its metadata describes {described}, so the data "
            "file is truncated; copy it again from its source if you can "
            "(what is there opens with allow_truncated=True)"
        )
    if verify_checksum:
        _verify_sha512(glob.get("core:sha512"), meta_path, data_path)
    capture = meta["captures"][0]
    return Recording(
        meta_path=meta_path,
        data_path=data_path,
        datatype=datatype,
        sample_rate_hz=float(glob["core:sample_rate"]),
        center_freq_hz=float(capture["core:frequency"]),
        num_samples=num_samples,
        datetime=capture.get("core:datetime"),
        hw=glob.get("core:hw"),
    )


def _paths(path: str | Path) -> tuple[Path, Path]:
    """The .sigmf-meta and .sigmf-data paths of a recording named by either, its base name or its archive."""
    path = Path(path)
    name = path.name
    for suffix in (".sigmf-meta", ".sigmf-data", ".sigmf"):
        name = name.removesuffix(suffix)
    base = path.with_name(name)
    return base.with_name(base.name + ".sigmf-meta"), base.with_name(base.name + ".sigmf-data")


def _read_metadata(meta_path: Path) -> dict[str, Any]:
    """The metadata as JSON, checked for what cellward needs (clearest message first) and against SigMF."""
    try:
        meta = json.loads(meta_path.read_bytes())
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise RecordingError(f"{meta_path}: not valid JSON ({exc}); give a recording's .sigmf-meta") from exc
    glob = meta.get("global") if isinstance(meta, dict) else None
    if not isinstance(glob, dict):
        raise RecordingError(f"{meta_path}: no 'global' object, so not SigMF metadata; give a .sigmf-meta")
    datatype = glob.get("core:datatype")
    if datatype not in SUPPORTED_DATATYPES:
        raise RecordingError(
            f"{meta_path}: core:datatype {datatype!r} is not supported; convert the recording to one of "
            f"{', '.join(SUPPORTED_DATATYPES)}"
        )
    channels = glob.get("core:num_channels", 1)
    if channels != 1:
        raise RecordingError(f"{meta_path}: {channels!r} channels; cellward reads one, so extract one first")
    rate = glob.get("core:sample_rate")
    if rate is None:
        raise RecordingError(f"{meta_path}: no core:sample_rate; add the rate (samples per second) to global")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not (math.isfinite(rate) and rate > 0):
        raise RecordingError(
            f"{meta_path}: core:sample_rate {rate!r} is not a positive number; set it to the rate in samples per second"
        )
    _validate(meta, f"{meta_path}: fails SigMF validation", "fix the metadata")
    captures = meta["captures"]
    if not captures or "core:frequency" not in captures[0]:
        raise RecordingError(
            f"{meta_path}: no capture with core:frequency, so the tuner centre is unknown; add it to the first capture"
        )
    frequencies = {c.get("core:frequency", captures[0]["core:frequency"]) for c in captures}
    if len(frequencies) > 1:
        raise RecordingError(
            f"{meta_path}: captures at {len(frequencies)} frequencies; cellward reads one tuning per "
            "recording, so split it at the retunes"
        )
    if glob.get("core:trailing_bytes") or any(c.get("core:header_bytes") for c in captures):
        raise RecordingError(
            f"{meta_path}: a non-conforming dataset (header or trailing bytes); strip them to make a plain .sigmf-data"
        )
    return meta


def _validate(meta: Mapping[str, Any], problem: str, fix: str) -> None:
    """Check `meta` against the sigmf package's schema and SigMF's ordering rule; a failure becomes one
    line: problem, where, why, fix.

    sigmf.validate.validate does the same but checks the schema itself against its meta-schema on every
    call (about 30 ms, as long as detecting a second of samples), so the compiled validator is kept.
    """
    try:
        error = jsonschema.exceptions.best_match(_sigmf_validator().iter_errors(meta))
        if error is not None:
            raise error
        for key in ("captures", "annotations"):
            starts = [item["core:sample_start"] for item in meta[key]]
            if starts != sorted(starts):
                raise jsonschema.ValidationError(f"{key} has incorrect sample start ordering.")
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "top level"
        raise RecordingError(f"{problem} at {where}: {' '.join(exc.message.split())}; {fix}") from exc


@functools.cache
def _sigmf_validator() -> jsonschema.protocols.Validator:
    schema = sigmf_schema.get_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def _samples_described(meta: Mapping[str, Any]) -> int:
    """How many samples the data must hold for every capture and annotation to lie inside it."""
    offset = meta["global"].get("core:offset", 0)  # annotation indices are absolute, capture indices per file
    ends = [capture["core:sample_start"] for capture in meta["captures"]]
    ends += [a["core:sample_start"] - offset + a.get("core:sample_count", 0) for a in meta["annotations"]]
    return max(ends, default=0)


def _verify_sha512(expected: str | None, meta_path: Path, data_path: Path) -> None:
    if expected is None:
        raise RecordingError(f"{meta_path}: no core:sha512 to verify the data with; open it unverified")
    with data_path.open("rb") as handle:
        actual = hashlib.file_digest(handle, "sha512").hexdigest()
    if actual != expected.lower():
        raise RecordingError(
            f"{data_path}: core:sha512 does not match the data, so it was altered or damaged; "
            "copy it again from its source"
        )


def write_recording(
    base_path: str | Path,
    samples: np.ndarray | Iterable[np.ndarray],
    *,
    datatype: str,
    sample_rate_hz: float,
    center_freq_hz: float,
    datetime: str | None = None,
    hw: str | None = None,
    description: str | None = None,
    annotations: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write a SigMF recording, streaming `samples` block by block; return the path of its .sigmf-meta.

    `samples` is one array or an iterable of them: complex, ADC full scale = 1.0 (rounded and clipped for
    the integer datatypes), or for cu8 also uint8 I/Q already interleaved. `datetime` is the time of the
    first sample, ISO 8601 with a time zone, written in UTC with Z (default: now). Annotations are written
    sorted by core:sample_start, their namespaces declared as optional extensions. The metadata is checked
    with the sigmf package before any sample is written; the data goes to a .partial file that is renamed
    into place only once complete, so a failure never leaves data that disagrees with its metadata.
    """
    meta_path, data_path = _paths(base_path)
    if datatype not in SUPPORTED_DATATYPES:
        raise RecordingError(
            f"{meta_path}: cannot write datatype {datatype!r}; use one of {', '.join(SUPPORTED_DATATYPES)}"
        )
    notes = sorted((dict(a) for a in annotations), key=lambda a: a.get("core:sample_start", 0))
    namespaces = sorted({key.split(":")[0] for a in notes for key in a if ":" in key} - {"core"})
    glob: dict[str, Any] = {
        "core:version": sigmf.__specification__,
        "core:datatype": datatype,
        "core:sample_rate": float(sample_rate_hz),
        "core:num_channels": 1,
        "core:recorder": "cellward",
    }
    if namespaces:
        glob["core:extensions"] = [
            {"name": name, "version": _EXTENSION_VERSION, "optional": True} for name in namespaces
        ]
    if hw:
        glob["core:hw"] = hw
    if description:
        glob["core:description"] = description
    capture = {"core:sample_start": 0, "core:frequency": float(center_freq_hz)}
    capture["core:datetime"] = _utc_datetime(datetime, meta_path)
    meta = _as_json({"global": glob, "captures": [capture], "annotations": notes}, meta_path)
    _validate(meta, f"{meta_path}: the metadata to write fails SigMF validation", "fix the arguments")

    partial = data_path.with_name(data_path.name + ".partial")
    digest = hashlib.sha512()
    num_samples = 0
    try:
        with partial.open("wb") as handle:
            for block in [samples] if isinstance(samples, np.ndarray) else samples:
                components = _components(block, datatype)
                digest.update(components)
                handle.write(components)
                num_samples += components.size // 2
        described = _samples_described(meta)
        if described > num_samples:
            raise RecordingError(
                f"{meta_path}: the annotations reach sample {described} but only {num_samples} samples "
                "were given; fix the annotations or give all the samples"
            )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(data_path)
    meta["global"]["core:sha512"] = digest.hexdigest()
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta_path


def _components(block: np.ndarray, datatype: str) -> np.ndarray:
    """One block of samples given to the writer as contiguous interleaved components of `datatype`."""
    block = np.asarray(block)
    if block.ndim != 1:
        raise ValueError(f"sample blocks must be 1-D, got shape {block.shape}")
    if datatype == "cu8" and block.dtype == np.uint8:
        if block.size % 2:
            raise ValueError(f"interleaved cu8 blocks hold I/Q pairs (an even number of bytes), got {block.size}")
        return np.ascontiguousarray(block)
    if not np.iscomplexobj(block):
        raise TypeError(f"samples must be complex (or interleaved uint8 for cu8), got {block.dtype}")
    return from_complex64(block, datatype)


def _utc_datetime(text: str | None, meta_path: Path) -> str:
    """`text` in SigMF's form (UTC, ISO 8601, Z), kept verbatim when already so; now when None."""
    if text is None:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise RecordingError(
            f"{meta_path}: datetime {text!r} is not an ISO 8601 time with a time zone; "
            "give the first sample's time like '2025-01-31T12:00:00.000Z'"
        )
    if _SIGMF_UTC.fullmatch(text):
        return text
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _as_json(meta: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    """`meta` after a JSON round trip: numpy scalars become numbers; what cannot be written fails here."""

    def plain(value: object) -> object:
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"{type(value).__name__} is not JSON")

    try:
        return json.loads(json.dumps(meta, default=plain, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RecordingError(
            f"{meta_path}: the metadata cannot be written as JSON ({exc}); give plain finite values"
        ) from exc
