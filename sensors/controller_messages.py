"""Messages from the controller that a node obeys only when they parse, name its site and carry a valid
signature from the controller keyring."""

from __future__ import annotations

import json
from typing import TypeVar

from cellward.messages import Envelope, MessageError, parse_message
from cellward.signing import Keyring, SignatureError, verify_message

M = TypeVar("M", bound=Envelope)


def checked_from_controller(payload: bytes, model: type[M], site: str, keyring: Keyring) -> M:
    """The payload as `model`, or ValueError saying why it is refused."""
    what = model.model_fields["schema_name"].default
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None
    try:
        message = parse_message(data)
    except MessageError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(message, model):
        raise ValueError(f"{message.schema_name} arrived where {what} was expected")
    if message.site != site:
        raise ValueError(f"{what} for site {message.site}, not this node's ({site})")
    try:
        verify_message(data, keyring)
    except SignatureError as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
    return message
