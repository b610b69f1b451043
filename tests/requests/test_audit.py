"""The audit log is append-only and hash-chained: every edit, deletion or reordering is caught at its entry."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cellward.cli import app
from cellward.signing import NodeKey
from controller.audit import record, verify_database
from controller.audit.chain import entry_hash
from controller.audit.checkpoint import write_checkpoint

ENTRIES = 6


@pytest.fixture
def audited(engine, sessions):
    """Six entries by people and the system, as the workflow writes them."""
    for n in range(1, ENTRIES + 1):
        with sessions() as db:
            record(db, "officer1" if n % 2 else "system", "request.draft", f"request:{n}", {"n": n, "note": "é"})
            db.commit()
    return engine


def _drop_guards(engine) -> None:
    """What an attacker with database rights would do first: remove the append-only triggers."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def _tamper(engine, sql: str) -> None:
    _drop_guards(engine)
    with engine.begin() as conn:
        for statement in sql.split(";"):
            conn.execute(text(statement))


def test_intact_chain_verifies(audited):
    report = verify_database(audited.url)
    assert report.ok, f"an untouched log must verify, got {report.first_break}"
    assert report.entries == ENTRIES


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x' WHERE seq = 2", "DELETE FROM audit_log"])
def test_database_refuses_update_and_delete(audited, statement):
    with pytest.raises(DBAPIError, match="append-only"), audited.begin() as conn:
        conn.execute(text(statement))
    assert verify_database(audited.url).entries == ENTRIES


