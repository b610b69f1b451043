"""`cellward controller run`: the API (uvicorn) and ingest in one process, SAFE MODE on a bad config."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from cellward.config import ConfigError
from cellward.signing import KeyFileError
from controller.app import create_app, create_safe_mode_app
from controller.config import ApiConfig, load_controller_config
from controller.gc_tuning import tune_for_ingest
from controller.runtime import Controller
from controller.survey import SurveyError

log = logging.getLogger("cellward.controller")


def build(config_path: Path) -> tuple[Controller | None, object, ApiConfig]:
    """A started controller and its app, or (None, safe-mode app) with the reason when it cannot start."""
    try:
        config = load_controller_config(config_path)
    except ConfigError as exc:
        log.error("event=safe_mode reason=config_invalid detail=%s", str(exc).replace("\n", " | "))
        return None, create_safe_mode_app(str(exc)), ApiConfig()
    try:
        controller = Controller.from_config(config)
        controller.start()
    except (ConfigError, KeyFileError, SurveyError) as exc:
        log.error("event=safe_mode site=%s reason=config_invalid detail=%s", config.site_id, exc)
        return None, create_safe_mode_app(str(exc)), config.api
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        detail = f"database {config.database.url.split('@')[-1]} unusable: {exc.__class__.__name__}: {cause}"
        log.error("event=safe_mode site=%s reason=database detail=%s", config.site_id, detail)
        return None, create_safe_mode_app(detail), config.api
    return controller, create_app(controller), config.api


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which would kill the process before
    ingest is stopped (messages acked, `stopped` published); we swallow it and exit 0 after our cleanup."""

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def run_controller(config_path: Path, host: str | None = None, port: int | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    controller, app, api = build(config_path)
    tune_for_ingest()
    server = _Server(
        uvicorn.Config(app, host=host or api.host, port=port or api.port, log_config=None, access_log=False)
    )
    try:
        server.run()  # returns on SIGINT/SIGTERM after uvicorn's graceful shutdown
    finally:
        if controller is not None:
            controller.stop()
    return 0
