"""Availability (retained online/stopped/offline; offline is the broker's last will)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cellward.messages.envelope import Envelope


class Availability(Envelope):
    schema_name: Literal["cellward.availability/1"] = Field(default="cellward.availability/1", alias="schema")
    state: Literal["online", "stopped", "offline"]
