"""``screener audit checkpoint / verify --checkpoint / rekey / repair-triggers`` and ``db upgrade``'s
trigger check, as real subprocesses on a temporary SQLite file (issue 9, item 4)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from screener.db import Database
from tests.store.test_audit_chain import legacy_events

SCREENER = str(Path(sys.executable).with_name("screener"))
KEY = "cli-test-audit-key-" + "x" * 32
TAMPERED = 1


def run(database: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SCREENER_DATABASE_URL": f"sqlite:///{database}", "SCREENER_AUDIT_KEY": KEY, **env}
    return subprocess.run([SCREENER, *args], capture_output=True, text=True, env=environ, timeout=60, check=False)


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-audit") / "screener.db"
    result = run(path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def database(upgraded: Path, tmp_path: Path) -> Path:
    path = tmp_path / "screener.db"
    shutil.copyfile(upgraded, path)
    return path


def sql(database: Path, *statements: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as connection, connection:
        found: list[tuple[object, ...]] = []
        for statement in statements:
            found = connection.execute(statement).fetchall()
        return found


def some_events_fast(database: Path, count: int) -> None:
    """Audit events recorded as the app records them, under the test key."""
    from datetime import UTC, datetime

    from screener.store import audit

    handle = Database(f"sqlite:///{database}")
    try:
        with handle.write() as session:
            for number in range(count):
                audit.record(
                    session,
                    action="test.event",
                    now=datetime.now(UTC),
                    actor_label="tester",
                    object_id=number,
                    key=KEY.encode(),
                )
    finally:
        handle.dispose()


def test_a_checkpoint_kept_elsewhere_shows_that_the_newest_events_were_deleted(database: Path, tmp_path: Path) -> None:
    some_events_fast(database, 6)
    written = run(database, "audit", "checkpoint")
    assert written.returncode == 0, written.stderr
    (line,) = written.stdout.splitlines()
    document = json.loads(line)
    assert document["type"] == "screener-audit-checkpoint"
    assert (document["event_count"], document["head_id"]) == (6, 6)
    assert len(document["signature"]) == 64
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text(line + "\n", encoding="utf-8")
    intact = run(database, "audit", "verify", "--checkpoint", str(kept))
    assert (intact.returncode, intact.stdout.strip()) == (
        0,
        "audit trail intact: 6 events, and 1 exported checkpoints match",
    )

    # Someone with the database drops the trigger, deletes the newest events and the stored checkpoint,
    # then puts the trigger back: the trail left is a valid chain.
    sql(
        database,
        "DROP TRIGGER audit_event_no_delete",
        "DROP TRIGGER audit_checkpoint_no_delete",
        "DELETE FROM audit_event WHERE id > 4",
        "DELETE FROM audit_checkpoint",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
        "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
    )
    assert run(database, "audit", "verify").returncode == 0  # alone, the shortened trail looks whole
    caught = run(database, "audit", "verify", "--checkpoint", str(kept))
    assert caught.returncode == TAMPERED
    assert caught.stderr.splitlines() == [
        "checkpoint 1 (line 1 of "
        + str(kept)
        + "): event 6, the newest when the checkpoint was written, is missing: events were deleted from the end "
        "of the trail"
    ]


def test_a_checkpoint_is_refused_on_a_broken_trail(database: Path) -> None:
    some_events_fast(database, 3)
    sql(database, "DROP TRIGGER audit_event_no_update", "UPDATE audit_event SET actor = 'x' WHERE id = 2")
    result = run(database, "audit", "checkpoint")
    assert result.returncode == TAMPERED
    assert result.stdout == ""
    assert "no checkpoint recorded" in result.stderr
    assert sql(database, "SELECT count(*) FROM audit_checkpoint") == [(0,)]


def test_an_exported_checkpoint_under_another_key_or_altered_is_refused(database: Path, tmp_path: Path) -> None:
    some_events_fast(database, 2)
    line = run(database, "audit", "checkpoint").stdout.strip()
    kept = tmp_path / "kept.jsonl"
    kept.write_text(line + "\n", encoding="utf-8")
    other = run(database, "audit", "verify", "--checkpoint", str(kept), SCREENER_AUDIT_KEY="another-key-" + "y" * 30)
    assert other.returncode == TAMPERED
    assert "it was signed with another audit key" in other.stderr
    forged = {**json.loads(line), "event_count": 1}
    kept.write_text(json.dumps(forged) + "\n", encoding="utf-8")
    assert "forged or altered" in run(database, "audit", "verify", "--checkpoint", str(kept)).stderr
    kept.write_text("not json\n", encoding="utf-8")
    unreadable = run(database, "audit", "verify", "--checkpoint", str(kept))
    assert unreadable.returncode == 1
    assert "line 1: not a checkpoint" in unreadable.stderr


def test_db_upgrade_and_verify_check_the_triggers_and_repair_puts_them_back(database: Path) -> None:
    some_events_fast(database, 2)
    sql(database, "DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_checkpoint_no_delete")
    upgrade = run(database, "db", "upgrade")
    assert upgrade.returncode == TAMPERED
    assert upgrade.stderr.splitlines()[:2] == [
        "trigger audit_event_no_update is missing: UPDATE on audit_event is no longer refused",
        "trigger audit_checkpoint_no_delete is missing: DELETE on audit_checkpoint is no longer refused",
    ]
    assert "screener audit repair-triggers" in upgrade.stderr
    verify = run(database, "audit", "verify")
    assert verify.returncode == TAMPERED
    assert "trigger audit_event_no_update is missing" in verify.stderr
    repaired = run(database, "audit", "repair-triggers")
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.splitlines()[0].startswith("repaired: trigger audit_event_no_update is missing")
    assert run(database, "db", "upgrade").returncode == 0
    assert run(database, "audit", "verify").returncode == 0
    assert sql(database, "SELECT action FROM audit_event ORDER BY id DESC LIMIT 1") == [("audit.triggers_repaired",)]
    assert run(database, "audit", "repair-triggers").stdout.strip() == (
        "the audit trail's append-only triggers are all in place"
    )


def test_rekey_keys_the_events_recorded_before_the_key(database: Path) -> None:
    handle = Database(f"sqlite:///{database}")
    try:
        legacy_events(handle, 4)
    finally:
        handle.dispose()
    before = run(database, "audit", "verify")
    assert before.returncode == TAMPERED
    assert "events 1 to 4 (4 events) were recorded before the audit trail was keyed" in before.stderr
    rekeyed = run(database, "audit", "rekey")
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert rekeyed.stderr.strip() == "re-keyed 4 of 4 events under SCREENER_AUDIT_KEY"
    assert json.loads(rekeyed.stdout)["event_count"] == 5  # and the rekey's own event
    assert run(database, "audit", "verify").stdout.strip() == "audit trail intact: 5 events"
    assert run(database, "audit", "rekey").stdout.strip() == "nothing to re-key: all 5 events are keyed"


def test_production_needs_an_audit_key_of_its_own(database: Path) -> None:
    production = {"SCREENER_ENV": "production", "SCREENER_SECRET_KEY": "s" * 40}
    missing = run(database, "audit", "verify", **production, SCREENER_AUDIT_KEY="")
    assert missing.returncode == 1
    assert "SCREENER_AUDIT_KEY must be set" in missing.stderr
    same = run(database, "audit", "verify", **production, SCREENER_AUDIT_KEY="s" * 40)
    assert "must not be the same as SCREENER_SECRET_KEY" in same.stderr
    assert run(database, "audit", "verify", **production).returncode == 0
