"""SigMF recordings: read and write complex baseband in blocks, so a recording never has to fit in memory.

Metadata goes through the `sigmf` package (parsed and validated); samples are read with
`np.fromfile` at an offset, one block at a time, and converted to complex64 with ADC full scale = 1.0.
A cu8 block converts through a 256-entry lookup table viewed as complex64 (one gather per byte,
measured at several hundred MS/s here, far from the detector's cost).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_DATATYPES = ("cu8", "ci8", "ci16_le", "cf32_le")
_COMPONENT = {
    "cu8": np.dtype(np.uint8),
    "ci8": np.dtype(np.int8),
    "ci16_le": np.dtype("<i2"),
    "cf32_le": np.dtype("<f4"),
}
_CU8_TABLE = ((np.arange(256, dtype=np.float32) - 127.5) / 127.5).astype(np.float32)
_CI8_TABLE = (np.arange(-128, 128, dtype=np.float32) / 128.0).astype(np.float32)


class RecordingError(Exception):
    """A recording that cannot be used; the message says what, where and what to do."""


@dataclass(frozen=True)
class Recording:
    meta_path: Path
    data_path: Path
    datatype: str
    sample_rate_hz: float
    center_freq_hz: float
    num_samples: int
    datetime: str | None
    hw: str | None

    def blocks(self, block_samples: int = 1 << 18) -> Iterator[np.ndarray]:
        """Complex64 blocks of `block_samples` (the last may be shorter), every sample exactly once, in order."""
        if block_samples <= 0:
            raise ValueError("block_samples must be positive")
        component = _COMPONENT[self.datatype]
        bytes_per_sample = 2 * component.itemsize
        with self.data_path.open("rb") as handle:
            for start in range(0, self.num_samples, block_samples):
                count = min(block_samples, self.num_samples - start)
                handle.seek(start * bytes_per_sample)
                raw = np.fromfile(handle, dtype=component, count=2 * count)
                if raw.size != 2 * count:
                    raise RecordingError(
                        f"{self.data_path}: data ends at sample {start + raw.size // 2} of {self.num_samples}; "
                        "the file was truncated while reading"
                    )
                yield to_complex64(raw, self.datatype)


def to_complex64(raw: np.ndarray, datatype: str) -> np.ndarray:
    """Interleaved I/Q components of `datatype` to complex64 with ADC full scale = 1.0."""
    if datatype == "cu8":
        return _CU8_TABLE[raw].view(np.complex64)
    if datatype == "ci8":
        return _CI8_TABLE[raw.view(np.uint8) ^ 0x80].view(np.complex64)
    if datatype == "ci16_le":
        return (raw.astype(np.float32) / 32768.0).view(np.complex64)
    return raw.astype(np.float32, copy=False).view(np.complex64)


def from_complex64(samples: np.ndarray, datatype: str) -> np.ndarray:
    """Complex samples (full scale = 1.0) to interleaved components of `datatype`, rounded and clipped."""
    interleaved = np.asarray(samples, np.complex64).view(np.float32)
    if datatype == "cu8":
        return np.clip(np.rint(interleaved * 127.5 + 127.5), 0, 255).astype(np.uint8)
    if datatype == "ci8":
        return np.clip(np.rint(interleaved * 128.0), -128, 127).astype(np.int8)
    if datatype == "ci16_le":
        return np.clip(np.rint(interleaved * 32768.0), -32768, 32767).astype("<i2")
    return interleaved.astype("<f4")


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    name = path.name
    for suffix in (".sigmf-meta", ".sigmf-data", ".sigmf"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    base = path.with_name(name)
    return base.with_name(name + ".sigmf-meta"), base.with_name(name + ".sigmf-data")


def open_recording(path: str | Path, verify_checksum: bool = False) -> Recording:
    """Open a SigMF recording from its .sigmf-meta, .sigmf-data or base name; raise RecordingError if unusable.

    A data file that is not a whole number of samples is refused (it was truncated mid-sample), as is one
    shorter than the metadata says; `verify_checksum` also reads the whole file to check core:sha512.
    """
    meta_path, data_path = _paths(path)
    if not meta_path.is_file():
        raise RecordingError(f"{meta_path}: no such metadata file; give the .sigmf-meta of a SigMF recording")
    if not data_path.is_file():
        raise RecordingError(f"{data_path}: the recording's data file is missing (expected beside {meta_path.name})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(f"{meta_path}: not valid JSON ({exc}); is this a SigMF metadata file?") from exc
    _validate(meta, meta_path)
    glob = meta["global"]
    datatype = glob.get("core:datatype")
    if datatype not in SUPPORTED_DATATYPES:
        raise RecordingError(
            f"{meta_path}: datatype {datatype!r} is not supported; use one of {', '.join(SUPPORTED_DATATYPES)}"
        )
    if glob.get("core:num_channels", 1) != 1:
        raise RecordingError(
            f"{meta_path}: {glob['core:num_channels']} channels; cellward reads one-channel recordings"
        )
    rate = glob.get("core:sample_rate")
    if not isinstance(rate, int | float) or rate <= 0:
        raise RecordingError(f"{meta_path}: core:sample_rate is missing or not positive ({rate!r})")
    captures = meta.get("captures") or []
    if not captures or "core:frequency" not in captures[0]:
        raise RecordingError(f"{meta_path}: no capture with core:frequency; the tuner frequency is needed")
    bytes_per_sample = 2 * _COMPONENT[datatype].itemsize
    size = data_path.stat().st_size
    if size % bytes_per_sample:
        raise RecordingError(
            f"{data_path}: {size} bytes is not a whole number of {datatype} samples "
            f"({bytes_per_sample} bytes each); the file is truncated or of another datatype"
        )
    num_samples = size // bytes_per_sample
    offset = glob.get("core:offset", 0) or 0
    annotated_end = max(
        (a.get("core:sample_start", 0) + a.get("core:sample_count", 0) - offset for a in meta.get("annotations", [])),
        default=0,
    )
    if annotated_end > num_samples:
        raise RecordingError(
            f"{data_path}: holds {num_samples} samples but the annotations reach sample {annotated_end}; "
            "the data file is truncated"
        )
    if verify_checksum and "core:sha512" in glob and _sha512(data_path) != glob["core:sha512"]:
        raise RecordingError(f"{data_path}: core:sha512 does not match the data; the file was altered or damaged")
    return Recording(
        meta_path=meta_path,
        data_path=data_path,
        datatype=datatype,
        sample_rate_hz=float(rate),
        center_freq_hz=float(captures[0]["core:frequency"]),
        num_samples=num_samples,
        datetime=captures[0].get("core:datetime"),
        hw=glob.get("core:hw"),
    )


def _validate(meta: object, meta_path: Path) -> None:
    import sigmf
    from sigmf import validate

    if not isinstance(meta, dict) or "global" not in meta:
        raise RecordingError(f"{meta_path}: no 'global' object; not SigMF metadata")
    try:
        validate.validate(meta, sigmf.schema.get_schema())
    except Exception as exc:  # sigmf raises jsonschema's ValidationError or its own SigMF errors
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RecordingError(f"{meta_path}: fails SigMF validation: {first_line}") from exc


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    annotations: Sequence[Mapping] = (),
) -> Path:
    """Write a SigMF recording, streaming `samples` (complex64 blocks, or uint8 already interleaved for cu8).

    Returns the path of the .sigmf-meta. The metadata validates with the `sigmf` package.
    """
    if datatype not in SUPPORTED_DATATYPES:
        raise RecordingError(f"cannot write datatype {datatype!r}; use one of {', '.join(SUPPORTED_DATATYPES)}")
    meta_path, data_path = _paths(base_path)
    blocks = [samples] if isinstance(samples, np.ndarray) else samples
    digest = hashlib.sha512()
    with data_path.open("wb") as handle:
        for block in blocks:
            block = np.asarray(block)
            raw = block if block.dtype == np.uint8 and datatype == "cu8" else from_complex64(block, datatype)
            data = raw.tobytes()
            digest.update(data)
            handle.write(data)
    glob = {
        "core:datatype": datatype,
        "core:sample_rate": float(sample_rate_hz),
        "core:version": "1.2.0",
        "core:num_channels": 1,
        "core:sha512": digest.hexdigest(),
        "core:recorder": "cellward",
    }
    if hw:
        glob["core:hw"] = hw
    if description:
        glob["core:description"] = description
    when = datetime or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    meta = {
        "global": glob,
        "captures": [{"core:sample_start": 0, "core:frequency": float(center_freq_hz), "core:datetime": when}],
        "annotations": sorted((dict(a) for a in annotations), key=lambda a: a.get("core:sample_start", 0)),
    }
    _validate(meta, meta_path)
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta_path
