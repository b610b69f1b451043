"""Log in and out through the controller's accounts (argon2, lock-out), with CSRF on both forms."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from controller.accounts import LoginError
from controller.api.deps import SESSION_COOKIE, set_session_cookie
from controller.web.session import (
    LOGIN_CSRF_COOKIE,
    ControllerDep,
    Viewer,
    check_csrf,
    current_viewer,
    new_login_csrf,
    safe_next,
)
from controller.web.templating import render

log = logging.getLogger("cellward.controller.web")
router = APIRouter(include_in_schema=False)


def _login_page(request: Request, next_path: str, error: str | None, status_code: int = 200) -> HTMLResponse:
    # Login CSRF is a double-submit token: a random cookie that the form must echo back.
    token = new_login_csrf()
    response = render(request, "login.html", None, status_code, csrf=token, next=next_path, error=error)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/map", status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_form(request: Request, next: str = "/map") -> HTMLResponse:
    return _login_page(request, safe_next(next), None)


@router.post("/login")
def login(
    request: Request,
    controller: ControllerDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/map",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_page(request, safe_next(next), "The form expired; please log in again.", 403)
    if not username or not password:
        return _login_page(request, safe_next(next), "Enter your user name and password.", 400)
    try:
        token, session = controller.accounts.login(username, password)
    except LoginError as exc:
        log.info("event=web_login_failed user=%s site=%s", username, controller.config.site_id)
        return _login_page(request, safe_next(next), str(exc), 401)
    response = RedirectResponse(safe_next(next), status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, token, session, controller)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    controller: ControllerDep,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    controller.accounts.logout(request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response
