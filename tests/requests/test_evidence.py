"""Evidence packs are signed and hash-manifested: any altered byte is named by file (and field in pack.json)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cellward.cli import app
from cellward.signing import NodeKey
from controller.evidence import verify_pack, zip_pack
from controller.evidence.model import SCHEMA_FILE, EvidencePack, pack_json_schema
from tests.requests.conftest import AUTHORISER, OFFICER, SENSOR_POWERS, VALID_IMEI, write_snippet

SNIPPET = "a0-03.sigmf-meta"


@pytest.fixture
def database_url(sqlite_url) -> str:
    """Packs do not depend on the database engine; the workflow tests cover PostgreSQL."""
    return sqlite_url


@pytest.fixture
def pack(world, tmp_path) -> Path:
    """An authorised request's pack, copied out so each test can damage its own copy."""
    case_id = world.identified_case()
    world.workflow.attach_snippet(OFFICER, case_id, write_snippet(world.config.snippet_dir, SNIPPET))
    request = world.workflow.draft(OFFICER, case_id, "used in A-0-03 on three nights")
    request = world.workflow.authorise(AUTHORISER, request.id)
    copy = tmp_path / "copy"
    shutil.copytree(request.pack_path, copy)
    return copy


def _problems(path: Path, key: str | None = None) -> list[str]:
    return [str(p) for p in verify_pack(path, key)[0]]


def test_intact_pack_verifies_and_cli_shows_the_signer(world, pack):
    assert _problems(pack, world.key.public_b64) == []
    result = CliRunner().invoke(app, ["evidence", "verify", str(pack), "--public-key", world.key.public_b64])
    assert result.exit_code == 0 and "intact" in result.output and world.key.public_b64 in result.output


def test_pack_is_honest_about_what_rf_detection_shows(pack):
    document = EvidencePack.model_validate_json((pack / "pack.json").read_text())
    assert "does not decode IMEI" in document.device.method
    assert [(i.kind, i.value, i.source) for i in document.identifiers] == [("imei", VALID_IMEI, "seized_handset")]
    assert document.operator.network == "O2" and document.operator.licensee.startswith("Virgin Media O2")
    assert document.operator.blocks == ["B8 885.1-890.1 MHz uplink"]
    assert document.legal_basis.statute == "Serious Crime Act 2015, section 80"
    assert document.device.location.cell_id == "A-0-03" and document.device.location.inside_perimeter
    assert len(document.device.activity_windows) == 5
    assert {s.id for s in document.device.sensors} == set(SENSOR_POWERS)
    assert all(s.clock_synchronised for s in document.device.sensors), "1.2 ms offsets are within 5 ms"
    assert document.approval.drafted_by != document.approval.authorised_by
    assert document.authorised_device_register.result == "not authorised"


def test_report_is_self_contained_html_with_map_timeline_levels_and_spectrogram(pack):
    html = (pack / "report.html").read_text()
    for title in ("Site map", "Activity timeline", "Mean level per sensor", "Spectrogram"):
        assert f"<title>{title}" in html, f"{title} plot missing"
    assert "<script" not in html and " src=" not in html, "the report must not load anything from elsewhere"


def test_altered_snippet_byte_is_named(pack):
    data = pack / "snippets" / SNIPPET.replace("meta", "data")
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 0x01
    data.write_bytes(bytes(raw))
    assert _problems(pack) == ["snippets/a0-03.sigmf-data: altered: SHA-256 differs from the manifest"]


def test_altered_pack_json_names_the_field(pack):
    document = json.loads((pack / "pack.json").read_text())
    document["device"]["location"]["confidence"] = 0.99
    (pack / "pack.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    assert _problems(pack) == [
        "pack.json: altered: SHA-256 differs from the manifest",
        "pack.json: field device.location: altered",
    ]


def test_altered_manifest_fails_its_signature(pack):
    manifest = json.loads((pack / "manifest.json").read_text())
    manifest["files"]["report.html"] = "0" * 64
    (pack / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    problems = _problems(pack)
    assert problems[0] == "manifest.sig: does not verify: manifest.json or manifest.sig was altered"
    assert "report.html: altered: SHA-256 differs from the manifest" in problems


def test_altered_signature_is_named(pack):
    signature = bytearray(base64.b64decode((pack / "manifest.sig").read_text()))
    signature[0] ^= 0x01
    (pack / "manifest.sig").write_text(base64.b64encode(bytes(signature)).decode())
    assert _problems(pack) == ["manifest.sig: does not verify: manifest.json or manifest.sig was altered"]


def test_pack_resigned_by_another_key_is_caught_with_the_expected_key(world, pack):
    forger = NodeKey.generate("controller")
    (pack / "manifest.sig").write_text(forger.sign((pack / "manifest.json").read_bytes()))
    assert _problems(pack, forger.public_b64) == [
        "manifest.json: field signer.public_key: signed by a different key than the expected one"
    ]


def test_added_and_removed_files_are_named(pack):
    (pack / "extra.txt").write_text("planted")
    (pack / "report.html").unlink()
    assert _problems(pack) == [
        "report.html: missing (listed in the manifest)",
        "extra.txt: not in the manifest (added after signing)",
    ]


def test_zipped_pack_verifies_the_same_way(world, pack, tmp_path):
    archive = tmp_path / "pack.zip"
    archive.write_bytes(zip_pack(pack))
    assert _problems(archive, world.key.public_b64) == []
    (pack / "report.html").write_text("<html>forged</html>")
    archive.write_bytes(zip_pack(pack))
    assert _problems(archive) == ["report.html: altered: SHA-256 differs from the manifest"]


def test_cli_lists_each_failure_and_exits_1(pack, tmp_path):
    (pack / "report.html").write_text("<html>forged</html>")
    result = CliRunner().invoke(app, ["evidence", "verify", str(pack)])
    assert result.exit_code == 1 and "report.html: altered" in result.output, result.output
    missing = CliRunner().invoke(app, ["evidence", "verify", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    garbage = CliRunner().invoke(app, ["evidence", "verify", str(junk)])
    assert garbage.exit_code == 1 and "neither a pack directory nor a zip" in garbage.output


def test_published_pack_schema_matches_the_model():
    published = json.loads(SCHEMA_FILE.read_text())
    assert published == pack_json_schema(), "regenerate with: python -m controller.evidence.model > " + str(SCHEMA_FILE)
