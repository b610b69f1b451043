"""Writes an evidence pack directory with a signed SHA-256 manifest, and verifies one (directory or zip).

Layout: pack.json (the machine-readable pack), report.html (for people), snippets/*.sigmf-{meta,data},
manifest.json (SHA-256 of every file, and of every top-level field of pack.json so an edit is located),
manifest.sig (Ed25519 over the exact bytes of manifest.json, base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from cellward.signing import NodeKey
from controller.audit.chain import canonical_bytes
from controller.evidence.model import EvidencePack

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PACK_JSON = "pack.json"
REPORT = "report.html"
MANIFEST_SCHEMA = "cellward.evidence-manifest/1"


@dataclass(frozen=True)
class PackProblem:
    """One thing wrong with a pack: which file (and field, for pack.json) and what."""

    file: str
    problem: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: field {self.field}" if self.field else self.file
        return f"{where}: {self.problem}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def field_hashes(document: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of each top-level field, and of each second-level field of objects, by dotted path."""
    hashes = {}
    for key, value in document.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                hashes[f"{key}.{sub}"] = sha256_hex(canonical_bytes(inner))
        else:
            hashes[key] = sha256_hex(canonical_bytes(value))
    return hashes


def write_pack(
    directory: Path, pack: EvidencePack, report_html: str, snippet_metas: Iterable[Path], key: NodeKey
) -> str:
    """Write the pack into `directory` (must not exist); return the SHA-256 of its manifest."""
    directory = Path(directory)
    directory.mkdir(parents=True)
    document = pack.model_dump(mode="json", by_alias=True)
    pack_bytes = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"
    (directory / PACK_JSON).write_bytes(pack_bytes)
    (directory / REPORT).write_text(report_html, encoding="utf-8")
    snippets = directory / "snippets"
    snippets.mkdir()
    for meta in snippet_metas:
        meta = Path(meta)
        shutil.copyfile(meta, snippets / meta.name)
        data = meta.with_name(meta.name.removesuffix(".sigmf-meta") + ".sigmf-data")
        shutil.copyfile(data, snippets / data.name)
    files = {
        path.relative_to(directory).as_posix(): sha256_hex(path.read_bytes())
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "pack_id": pack.pack_id,
        "created_at": pack.created_at,
        "signer": {"id": key.sender, "public_key": key.public_b64, "algorithm": "Ed25519"},
        "files": files,
        "fields": {PACK_JSON: field_hashes(document)},
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (directory / MANIFEST).write_bytes(manifest_bytes)
    (directory / SIGNATURE).write_text(key.sign(manifest_bytes) + "\n", encoding="ascii")
    return sha256_hex(manifest_bytes)


def zip_pack(directory: Path) -> bytes:
    """The pack as one zip (for e-mail or upload); verify_pack reads it as it reads the directory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _read_files(path: Path) -> dict[str, bytes]:
    path = Path(path)
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def verify_pack(path: Path, expected_public_key: str | None = None) -> tuple[list[PackProblem], dict[str, Any]]:
    """Check signature, every file's hash, pack.json's fields and schema; return (problems, manifest).

    With `expected_public_key` (base64), the signer must be that key; otherwise the key named in the
    manifest is used and the caller should show it so a person can compare it with the controller's.
    """
    path = Path(path)
    if not path.exists():
        return [PackProblem(str(path), "no such file or directory")], {}
    try:
        files = _read_files(path)
    except zipfile.BadZipFile:
        return [PackProblem(str(path), "neither a pack directory nor a zip file")], {}
    problems: list[PackProblem] = []
    manifest_bytes = files.get(MANIFEST)
    if manifest_bytes is None:
        return [PackProblem(MANIFEST, "missing: nothing in the pack can be checked")], {}
    try:
        manifest = json.loads(manifest_bytes)
        listed: dict[str, str] = manifest["files"]
        public_b64 = manifest["signer"]["public_key"]
    except (ValueError, KeyError, TypeError):
        return [PackProblem(MANIFEST, "not a valid manifest (JSON with signer and files)")], {}
    problems += _check_signature(files.get(SIGNATURE), manifest_bytes, public_b64, expected_public_key)
    for name, digest in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            problems.append(PackProblem(name, "missing (listed in the manifest)"))
        elif sha256_hex(data) != digest:
            problems.append(PackProblem(name, "altered: SHA-256 differs from the manifest"))
            if name == PACK_JSON:
                problems += _altered_fields(data, manifest.get("fields", {}).get(PACK_JSON, {}))
    for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(PackProblem(name, "not in the manifest (added after signing)"))
    if PACK_JSON in files:
        try:
            EvidencePack.model_validate_json(files[PACK_JSON])
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            problems.append(PackProblem(PACK_JSON, f"does not match the pack schema: {first['msg']}", field or None))
    return problems, manifest


def _check_signature(
    signature: bytes | None, manifest_bytes: bytes, public_b64: str, expected: str | None
) -> list[PackProblem]:
    if expected is not None and expected != public_b64:
        return [PackProblem(MANIFEST, "signed by a different key than the expected one", "signer.public_key")]
    if signature is None:
        return [PackProblem(SIGNATURE, "missing: the manifest is unsigned")]
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        key.verify(base64.b64decode(signature.strip(), validate=True), manifest_bytes)
    except (binascii.Error, ValueError):
        return [PackProblem(SIGNATURE, "not a base64 Ed25519 signature, or the manifest's key is malformed")]
    except InvalidSignature:
        return [PackProblem(SIGNATURE, "does not verify: manifest.json or manifest.sig was altered")]
    return []


def _altered_fields(data: bytes, expected: dict[str, str]) -> list[PackProblem]:
    try:
        document = json.loads(data)
    except ValueError:
        return [PackProblem(PACK_JSON, "no longer valid JSON")]
    if not isinstance(document, dict):
        return [PackProblem(PACK_JSON, "no longer a JSON object")]
    actual = field_hashes(document)
    return [
        PackProblem(PACK_JSON, "altered" if name in actual else "removed", name)
        for name in sorted(set(expected) | set(actual))
        if expected.get(name) != actual.get(name)
    ]
