"""The control-room web view: server-rendered pages and their assets, mounted on the controller's FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the web pages and /static to `app` (the controller's app factory calls this once)."""
    from controller.web.pages import routers
    from controller.web.session import NotLoggedInError, redirect_to_login

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(NotLoggedInError, redirect_to_login)
