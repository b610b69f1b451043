"""Who is looking at a page: the session cookie resolved by the controller's accounts, CSRF tokens, roles."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse

from controller.accounts import Principal
from controller.api.deps import SESSION_COOKIE, csrf_token_for
from controller.runtime import Controller

LOGIN_CSRF_COOKIE = "cellward_login_csrf"


class NotLoggedInError(Exception):
    """Raised by a page dependency when nobody is logged in; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def redirect_to_login(request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, NotLoggedInError)
    return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status.HTTP_303_SEE_OTHER)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def safe_next(path: str | None) -> str:
    """Only same-site paths are followed after login (an open redirect would help phishing)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/map"
    return path


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a page, with the CSRF token their forms must carry."""

    principal: Principal
    csrf: str

    @property
    def username(self) -> str:
        return self.principal.username

    def may(self, *roles: str) -> bool:
        return self.principal.has_any(frozenset(roles))


def controller_of(request: Request) -> Controller:
    return request.app.state.controller


def current_viewer(request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    principal = controller_of(request).accounts.resolve(token) if token else None
    if principal is None:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotLoggedInError(next_path)
    assert token is not None
    return Viewer(principal, csrf_token_for(token))


def page_for(*roles: str):
    """A page dependency: the logged-in viewer, who must hold one of `roles` (admin always may)."""

    def check(viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
        if not viewer.may(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this page needs one of the roles: {', '.join(roles)}")
        return viewer

    return check


def check_csrf(viewer: Viewer, submitted: str | None) -> None:
    """Reject a state-changing form whose token is missing or not this session's."""
    if not submitted or not hmac.compare_digest(submitted, viewer.csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "form expired or not sent from this site (CSRF check failed)")


READERS = ("viewer", "officer", "authoriser", "auditor")
Reader = Annotated[Viewer, Depends(page_for(*READERS))]
Officer = Annotated[Viewer, Depends(page_for("officer"))]
Authoriser = Annotated[Viewer, Depends(page_for("authoriser"))]
Auditor = Annotated[Viewer, Depends(page_for("auditor"))]
Operator = Annotated[Viewer, Depends(page_for("officer", "authoriser"))]
Requester = Annotated[Viewer, Depends(page_for("officer", "authoriser", "auditor"))]
ControllerDep = Annotated[Controller, Depends(controller_of)]
