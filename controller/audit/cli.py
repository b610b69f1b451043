"""`cellward audit verify`: checks the audit chain of a controller database and prints the verdict."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from cellward.config import ConfigError
from controller.audit.log import verify_database


def run_verify(config: Path | None, db: str | None, expect_head: str | None = None) -> int:
    """0 when the chain is intact, 1 when it is broken, 2 when it cannot be read."""
    expect = None
    if expect_head is not None:
        seq, _, digest = expect_head.partition(":")
        if not seq.isdigit() or int(seq) < 1 or len(digest) != 64:
            print(
                f"error: --expect-head must be SEQ:HASH as printed by a previous verify, got {expect_head!r}",
                file=sys.stderr,
            )
            return 2
        expect = (int(seq), digest.lower())
    if (config is None) == (db is None):
        print("error: give exactly one of --config CONTROLLER.yaml or --db URL", file=sys.stderr)
        return 2
    if config is not None:
        from controller.config import load_controller_config

        try:
            db = load_controller_config(config).database.url
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        url = make_url(db)
    except ArgumentError:
        print(f"error: {db!r} is not a database URL (sqlite:///path.db or postgresql://user@host/db)", file=sys.stderr)
        return 2
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        print(f"error: no database file at {url.database}", file=sys.stderr)
        return 2
    try:
        report = verify_database(db, expect)
    except SQLAlchemyError as exc:
        print(f"error: cannot read the audit log at {db}: {exc.__class__.__name__}: {exc.args[0]}", file=sys.stderr)
        return 2
    if report.ok:
        print(f"audit log intact: {report.entries} entries, head {report.entries}:{report.head_hash}")
        print("note the head outside this database; --expect-head SEQ:HASH later catches deleted newest entries")
        return 0
    print(
        f"audit log BROKEN at {report.first_break} ({report.entries} entries before it check out; "
        f"last good hash {report.head_hash})"
    )
    return 1
