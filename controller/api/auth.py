"""Login, logout, the current user, and user administration (admin)."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.accounts import LoginError, hash_password
from controller.api.deps import (
    AUTH_RESPONSES,
    NOT_FOUND,
    SESSION_COOKIE,
    Admin,
    ControllerDep,
    LoggedIn,
    RowIdPath,
    TokenDep,
    csrf_token_for,
    set_session_cookie,
)
from controller.api.models.auth import LoginRequest, LoginResponse, Me, UserCreate, UserOut, UserUpdate
from controller.db.auth import AuthSession, User

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _user_out(user: User) -> UserOut:
    locked = user.locked_until is not None and user.locked_until > time.time()
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        active=user.active,
        locked=locked,
    )


@router.post("/login", responses={401: {"description": "Wrong credentials or account locked"}})
def login(body: LoginRequest, response: Response, controller: ControllerDep) -> LoginResponse:
    try:
        token, session = controller.accounts.login(body.username, body.password)
    except LoginError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    set_session_cookie(response, token, session, controller)
    principal = controller.accounts.resolve(token)
    assert principal is not None  # just created
    return LoginResponse(
        token=token,
        expires_at=session.expires_at,
        csrf_token=csrf_token_for(token),
        username=principal.username,
        roles=sorted(principal.roles),
    )


@router.post("/logout", status_code=204, responses=AUTH_RESPONSES)
def logout(
    response: Response,
    token: TokenDep,
    _: LoggedIn,
    controller: ControllerDep,
) -> Response:
    if token:
        controller.accounts.logout(token)
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = 204
    return response


@router.get("/me", responses=AUTH_RESPONSES)
def me(principal: LoggedIn) -> Me:
    return Me(username=principal.username, roles=sorted(principal.roles))


@router.get("/users", responses=AUTH_RESPONSES)
def list_users(_: Admin, controller: ControllerDep) -> list[UserOut]:
    with controller.sessions() as db:
        return [_user_out(user) for user in db.scalars(select(User).order_by(User.username))]


@router.post(
    "/users",
    status_code=201,
    responses={
        401: {"description": "Not logged in"},
        403: {"description": "Not admin"},
        409: {"description": "Exists"},
    },
)
def create_user(body: UserCreate, _: Admin, controller: ControllerDep) -> UserOut:
    try:
        user = controller.accounts.create_user(body.username, body.password, list(body.roles), body.display_name)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username} already exists") from None
    return _user_out(user)


@router.patch(
    "/users/{user_id}",
    responses={**AUTH_RESPONSES, **NOT_FOUND},
)
def update_user(user_id: RowIdPath, body: UserUpdate, _: Admin, controller: ControllerDep) -> UserOut:
    with controller.sessions() as db:
        user = db.get(User, user_id)
        if user is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id}")
        if body.roles is not None:
            user.roles = sorted(set(body.roles))
        if body.active is not None:
            user.active = body.active
        if body.password is not None:
            user.password_hash = hash_password(body.password)
            user.failed_logins = 0
            user.locked_until = None
        if body.active is False or body.password is not None or body.roles is not None:
            # A changed password, role set or disabled account ends the user's existing sessions.
            for session in db.scalars(select(AuthSession).where(AuthSession.user_id == user.id)):
                db.delete(session)
        db.commit()
        return _user_out(user)
