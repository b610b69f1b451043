"""Alembic environment for the controller: migrates the engine handed in by controller.db.migrate."""

from __future__ import annotations

import importlib
import os
import pkgutil

from alembic import context

import controller.db
from controller.db.base import Base, make_engine

# Every module under controller/db declares tables on Base; import them all so autogenerate sees
# tables added by other parts (requests, audit) without editing this file.
for module in pkgutil.iter_modules(controller.db.__path__):
    importlib.import_module(f"controller.db.{module.name}")

target_metadata = Base.metadata


def _engine():
    engine = context.config.attributes.get("engine")
    if engine is not None:
        return engine
    return make_engine(os.environ.get("CELLWARD_DATABASE_URL", "sqlite:///cellward-controller.db"))


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("cellward migrations run online only (controller start-up applies them)")
run_migrations_online()
