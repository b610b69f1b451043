"""Builds the FastAPI application: the full API for a running controller, or SAFE MODE for a bad config."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from controller.runtime import Controller

API_TITLE = "cellward controller"
API_DESCRIPTION = (
    "Incidents (suspected phones located to a cell), alerts, sensors, reports, zones and the site map. "
    "Log in with POST /api/auth/login and send the token as `Authorization: Bearer <token>`."
)


def create_app(controller: Controller) -> FastAPI:
    """The full API over a started (or about to be started) controller."""
    from controller import web
    from controller.api import (
        alerts,
        auth,
        blocking,
        events,
        health,
        incidents,
        reports,
        sensors,
        site,
        spectrum,
        statistics,
    )
    from controller.api import requests as requests_api

    app = FastAPI(title=API_TITLE, description=API_DESCRIPTION, version="1")
    app.state.controller = controller
    for module in (health, auth, sensors, spectrum, reports, incidents, alerts, site, statistics, events, blocking):
        app.include_router(module.router)
    for router in requests_api.routers:
        app.include_router(router)
    web.mount(app)
    return app


def create_safe_mode_app(config_error: str) -> FastAPI:
    """The API when the config cannot be used: every route answers 503 with the error, health says degraded.

    The control room must see why it is blind rather than find the controller gone.
    """
    app = FastAPI(title=f"{API_TITLE} (SAFE MODE)", description=f"SAFE MODE: {config_error}", version="1")

    @app.get("/health")
    def health() -> dict:
        return {"status": "degraded", "safe_mode": True, "config_error": config_error, "problems": [config_error]}

    @app.get("/ready")
    def ready() -> JSONResponse:
        return JSONResponse(
            {"ready": False, "database": False, "mqtt_connected": False, "config_error": config_error}, 503
        )

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def everything_else(path: str, request: Request) -> JSONResponse:
        return JSONResponse(
            {"detail": f"controller in SAFE MODE: the configuration is invalid: {config_error}", "safe_mode": True},
            status_code=503,
        )

    return app
