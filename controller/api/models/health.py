"""Models for health and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    safe_mode: bool = Field(description="True when the config is invalid: the API only reports the error")
    config_error: str | None
    problems: list[str]


class Ready(BaseModel):
    ready: bool
    database: bool
    mqtt_connected: bool
