"""Checking commands that arrive on a node's own topic (sensor or blocker) before anything acts on them.

A command is obeyed only if it parses against the contract, names this sensor as `target`, arrived on
the topic of the command it names, carries a valid signature from a key in the controller keyring, has
a `seq` above the last accepted from that sender (persisted, so a replay after a restart fails too),
and has not passed `expires`. Anything else is answered `rejected` (a blocker: `refused`) with the reason,
both as text and as one of the contract's refusal codes (cellward.messages.RefusalReason).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from cellward.messages import (
    BlockerCommand,
    Command,
    CommandState,
    MessageError,
    RefusalReason,
    parse_message,
    parse_node_topic,
)
from cellward.messages.wire_time import epoch_s
from cellward.signing import Keyring, SignatureError, UnknownSender, verify_message
from sensors.spool import Spool


@dataclass(frozen=True, slots=True)
class Rejection:
    command: str
    id: str | None
    detail: str
    reason: RefusalReason


class CommandGate:
    def __init__(
        self,
        site: str,
        sensor_id: str,
        keyring: Keyring | None,
        spool: Spool,
        clock: Callable[[], float],
        kind: str = "sensor",
    ) -> None:
        self.site = site
        self.sensor_id = sensor_id
        self.keyring = keyring
        self.spool = spool
        self.clock = clock
        self.kind = kind
        self.command_type: type[Command | BlockerCommand] = BlockerCommand if kind == "blocker" else Command
        self.rejected = 0

    def check(self, topic: str, payload: bytes) -> Command | BlockerCommand | Rejection:
        parsed = parse_node_topic(topic, self.kind)
        name = parsed.command if parsed and parsed.command else "unknown"
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self._reject(name, None, f"not JSON: {exc}", "malformed")
        command_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
        try:
            command = parse_message(data)
        except MessageError as exc:
            return self._reject(name, command_id, str(exc), "malformed")
        if not isinstance(command, self.command_type):
            return self._reject(name, command_id, f"{command.schema_name} is not a {self.kind} command", "malformed")
        if command.command != name:
            detail = f"payload says {command.command!r} but arrived on cmd/{name}/set"
            return self._reject(name, command.id, detail, "wrong_topic")
        if command.target != self.sensor_id or command.site != self.site:
            detail = f"addressed to {command.site}/{command.target}, not to this {self.kind}"
            return self._reject(name, command.id, detail, "wrong_target")
        if self.keyring is None:
            detail = "no controller keyring configured: commands are refused"
            return self._reject(name, command.id, detail, "unknown_sender")
        if data.get("sig") is None and command.sender in self.keyring.keys:
            return self._reject(name, command.id, f"unsigned command from {command.sender!r}", "unsigned")
        try:
            verify_message(data, self.keyring)
        except SignatureError as exc:
            reason = "unknown_sender" if isinstance(exc, UnknownSender) else "bad_signature"
            return self._reject(name, command.id, f"{type(exc).__name__}: {exc}", reason)
        last = self.spool.counter(f"cmd_seq:{command.sender}")
        if command.seq <= last:
            return self._reject(name, command.id, f"replayed: seq {command.seq} is not above {last}", "replayed")
        if epoch_s(command.expires) < self.clock():
            return self._reject(name, command.id, "expired before it arrived", "expired")
        self.spool.set_counter(f"cmd_seq:{command.sender}", command.seq)
        return command

    def _reject(self, name: str, command_id: str | None, detail: str, reason: RefusalReason) -> Rejection:
        self.rejected += 1
        return Rejection(name, command_id, detail[:1000], reason)


def acknowledgement(
    site: str,
    sensor_id: str,
    now_s: float,
    command: str,
    command_id: str | None,
    result: str,
    detail: str,
    data: dict | None = None,
) -> CommandState:
    """An unnumbered acknowledgement; the publisher gives it its seq and signature."""
    return CommandState(
        site=site,
        sender=sensor_id,
        ts=now_s,
        seq=1,
        command=command[:64],
        id=command_id,
        result=result,
        detail=detail[:1000],
        data=data or {},
    )
