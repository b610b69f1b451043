"""The web view's pages, one module per screen; `routers` is what `controller.web.mount` adds to the app."""

from controller.web.pages import (
    audit,
    blocking,
    captures,
    incidents,
    live_map,
    login,
    patterns,
    requests,
    sensors,
)

routers = [
    login.router,
    live_map.router,
    incidents.router,
    captures.router,
    requests.router,
    sensors.router,
    patterns.router,
    blocking.router,
    audit.router,
]
