"""Runs the controller's Alembic migrations programmatically, so start-up brings any database up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic config pointing at controller/migrations; with `engine`, env.py migrates that database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade_database(engine: Engine) -> None:
    """Apply every pending revision; "heads" so branches added by other parts (requests) all apply."""
    command.upgrade(alembic_config(engine), "heads")
