"""Fixtures for the request workflow: a migrated real database (SQLite and PostgreSQL) and its sessions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from controller.db.base import make_engine, make_session_factory
from controller.db.migrate import upgrade_database
from tests.controller.conftest import database_url, postgresql_url, sqlite_url

__all__ = ["database_url", "postgresql_url", "sqlite_url"]


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """A database migrated to every head (controller core + requests/audit)."""
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
