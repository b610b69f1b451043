"""The requests/audit migrations create exactly the tables the models declare (no drift either way)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import controller.audit.checkpoint
import controller.db.models
import controller.operators.outbox_model
import controller.requests.models  # noqa: F401 - every table on Base
from controller.db.base import Base


def test_migrated_schema_matches_every_model(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"migrations and models disagree: {differences}"
