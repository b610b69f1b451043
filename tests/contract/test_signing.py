"""Ed25519 signing of wire messages: tampering, wrong keys and unknown senders are all caught."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cellward.messages import ClockState, DetectionBatch
from cellward.signing import (
    BadSignature,
    KeyFileError,
    Keyring,
    NodeKey,
    SignatureError,
    UnknownSender,
    canonical_json,
    sign_message,
    signed_payload,
    verify_message,
    verify_payload,
)
from tests.contract.examples import T0, report


@pytest.fixture
def key() -> NodeKey:
    return NodeKey.generate("s-1")


@pytest.fixture
def keyring(key: NodeKey) -> Keyring:
    ring = Keyring()
    ring.add("s-1", key.public_b64)
    return ring


def wire_batch() -> dict:
    batch = DetectionBatch(
        site="hmp-test",
        sender="s-1",
        ts=T0,
        seq=1,
        clock=ClockState(state="synced", source="chrony", offset_s=0.0),
        reports=[report()],
    )
    return batch.to_wire()


def test_signed_message_verifies_after_a_json_round_trip(key: NodeKey, keyring: Keyring) -> None:
    signed = sign_message(wire_batch(), key)
    verify_message(json.loads(json.dumps(signed)), keyring)


def test_canonical_form_ignores_key_order_and_excludes_sig() -> None:
    a = {"b": 1, "a": "é", "sig": "x"}
    assert canonical_json(a) == canonical_json({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 2), ("sender_site", None), ("power", -10.0), ("ts", "2026-11-23T07:00:00.124Z")],
)
def test_any_tampering_breaks_the_signature(key: NodeKey, keyring: Keyring, field: str, value) -> None:
    signed = sign_message(wire_batch(), key)
    if field == "power":
        signed["reports"][0]["peak_power_dbm"] = value
    elif field == "sender_site":
        signed["site"] = "another-site"
    else:
        signed[field] = value
    with pytest.raises(BadSignature, match="does not match"):
        verify_message(signed, keyring)


def test_signature_from_another_key_is_rejected(keyring: Keyring) -> None:
    impostor = NodeKey.generate("s-1")
    with pytest.raises(BadSignature):
        verify_message(sign_message(wire_batch(), impostor), keyring)


def test_unknown_sender_is_rejected_as_such(key: NodeKey) -> None:
    with pytest.raises(UnknownSender, match="s-1"):
        verify_message(sign_message(wire_batch(), key), Keyring())


@pytest.mark.parametrize("sig", [None, "not base64!", "", "ab\x8dcd"])  # non-ASCII: found by tests/e2e fuzzing
def test_missing_or_malformed_signature_is_rejected(key: NodeKey, keyring: Keyring, sig) -> None:
    message = wire_batch()
    if sig is not None:
        message["sig"] = sig
    with pytest.raises(BadSignature):
        verify_message(message, keyring)


def test_a_key_cannot_sign_for_another_sender(key: NodeKey) -> None:
    message = wire_batch() | {"sender": "s-2"}
    with pytest.raises(ValueError, match="cannot sign"):
        sign_message(message, key)


def test_keyring_holds_two_keys_during_rotation(key: NodeKey, keyring: Keyring) -> None:
    new = NodeKey("s-1", NodeKey.generate("s-1").private)
    keyring.add("s-1", new.public_b64)
    verify_message(sign_message(wire_batch(), key), keyring)
    verify_message(sign_message(wire_batch(), new), keyring)


def test_keys_and_keyring_survive_files(tmp_path: Path, key: NodeKey, keyring: Keyring) -> None:
    key.save(tmp_path / "s-1.pem")
    assert (os.stat(tmp_path / "s-1.pem").st_mode & 0o777) == 0o600, "a private key must be owner-readable only"
    loaded = NodeKey.load(tmp_path / "s-1.pem", "s-1")
    keyring.save(tmp_path / "keyring.json")
    verify_message(sign_message(wire_batch(), loaded), Keyring.load(tmp_path / "keyring.json"))


def test_unusable_key_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cellward sensor keygen"):
        NodeKey.load(tmp_path / "missing.pem", "s-1")
    (tmp_path / "junk.pem").write_text("hello")
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        NodeKey.load(tmp_path / "junk.pem", "s-1")
    (tmp_path / "ring.json").write_text('{"s-1": "short"}')
    with pytest.raises(KeyFileError, match="not an Ed25519 public key"):
        Keyring.load(tmp_path / "ring.json")
    (tmp_path / "bad.json").write_text('{"s-1": \n')
    with pytest.raises(KeyFileError, match="line 2"):
        Keyring.load(tmp_path / "bad.json")


def test_signature_errors_share_one_base_for_counting() -> None:
    assert issubclass(UnknownSender, SignatureError) and issubclass(BadSignature, SignatureError)


@pytest.mark.parametrize("offset_s", [0.0, 1e-05, 3.5e-07, 1e16, -0.0])
def test_numbers_orjson_writes_differently_still_verify_and_still_catch_tampering(
    key: NodeKey, keyring: Keyring, offset_s: float
) -> None:
    # The verifier tries orjson's bytes first; where orjson writes a number unlike json (1e-05 as 0.00001)
    # it must fall back to the canonical form, never reject a good message nor accept a changed one.
    wire = wire_batch()
    wire["clock"]["offset_s"] = offset_s
    signed = json.loads(json.dumps(sign_message(wire, key)))
    verify_message(signed, keyring)
    signed["clock"]["offset_s"] = offset_s * 2 + 1e-06
    with pytest.raises(BadSignature):
        verify_message(signed, keyring)


def test_a_message_orjson_cannot_write_is_verified_on_the_canonical_form(key: NodeKey, keyring: Keyring) -> None:
    wire = wire_batch()
    wire["reports"][0]["burst_count"] = 2**70  # beyond orjson's 64-bit integers; the schema rejects it later
    verify_message(sign_message(wire, key), keyring)


def test_nan_cannot_be_signed_or_verified(key: NodeKey, keyring: Keyring) -> None:
    wire = wire_batch()
    signed = sign_message(wire, key)
    signed["clock"]["offset_s"] = float("nan")  # orjson would write null; the canonical form refuses NaN
    with pytest.raises(BadSignature, match="canonical form"):
        verify_message(signed, keyring)


def test_a_published_payload_is_the_canonical_form_with_its_sig_in_place(key: NodeKey, keyring: Keyring) -> None:
    signed = sign_message(wire_batch(), key)
    payload = signed_payload(signed)
    assert json.loads(payload) == signed
    assert payload.replace(f',"sig":"{signed["sig"]}"'.encode(), b"") != payload
    assert verify_payload(payload, "s-1", signed["sig"], keyring)


@pytest.mark.parametrize("where", ["first", "middle", "last", "alone"])
def test_the_sig_member_is_cut_out_wherever_it_sits(key: NodeKey, keyring: Keyring, where: str) -> None:
    body = {"alone": {}, "first": {"z": 1}, "middle": {"a": 1, "z": 2}, "last": {"a": 1, "b": [1.5, "x"]}}[where]
    sig = key.sign(canonical_json(body))
    text = canonical_json(body).decode()[1:-1]
    member = f'"sig":"{sig}"'
    payload = {
        "alone": "{" + member + "}",
        "first": "{" + member + "," + text + "}",
        "middle": "{" + text.replace(",", "," + member + ",", 1) + "}",
        "last": "{" + text + "," + member + "}",
    }[where].encode()
    assert verify_payload(payload, "s-1", sig, keyring)


def test_payload_verification_refuses_what_it_cannot_vouch_for(key: NodeKey, keyring: Keyring) -> None:
    signed = sign_message(wire_batch(), key)
    payload = signed_payload(signed)
    sig = signed["sig"]
    assert not verify_payload(payload.replace(b'"seq":1', b'"seq":2'), "s-1", sig, keyring), "tampered"
    assert not verify_payload(payload, "s-2", sig, keyring), "a sender without a key"
    other = Keyring()
    other.add("s-1", NodeKey.generate("s-1").public_b64)
    assert not verify_payload(payload, "s-1", sig, other), "another key"
    assert not verify_payload(json.dumps(signed).encode(), "s-1", sig, keyring), "another layout: the long way"
    twice = payload.replace(b'"clock":{', f'"clock":{{"sig":"{sig}",'.encode())
    assert not verify_payload(twice, "s-1", sig, keyring), "a second sig member: which one was signed is unclear"
