"""Health and readiness (no login, so orchestrators can probe) and Prometheus metrics (login required)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Reader
from controller.api.models.health import Health, Ready
from controller.api.sensors import sensor_views

router = APIRouter(tags=["health"])


@router.get("/health")
def health(controller: ControllerDep) -> Health:
    problems = [problem for view in sensor_views(controller) for problem in view.problems]
    if not controller.mqtt_connected:
        problems.append("not connected to the MQTT broker")
    return Health(status="degraded" if problems else "ok", safe_mode=False, config_error=None, problems=problems)


@router.get("/ready", responses={503: {"model": Ready, "description": "Not ready"}})
def ready(controller: ControllerDep, response: Response) -> Ready:
    database = controller.database_ok()
    result = Ready(ready=database, database=database, mqtt_connected=controller.mqtt_connected)
    if not result.ready:
        response.status_code = 503
    return result


@router.get(
    "/metrics",
    response_class=Response,
    responses={**AUTH_RESPONSES, 200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(_: Reader, controller: ControllerDep) -> Response:
    return Response(generate_latest(controller.metrics.registry), media_type=CONTENT_TYPE_LATEST)
