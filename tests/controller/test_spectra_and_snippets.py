"""Live spectra and IQ snippet deliveries through a real Mosquitto into a running controller.

Spectra are verified and relayed, never stored; snippet chunks are accepted only for captures the
controller asked for, reassembled, verified and filed; every bad delivery is refused and counted.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import yaml
from sqlalchemy import func, select

from cellward.messages import SnippetChunk, SpectrumFrame, encode_levels, sensor_topic
from cellward.recording import open_recording, write_recording
from cellward.signing import NodeKey, sign_message
from controller.audit import AuditEntry
from controller.captures import incident_captures, request_captures
from controller.db.captures import IncidentCapture
from controller.db.incidents import IncidentRecord
from controller.db.reports import Message, SensorStream
from controller.spectrogram import spectrogram
from sensors.commands import acknowledgement
from sensors.snippet_upload import snippet_chunks
from tests.controller.conftest import ControllerWorld, _world, wait_for
from tests.controller.test_ingest import counter
from tests.web.conftest import SITE, Phone, record, sighting

MAX_BYTES = 1 << 17  # 128 KiB: the smallest bound the config allows is 64 KiB


@pytest.fixture
def capture_world(tmp_path, sqlite_url, mosquitto, monkeypatch) -> Iterator[ControllerWorld]:
    """A controller with a snippet folder (requests enabled) and small capture bounds."""
    for state in _world(tmp_path, sqlite_url, mosquitto, monkeypatch):
        config = yaml.safe_load(state.config_path.read_text())
        config["requests"] = {
            "institution": "HMP Test",
            "evidence_dir": str(tmp_path / "evidence"),
            "snippet_dir": str(tmp_path / "snippets"),
            "operators": {"EE": {"adapter": "export_folder", "path": str(tmp_path / "to-ee")}},
        }
        config["captures"] = {"sensors": 2, "duration_s": 0.05, "max_bytes": MAX_BYTES}
        state.config_path.write_text(yaml.safe_dump(config))
        (tmp_path / "snippets").mkdir()
        yield state


def rejected(controller, reason: str) -> float:
    return counter(controller, "cellward_controller_messages_rejected_total", reason=reason)


def frame(node, seq: int | None = None, ts: datetime | None = None, bins: int = 100) -> SpectrumFrame:
    head = node._head("cellward.spectrum/1", seq)
    if ts is not None:
        head["ts"] = ts
    levels = encode_levels(np.arange(bins) % 50)
    return SpectrumFrame(
        **head,
        stream="c-live",
        start=head["ts"],
        listen_s=0.09,
        centre_hz=897.4e6,
        start_hz=896.5e6,
        bin_hz=18750.0,
        bins=bins,
        band="B8",
        gain_db=28.0,
        calibration_db=-32.5,
        ref_dbm=-120.0,
        step_db=0.5,
        mean=levels,
        peak=levels,
    )


def signed(node, leaf: str, message) -> tuple[str, bytes]:
    return node._signed(leaf, message)


def test_spectra_are_relayed_live_and_never_stored(capture_world, publisher):
    controller = capture_world.start()
    relayed = []
    controller.spectra.bus.add_sink(relayed.append)
    node = next(iter(capture_world.nodes.values()))
    for _ in range(3):
        publisher.publish(*signed(node, "spectrum", frame(node)))
    wait_for(lambda: len(relayed) == 3, what="three relayed frames")
    assert [e.sensor_id for e in relayed] == [node.sensor_id] * 3
    payload = relayed[0].payload()
    assert payload["bins"] == 100 and "sig" not in payload and payload["start_ms"] > 0
    with controller.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Message)) == 0, "spectra are not stored"
        assert not db.scalars(select(SensorStream).where(SensorStream.message_name == "cellward.spectrum/1")).all()
    assert counter(controller, "cellward_controller_messages_accepted_total", kind="spectrum") == 3


def bad_spectrum(kind: str, node, other) -> tuple[str, bytes]:
    topic, payload = signed(node, "spectrum", frame(node))
    wire = json.loads(payload)
    if kind == "unsigned":
        wire.pop("sig")
        return topic, json.dumps(wire).encode()
    if kind == "bad_signature":
        wire["ref_dbm"] = -60.0  # a stronger signal than was measured, after signing
        return topic, json.dumps(wire).encode()
    if kind == "unknown_sender":
        stranger = NodeKey.generate("s-stranger")
        wire["sender"] = "s-stranger"
        return topic.replace(node.sensor_id, "s-stranger"), json.dumps(sign_message(wire, stranger)).encode()
    if kind == "invalid":
        wire["bins"] = 99  # the levels hold 100
        return topic, json.dumps(sign_message(wire, node.key)).encode()
    if kind == "sender_mismatch":
        return topic.replace(node.sensor_id, other.sensor_id), payload
    if kind == "bad_topic":
        return topic.replace("/spectrum", "/snippet"), payload
    if kind == "stale":
        return signed(node, "spectrum", frame(node, ts=datetime.now(UTC) - timedelta(minutes=5)))
    raise AssertionError(kind)


BAD_SPECTRA = ["unsigned", "bad_signature", "unknown_sender", "invalid", "sender_mismatch", "bad_topic", "stale"]


def test_bad_and_replayed_spectra_are_refused_counted_and_not_relayed(capture_world, publisher):
    controller = capture_world.start()
    relayed = []
    controller.spectra.bus.add_sink(relayed.append)
    node, other = list(capture_world.nodes.values())[:2]
    for kind in BAD_SPECTRA:
        publisher.publish(*bad_spectrum(kind, node, other))
    good = signed(node, "spectrum", frame(node))
    publisher.publish(*good)
    publisher.publish(*good)  # the same frame again: never shown twice
    publisher.publish(*signed(node, "spectrum", frame(node, seq=1)))  # an old seq with new content
    wait_for(lambda: rejected(controller, "replayed") == 2, what="both replays to be counted")
    assert len(relayed) == 1, "only the good frame reaches the browsers"
    for kind in BAD_SPECTRA:
        assert rejected(controller, kind) == 1, f"a {kind} spectrum must be refused and counted once"


# -- snippets ------------------------------------------------------------------------------------------


def incident_heard_by(controller, sensors: list[str]) -> str:
    phone = Phone(SITE.cells[0].id, operators=("EE",), freq_hz=897.4e6, band="B8")
    powers = {sensor_id: -50.0 - 5 * i for i, sensor_id in enumerate(sensors)}
    record(controller, dataclasses.replace(sighting(phone, time.time()), sensor_powers_dbm=powers))
    with controller.sessions() as db:
        return db.scalars(select(IncidentRecord.id)).one()


def recording(tmp_path, samples: int, name: str = "rec") -> object:
    rng = np.random.default_rng(7)
    iq = (rng.normal(size=samples) + 1j * rng.normal(size=samples)).astype(np.complex64) * 0.1
    iq += (0.5 * np.exp(2j * np.pi * 100e3 * np.arange(samples) / 2.4e6)).astype(np.complex64)
    return write_recording(
        tmp_path / name, iq, datatype="cu8", sample_rate_hz=2.4e6, center_freq_hz=897.4e6, datetime=None
    )


def chunks_for(meta_path, node, capture_id: str) -> list[SnippetChunk]:
    return list(snippet_chunks(meta_path, node.site, node.sensor_id, capture_id, time.time(), 64 << 20))


def deliver(publisher, node, chunks, mutate=None, sign: bool = True) -> None:
    """Publish `chunks` as `node` would, numbered and signed, after `mutate` changes each wire dict."""
    for chunk in chunks:
        wire = chunk.model_copy(update=node._head("cellward.snippet/1")).to_wire()
        if mutate is not None:
            wire = mutate(wire)
        topic = sensor_topic(node.site, node.sensor_id, "snippet")
        publisher.publish(topic, json.dumps(sign_message(wire, node.key) if sign else wire).encode())


def capture_of(controller, incident_id: str, sensor_id: str) -> IncidentCapture:
    return next(c for c in incident_captures(controller, incident_id) if c.sensor_id == sensor_id)


def test_a_requested_snippet_is_filed_linked_audited_and_drawn(capture_world, publisher, tmp_path):
    controller = capture_world.start()
    first, second = list(capture_world.nodes.values())[:2]
    incident_id = incident_heard_by(controller, [first.sensor_id, second.sensor_id, "s-unheard"])
    asked = request_captures(controller, "olive", incident_id)
    assert [c.sensor_id for c in asked] == [first.sensor_id, second.sensor_id], "the two that heard it best"
    assert all(c.status == "requested" for c in asked)
    meta = recording(tmp_path, 60_000)  # 120 000 bytes of cu8: three chunks
    deliver(publisher, first, chunks_for(meta, first, asked[0].command_id))
    wait_for(lambda: capture_of(controller, incident_id, first.sensor_id).status == "received", what="filing")
    filed = capture_of(controller, incident_id, first.sensor_id)
    folder = controller.snippets.folder
    assert filed.file == f"{first.sensor_id}-{asked[0].command_id}.sigmf-meta"
    on_disk = open_recording(folder / filed.file, verify_checksum=True)
    assert on_disk.num_samples == 60_000 and filed.size_bytes == 120_000
    assert (folder / filed.file).with_suffix(".sigmf-data").read_bytes() == meta.with_suffix(".sigmf-data").read_bytes()
    assert not list((folder / ".partial").iterdir()), "nothing left half-assembled"
    with controller.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions.count("sensor.command") == 2 and actions.count("incident.capture_requested") == 2
    assert actions[-1] == "incident.snippet_received"
    # the sensor answered `failed` for the second: the capture ends with its reason
    answer = acknowledgement(
        second.site, second.sensor_id, time.time(), "capture_snippet", asked[1].command_id, "failed", "no source"
    )
    publisher.publish(
        *second._signed("cmd/capture_snippet/state", answer.model_copy(update=second._head("cellward.command_state/1")))
    )
    wait_for(lambda: capture_of(controller, incident_id, second.sensor_id).status == "failed", what="the failure")
    assert "no source" in capture_of(controller, incident_id, second.sensor_id).detail
    drawn = spectrogram(folder / filed.file)
    strongest_col = int(np.argmax(drawn.matrix_db().mean(axis=0)))
    tone_hz = drawn.f0_hz + strongest_col * drawn.df_hz
    assert abs(tone_hz - (897.4e6 + 100e3)) <= drawn.df_hz, f"the 100 kHz tone is the brightest column: {tone_hz}"
    assert drawn.rows >= 2 and drawn.cols <= 256


def test_unsolicited_oversize_corrupt_and_unsigned_deliveries_are_refused_and_counted(
    capture_world, publisher, tmp_path
):
    controller = capture_world.start()
    node, other = list(capture_world.nodes.values())[:2]
    incident_id = incident_heard_by(controller, [node.sensor_id, other.sensor_id])
    asked = request_captures(controller, "olive", incident_id)
    small = recording(tmp_path, 30_000, "small")  # 60 000 bytes: two chunks
    folder = controller.snippets.folder

    deliver(publisher, node, chunks_for(small, node, "c-nobody-asked"))
    wait_for(lambda: rejected(controller, "snippet_unsolicited") == 2, what="both unsolicited chunks")

    deliver(publisher, node, chunks_for(small, node, asked[0].command_id)[:1], sign=False)
    wait_for(lambda: rejected(controller, "unsigned") == 1, what="the unsigned chunk")
    assert capture_of(controller, incident_id, node.sensor_id).status == "requested", (
        "an unsigned chunk changes nothing"
    )

    def flipped(wire):
        data = bytearray(base64.b64decode(wire["data"]))
        data[0] ^= 0xFF  # the bytes no longer hash to the declared SHA-256
        return {**wire, "data": base64.b64encode(bytes(data)).decode()}

    deliver(publisher, node, chunks_for(small, node, asked[0].command_id), mutate=flipped)
    wait_for(lambda: rejected(controller, "snippet_corrupt") == 1, what="the corrupt delivery")
    refused = capture_of(controller, incident_id, node.sensor_id)
    assert refused.status == "failed" and "SHA-256" in refused.detail

    big = recording(tmp_path, MAX_BYTES // 2 + 1000, "big")  # just over the controller's bound
    deliver(publisher, other, chunks_for(big, other, asked[1].command_id))
    wait_for(lambda: rejected(controller, "snippet_oversize") >= 1, what="the oversize delivery")
    assert capture_of(controller, incident_id, other.sensor_id).status == "failed"
    assert sorted(p.name for p in folder.iterdir()) == [".partial"], "nothing refused reaches the snippet folder"
    assert not list((folder / ".partial").iterdir())
    with controller.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action)))
    assert actions.count("incident.snippet_refused") == 2


DELIVER_TIMEOUT_S = 30.0


def panel(controller, incident_id: str) -> str:
    """The incident page's captures panel, as an officer's browser fetches it."""
    from fastapi.testclient import TestClient

    from controller.app import create_app
    from tests.controller.conftest import ADMIN_PASSWORD
    from tests.web.conftest import log_in

    with TestClient(create_app(controller), base_url="http://127.0.0.1") as client:
        assert log_in(client, "admin", ADMIN_PASSWORD).status_code == 303
        return client.get(f"/incidents/{incident_id}/captures").text


def test_a_capture_in_flight_survives_a_controller_restart_and_expires_when_its_time_is_up(
    capture_world, publisher, tmp_path
):
    config = yaml.safe_load(capture_world.config_path.read_text())
    config["captures"]["deliver_timeout_s"] = DELIVER_TIMEOUT_S
    capture_world.config_path.write_text(yaml.safe_dump(config))
    controller = capture_world.start()
    first, second = list(capture_world.nodes.values())[:2]
    incident_id = incident_heard_by(controller, [first.sensor_id, second.sensor_id])
    asked = request_captures(controller, "olive", incident_id)
    meta = recording(tmp_path, 60_000)  # three chunks
    chunks = chunks_for(meta, first, asked[0].command_id)
    deliver(publisher, first, chunks[:2])
    partial = controller.snippets.folder / ".partial" / f"{first.sensor_id}-{asked[0].command_id}.part"
    two_chunks = chunks[1].offset + len(chunks[1].payload())
    wait_for(lambda: partial.exists() and partial.stat().st_size == two_chunks, what="two chunks on disk")

    # the controller stops with both captures on their way; the last chunk reaches the broker meanwhile
    capture_world.stop()
    deliver(publisher, first, chunks[2:])
    controller = capture_world.start()
    waiting = capture_of(controller, incident_id, second.sensor_id)
    assert waiting.status == "requested" and "restarted" in (waiting.detail or ""), waiting.detail
    wait_for(lambda: capture_of(controller, incident_id, first.sensor_id).status == "received", what="the resumed one")
    filed = capture_of(controller, incident_id, first.sensor_id)
    data = (controller.snippets.folder / filed.file).with_suffix(".sigmf-data").read_bytes()
    assert data == meta.with_suffix(".sigmf-data").read_bytes(), "chunks from before and after the restart, joined"
    assert "waiting again" in panel(controller, incident_id)

    # the second never comes: restarted after its time is up, the controller ends it with the reason
    capture_world.stop()
    time.sleep(max(0.0, asked[1].requested_at + DELIVER_TIMEOUT_S - time.time()))
    controller = capture_world.start()
    expired = capture_of(controller, incident_id, second.sensor_id)
    assert expired.status == "expired" and f"within {DELIVER_TIMEOUT_S:g} s" in expired.detail, expired.detail
    assert capture_of(controller, incident_id, first.sensor_id).status == "received", "a filed capture stays filed"
    shown = panel(controller, incident_id)
    assert "! expired" in shown and expired.detail in shown

    # a capture asked for now expires while the controller runs
    again = request_captures(controller, "olive", incident_id)
    for capture in again:
        wait_for(
            lambda c=capture: capture_of(controller, incident_id, c.sensor_id).status == "expired",
            timeout_s=DELIVER_TIMEOUT_S + 30,
            what=f"{capture.sensor_id}'s capture to expire",
        )
    with controller.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action)))
    assert actions.count("incident.capture_resumed") == 2 and actions.count("incident.capture_expired") == 3
