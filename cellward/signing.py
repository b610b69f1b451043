"""Ed25519 signatures over canonical JSON for every MQTT message, and the keyring that verifies them.

Canonical form (firmware-interface/data-format.md): the message object without its `sig` key, serialised
with keys sorted, separators "," and ":" and no spaces, non-ASCII characters kept as UTF-8, NaN and
infinities refused; `sig` is the standard base64 of the 64-byte Ed25519 signature of those bytes.
The verifier recomputes the canonical bytes from the JSON it received, so any change to any field,
including the sender, seq or timestamp, breaks the signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SignatureError(Exception):
    """A message that must not be trusted; the controller counts these by subclass."""


class UnknownSender(SignatureError):  # noqa: N818 - the name the controller counts by
    """The sender has no public key in the keyring."""


class BadSignature(SignatureError):  # noqa: N818 - the name the controller counts by
    """The signature is missing, malformed, or does not match the message."""


class KeyFileError(ValueError):
    """A key or keyring file that cannot be used; the message names the file and the fix."""


def canonical_json(message: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: `message` without `sig`, sorted keys, compact, UTF-8."""
    return _canonical_bytes({key: value for key, value in message.items() if key != "sig"})


def _canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """Sorted keys, compact, UTF-8, no NaN (firmware-interface/data-format.md)."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise BadSignature(f"message cannot be put in canonical form: {exc}") from None
    return text.encode("utf-8")


def _fast_canonical_json(message: Mapping[str, Any]) -> bytes | None:
    """The canonical bytes written by orjson (sorted keys, compact, UTF-8): the same bytes as `canonical_json`
    for nearly every message at a sixth of the cost. They differ only where orjson writes a number
    differently (1e-05 as 0.00001); None where orjson cannot write the message (NaN is refused
    as null would not match, integers beyond 64 bits)."""
    body = {key: value for key, value in message.items() if key != "sig"}
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return None


def _public_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _public_from_b64(text: str, where: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{where}: not an Ed25519 public key (expected 32 bytes in base64)") from None


@dataclass(frozen=True)
class NodeKey:
    """A node's private signing key and the id it signs as."""

    sender: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, sender: str) -> NodeKey:
        return cls(sender, Ed25519PrivateKey.generate())

    @property
    def public_b64(self) -> str:
        """The public key as base64 of its 32 raw bytes: what goes in the controller's keyring."""
        return _public_b64(self.private.public_key())

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")

    def save(self, path: Path) -> None:
        """Write the private key as unencrypted PKCS#8 PEM, readable by the owner only."""
        pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)

    @classmethod
    def load(cls, path: Path, sender: str) -> NodeKey:
        """Read a PEM private key written by `save` (or `openssl genpkey -algorithm ed25519`)."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyFileError(
                f"{path}: cannot read the signing key ({exc.strerror}); create one with `cellward sensor keygen`"
            ) from None
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{path}: not an unencrypted PEM private key") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError(f"{path}: the key is not Ed25519")
        return cls(sender, private)


@dataclass
class Keyring:
    """Public keys of the nodes a receiver trusts; several per sender during a key rotation."""

    keys: dict[str, list[Ed25519PublicKey]] = field(default_factory=dict)

    def add(self, sender: str, public_b64: str) -> None:
        self.keys.setdefault(sender, []).append(_public_from_b64(public_b64, f"key for {sender}"))

    def senders(self) -> list[str]:
        return sorted(self.keys)

    def public_keys_b64(self, sender: str) -> list[str]:
        return [_public_b64(key) for key in self.keys.get(sender, [])]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str | Iterable[str]], where: str = "keyring") -> Keyring:
        """{sender: public key or list of keys} -> Keyring."""
        ring = cls()
        if not isinstance(mapping, Mapping):
            raise KeyFileError(f"{where}: expected an object mapping sender id to public key(s)")
        for sender, value in mapping.items():
            for text in [value] if isinstance(value, str) else list(value):
                if not isinstance(text, str):
                    raise KeyFileError(f"{where}: key for {sender} must be a base64 string")
                ring.keys.setdefault(str(sender), []).append(_public_from_b64(text, f"{where}: {sender}"))
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a JSON keyring file: {"sensor-id": "base64 public key" | ["key", "next key"], ...}."""
        try:
            mapping = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read the keyring ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return cls.from_mapping(mapping, str(path))

    def save(self, path: Path) -> None:
        data = {sender: self.public_keys_b64(sender) for sender in self.senders()}
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def sign_message(message: Mapping[str, Any], key: NodeKey) -> dict[str, Any]:
    """A copy of the wire dict with `sig` set; the message's `sender` must be the key's owner."""
    if message.get("sender") != key.sender:
        raise ValueError(f"key of {key.sender!r} cannot sign a message from {message.get('sender')!r}")
    signed = dict(message)
    signed.pop("sig", None)
    signed["sig"] = key.sign(canonical_json(signed))
    return signed


