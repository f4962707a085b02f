"""`screener db upgrade` and `screener db purge`, in process through click's runner."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import time_machine
from click.testing import CliRunner
from sqlalchemy import inspect

from screener.cli import main
from screener.db import Database, make_engine
from screener.models import Draft
from tests.store.factories import NOW, count, new_draft


def test_upgrade_creates_the_database_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "screener.db"
    url = f"sqlite:///{path}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"SCREENER_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert str(path) in result.output
    engine = make_engine(url)
    try:
        assert {"draft", "screening", "screening_version", "staff_alert"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_of_a_migrated_database_changes_nothing(database: Database, database_url: str) -> None:
    with database.write() as session:
        new_draft(session)
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"SCREENER_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    with database.read() as session:
        assert count(session, Draft) == 1


def test_purge_deletes_expired_drafts_and_prints_the_count(database: Database, database_url: str) -> None:
    with database.write() as session:
        new_draft(session, lifetime=timedelta(hours=1))
        new_draft(session, lifetime=timedelta(hours=2))
        new_draft(session, lifetime=timedelta(hours=4))
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        result = CliRunner().invoke(main, ["db", "purge"], env={"SCREENER_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert result.output == "2 expired drafts purged\n"
    with database.read() as session:
        assert count(session, Draft) == 1
