"""Models for login, the current user and user administration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from controller.config import Role


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, description="Login name")
    password: str = Field(min_length=1, max_length=1024, description="Password")


class LoginResponse(BaseModel):
    token: str = Field(description="Session token: send as `Authorization: Bearer <token>` (also set as a cookie)")
    expires_at: float = Field(description="Expiry, UTC epoch seconds")
    csrf_token: str = Field(
        description="Send as `X-CSRF-Token` with a state-changing call that only the cookie authenticates"
    )
    username: str
    roles: list[str]


class Me(BaseModel):
    username: str
    roles: list[str]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="Login name")
    password: str = Field(min_length=12, max_length=1024, description="At least 12 characters")
    roles: list[Role] = Field(min_length=1, description="Roles")
    display_name: str = Field(default="", max_length=128)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    active: bool
    locked: bool