def _verifies(keys: list[Ed25519PublicKey], signature: bytes, data: bytes) -> bool:
    for public in keys:
        try:
            public.verify(signature, data)
            return True
        except InvalidSignature:
            continue
    return False


def verify_message(message: Mapping[str, Any], keyring: Keyring) -> None:
    """Return quietly when `message` was signed by a key the keyring holds for its sender; raise otherwise."""
    sender = message.get("sender")
    if not isinstance(sender, str) or sender not in keyring.keys:
        raise UnknownSender(f"no public key for sender {sender!r}")
    sig = message.get("sig")
    if not isinstance(sig, str):
        raise BadSignature(f"message from {sender!r} has no signature")
    try:
        signature = base64.b64decode(sig, validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str, which b64decode rejects with a plain ValueError
        raise BadSignature(f"message from {sender!r} has a malformed signature (not base64)") from None
    # The orjson bytes are tried first. Accepting a signature over them is as safe as over the canonical
    # form: both parse back to exactly the received message, so a matching signature means its sender
    # signed that very message. Only when they do not verify are the canonical bytes computed.
    fast = _fast_canonical_json(message)
    if fast is not None and _verifies(keyring.keys[sender], signature, fast):
        return
    data = canonical_json(message)
    if data != fast and _verifies(keyring.keys[sender], signature, data):
        return
    raise BadSignature(f"signature of message from {sender!r} does not match its content or key")


def signed_payload(message: Mapping[str, Any]) -> bytes:
    """A signed message as it is published: the canonical form with `sig` in its sorted place. The receiver then
    finds the signed bytes by cutting the `sig` member out (`verify_payload`) instead of writing them again."""
    return _canonical_bytes(message)


def verify_payload(payload: bytes, sender: str, sig: str, keyring: Keyring) -> bool:
    """Whether `payload` less its one `"sig":"<sig>"` member is what `sender` signed, so a message written by
    `signed_payload` is verified without parsing it into objects and serialising them again; False when it is
    not (another writer's layout, or a forgery): the caller then rebuilds the canonical bytes (`verify_message`).

    Sound for a payload that parses to a message whose top-level `sig` is `sig`: a signer signs only canonical
    bytes of a message without `sig`, so if the bytes left verify, the member cut out cannot have been nested
    (the top-level `sig` would then be left in them), and the payload is the signed message with that member
    added at the top level."""
    member = b'"sig":"' + sig.encode() + b'"'
    keys = keyring.keys.get(sender)
    if not keys or payload.count(b'"sig":"') != 1:
        return False
    start = payload.find(member)
    if start < 0:
        return False
    end = start + len(member)
    if payload[end : end + 1] == b",":
        signed = payload[:start] + payload[end + 1 :]
    elif payload[start - 1 : start] == b",":
        signed = payload[: start - 1] + payload[end:]
    else:
        signed = payload[:start] + payload[end:]
    try:
        signature = base64.b64decode(sig, validate=True)
    except ValueError:
        return False
    return _verifies(keys, signature, signed)
