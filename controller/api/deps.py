"""Dependencies shared by the routers: the running controller and the caller's identity and roles."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from controller.accounts import Principal
from controller.db.auth import AuthSession
from controller.runtime import Controller

SESSION_COOKIE = "cellward_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
bearer = HTTPBearer(auto_error=False, description="Session token from POST /api/auth/login")
cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Session cookie set by login")

ROW_ID_MAX = 2**63 - 1  # the largest integer SQLite and PostgreSQL (BIGINT) store: anything above is a 422
RowIdPath = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
SeqQuery = Annotated[int, Query(ge=0, le=ROW_ID_MAX)]

READ_ROLES = frozenset({"viewer", "officer", "authoriser", "auditor"})
OFFICER_ROLES = frozenset({"officer"})
ADMIN_ROLES = frozenset({"admin"})


def set_session_cookie(response: Response, token: str, session: AuthSession, controller: Controller) -> None:
    """The login cookie: HttpOnly and SameSite=Strict, living as long as the session it carries."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(session.expires_at - session.created_at),
        httponly=True,
        samesite="strict",
        secure=controller.config.auth.cookie_secure,
    )


def get_controller(request: Request) -> Controller:
    return request.app.state.controller


ControllerDep = Annotated[Controller, Depends(get_controller)]


def csrf_token_for(session_token: str) -> str:
    """A CSRF token bound to the session: derivable only by whoever holds the (HttpOnly) session cookie."""
    return hashlib.sha256(b"cellward-csrf\0" + session_token.encode()).hexdigest()


def session_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie_token: Annotated[str | None, Depends(cookie)],
) -> str | None:
    """The caller's session token: a Bearer header, or the login cookie.

    A browser sends the cookie with requests that other sites start, so a state-changing call the cookie
    authenticates must also carry the session's CSRF token in `X-CSRF-Token`, which another site cannot
    read. A Bearer token is never sent by a browser on its own and needs none."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    if cookie_token and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "").encode()
        if not hmac.compare_digest(sent, csrf_token_for(cookie_token).encode()):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a state-changing call authenticated by the session cookie needs the {CSRF_HEADER} header "
                "(the session's CSRF token, as in the web view's forms); API clients send Authorization: Bearer",
            )
    return cookie_token


TokenDep = Annotated[str | None, Depends(session_token)]


def current_principal(token: TokenDep, controller: ControllerDep) -> Principal:
    principal = controller.accounts.resolve(token) if token else None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "not logged in or session expired: POST /api/auth/login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


LoggedIn = Annotated[Principal, Depends(current_principal)]


def require(roles: frozenset[str]) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers holding any of `roles` (admin always passes)."""

    def check(principal: LoggedIn) -> Principal:
        if not principal.has_any(roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs one of the roles: {', '.join(sorted(roles))}")
        return principal

    return check


Reader = Annotated[Principal, Depends(require(READ_ROLES))]
Officer = Annotated[Principal, Depends(require(OFFICER_ROLES))]
Admin = Annotated[Principal, Depends(require(ADMIN_ROLES))]

AUTH_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "Not logged in or session expired"},
    403: {"description": "Logged in without the role this needs"},
}
NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "No such item"}}