def test_edited_field_is_named_at_its_entry(audited):
    _tamper(audited, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    report = verify_database(audited.url)
    assert report.first_break is not None and report.first_break.seq == 3, report.first_break
    assert "edited" in report.first_break.problem
    assert report.entries == 2, "entries before the edit still check out"


def test_edited_details_are_named_at_their_entry(audited):
    _tamper(audited, """UPDATE audit_log SET details = '{"n": 40}' WHERE seq = 4""")
    assert verify_database(audited.url).first_break.seq == 4


def test_deleted_entry_is_named_by_the_gap_it_leaves(audited):
    _tamper(audited, "DELETE FROM audit_log WHERE seq = 3")
    report = verify_database(audited.url)
    assert report.first_break.seq == 4, "the entry after the deleted one is the first that no longer links"
    assert "expected seq 3" in report.first_break.problem


def test_swapped_entries_are_named_at_the_first_of_them(audited):
    # Reorder: exchange the positions (seq) of entries 2 and 3, keeping each one's own content and hash.
    _tamper(
        audited,
        "UPDATE audit_log SET seq = 1000 WHERE seq = 2;"
        "UPDATE audit_log SET seq = 2 WHERE seq = 3;"
        "UPDATE audit_log SET seq = 3 WHERE seq = 1000",
    )
    report = verify_database(audited.url)
    assert report.first_break.seq == 2, report.first_break


def test_rehashed_edit_still_breaks_the_next_link(audited):
    """Recomputing the edited entry's own hash does not help: the next entry's prev_hash no longer matches."""
    with audited.connect() as conn:
        row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
    forged = {**row, "actor": "forger", "details": json.loads(row["details"])}
    _tamper(audited, f"UPDATE audit_log SET actor = 'forger', hash = '{entry_hash(forged)}' WHERE seq = 2")
    report = verify_database(audited.url)
    assert report.first_break.seq == 3 and "prev_hash" in report.first_break.problem


def test_cli_names_the_first_broken_entry(audited):
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", audited.url.render_as_string(hide_password=False)])
    assert ok.exit_code == 0 and "intact: 6 entries" in ok.output, ok.output
    _tamper(audited, "UPDATE audit_log SET target = 'request:99' WHERE seq = 5")
    broken = runner.invoke(app, ["audit", "verify", "--db", audited.url.render_as_string(hide_password=False)])
    assert broken.exit_code == 1 and "seq=5" in broken.output, broken.output


def test_cli_bad_arguments_are_clear(tmp_path):
    runner = CliRunner()
    neither = runner.invoke(app, ["audit", "verify"])
    assert neither.exit_code == 2 and "exactly one of --config" in neither.output
    missing = runner.invoke(app, ["audit", "verify", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 2 and "no database file" in missing.output
    assert not (tmp_path / "none.db").exists(), "verifying must never create a database"
    garbage = runner.invoke(app, ["audit", "verify", "--db", "not a url"])
    assert garbage.exit_code == 2 and "not a database URL" in garbage.output


def test_deleting_the_newest_entries_is_caught_against_a_noted_head(audited):
    head = verify_database(audited.url)
    noted = (head.entries, head.head_hash)
    _tamper(audited, "DELETE FROM audit_log WHERE seq >= 5")
    assert verify_database(audited.url).ok, "without a noted head, a shorter chain is still a consistent chain"
    report = verify_database(audited.url, noted)
    assert report.first_break.seq == 5 and "newest entries deleted" in report.first_break.problem


def test_cli_expect_head_catches_truncation_and_refuses_a_malformed_head(audited):
    url = audited.url.render_as_string(hide_password=False)
    runner = CliRunner()
    first = runner.invoke(app, ["audit", "verify", "--db", url])
    head = first.output.split("head ")[1].split()[0]
    assert runner.invoke(app, ["audit", "verify", "--db", url, "--expect-head", head]).exit_code == 0
    _tamper(audited, "DELETE FROM audit_log WHERE seq = 6")
    truncated = runner.invoke(app, ["audit", "verify", "--db", url, "--expect-head", head])
    assert truncated.exit_code == 1 and "seq=6" in truncated.output, truncated.output
    bad = runner.invoke(app, ["audit", "verify", "--db", url, "--expect-head", "six:abc"])
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output


def _rewrite_from(engine, seq: int, actor: str) -> None:
    """A thorough forger: edits entry `seq` and recomputes every hash from there, so the chain is consistent."""
    _drop_guards(engine)
    with engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings()]
        prev = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
        for row in rows[seq - 1 :]:
            row["actor"] = actor if row["seq"] == seq else row["actor"]
            fields = {**row, "details": json.loads(row["details"]), "prev_hash": prev}
            new_hash = entry_hash(fields)
            conn.execute(
                text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": row["actor"], "p": prev, "h": new_hash, "s": row["seq"]},
            )
            prev = new_hash


def _checkpoint(engine, key: NodeKey) -> None:
    with Session(engine) as db:
        write_checkpoint(db, key)
        db.commit()


def test_signed_checkpoint_catches_a_rewrite_that_recomputes_every_hash(audited):
    _checkpoint(audited, NodeKey.generate("controller"))
    _rewrite_from(audited, 3, "forger")
    report = verify_database(audited.url)
    assert report.first_break.seq == 6 and "log rewritten" in report.first_break.problem, report.first_break


def test_signed_checkpoint_catches_deleted_newest_entries(audited):
    _checkpoint(audited, NodeKey.generate("controller"))
    _tamper(audited, "DELETE FROM audit_log WHERE seq >= 5")
    report = verify_database(audited.url)
    assert report.first_break.seq == 6 and "missing" in report.first_break.problem


def test_altered_checkpoint_is_caught_and_checkpoints_are_append_only(audited):
    _checkpoint(audited, NodeKey.generate("controller"))
    with pytest.raises(DBAPIError, match="append-only"), audited.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))
    with audited.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints"))
        else:
            conn.execute(text("DROP TRIGGER audit_checkpoints_no_update"))
        conn.execute(text("UPDATE audit_checkpoints SET ts = ts + 1"))
    assert "signature does not verify" in verify_database(audited.url).first_break.problem


def test_concurrent_appends_keep_one_unbroken_chain(engine, sessions):
    """Writers appending at once (API requests, ingest) never fork the chain or fail on its seq."""
    writers, each = 4, 25
    failures: list[BaseException] = []

    def append(writer: int) -> None:
        try:
            for n in range(each):
                with sessions() as session:
                    session.execute(text("SELECT 1"))  # a read before the append, as the API's handlers do
                    record(session, f"user{writer}", "evidence.view", f"request:{writer}-{n}")
                    session.commit()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    report = verify_database(engine.url)
    assert report.ok and report.entries == writers * each
