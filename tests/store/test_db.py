"""Engine, sessions and migrations: SQLite pragmas, BEGIN IMMEDIATE, rollback, outages as DatabaseUnavailable."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import insert, inspect, make_url, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, StatementError
from sqlalchemy.orm import Session

from screener import store
from screener.clock import utcnow
from screener.db import (
    Database,
    DatabaseUnavailable,
    alembic_config,
    database_url_from_env,
    default_database_url,
    default_instance_path,
    get_db,
    init_app,
    make_engine,
    upgrade,
)
from screener.models import Base, Draft, Reevaluation, Screening, ScreeningVersion, StaffUser
from tests.store.factories import NOW, count, in_write, new_draft

TABLES = {"draft", "screening", "screening_version", "staff_alert"}


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    assert path
    return path


# --- Migrations ---------------------------------------------------------------------------


def test_migrations_create_every_table_at_head(database: Database) -> None:
    assert TABLES | {"alembic_version"} <= set(inspect(database.engine).get_table_names())
    head = ScriptDirectory.from_config(alembic_config("unused")).get_current_head()
    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_migrations_match_the_models(database: Database) -> None:
    """A model changed without a migration (or the reverse) shows up here."""
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_downgrade_removes_the_tables_and_upgrade_restores_them(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        command.downgrade(alembic_config(database_url), "base")
        assert TABLES.isdisjoint(inspect(engine).get_table_names())
        upgrade(database_url)
        upgrade(database_url)  # again: nothing to do, no error
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def _stored_before_0005(database_url: str) -> None:
    """Rows as revision 0004 stored them: decisions with fired rules, no review flags or priority."""
    version = {
        "author_role": "patient",
        "source": "self",
        "answers": {},
        "discarded": [],
        "outcome": "CLINICIAN_REVIEW",
        "underlying_outcome": "CLINICIAN_REVIEW",
        "warnings": [],
        "language": "en",
        "clinician_notes": [],
        "ruleset_version": "2026.11-draft.1",
        "ruleset_hash": "sha256:old",
        "jurisdiction": "US",
        "config": {},
        "created_at": NOW,
    }
    screening = {"status": "completed", "outcome": "CLINICIAN_REVIEW", "urgent": False, "created_at": NOW}
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(StaffUser),
                [
                    {
                        "id": 1,
                        "username": "ann",
                        "display_name": "Ann",
                        "role": "clinician",
                        "password_hash": "x",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                ],
            )
            connection.execute(
                insert(Screening),
                [
                    screening | {"id": 1, "reference_code": "AAAA-0001", "current_version": 1, "updated_at": NOW},
                    screening | {"id": 2, "reference_code": "AAAA-0002", "current_version": 2, "updated_at": NOW},
                    screening | {"id": 3, "reference_code": "AAAA-0003", "current_version": 1, "updated_at": NOW},
                ],
            )
            connection.execute(
                insert(ScreeningVersion),
                [
                    version | {"screening_id": 1, "number": 1, "fired_rules": ["R-G01", "R-R16", "R-R04", "R-C01"]},
                    version | {"screening_id": 2, "number": 1, "fired_rules": ["R-G01", "R-R03"]},
                    version | {"screening_id": 2, "number": 2, "fired_rules": ["R-G01", "R-F05"]},
                    version | {"screening_id": 3, "number": 1, "fired_rules": ["R-U01", "R-R05", "R-R05"]},
                ],
            )
            connection.execute(
                insert(Reevaluation),
                [
                    {
                        "screening_id": 2,
                        "version_number": 2,
                        "performed_by": 1,
                        "outcome": "CLINICIAN_REVIEW",
                        "underlying_outcome": "CLINICIAN_REVIEW",
                        "warnings": [],
                        "clinician_notes": [],
                        "fired_rules": ["R-R14", "R-G01", "R-R01b"],
                        "ruleset_version": "2026.12-draft.2",
                        "ruleset_hash": "sha256:new",
                        "jurisdiction": "US",
                        "created_at": NOW,
                    }
                ],
            )
    finally:
        engine.dispose()


def test_the_review_flags_migration_fills_them_in_from_the_rules_that_fired(database_url: str) -> None:
    """0005: every R-R* rule a stored decision fired is a review flag, R-R16 is priority; the rest get [] and false."""
    command.downgrade(alembic_config(database_url), "0004")
    engine = make_engine(database_url)
    try:
        old = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("screening")}
        assert old["ix_screening_queue"] == ["urgent", "created_at", "id"]
        _stored_before_0005(database_url)
        upgrade(database_url)
        with engine.connect() as connection:
            versions = connection.execute(
                select(ScreeningVersion.screening_id, ScreeningVersion.number, ScreeningVersion.review_flags)
                .add_columns(ScreeningVersion.priority)
                .order_by(ScreeningVersion.screening_id, ScreeningVersion.number)
            ).all()
            screenings = connection.execute(
                select(Screening.id, Screening.has_review_flags, Screening.priority).order_by(Screening.id)
            ).all()
            rerun = connection.execute(select(Reevaluation.review_flags, Reevaluation.priority)).one()
        new = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("screening")}
    finally:
        engine.dispose()
    assert [tuple(row) for row in versions] == [
        (1, 1, ["R-R04", "R-R16"], True),
        (2, 1, ["R-R03"], False),
        (2, 2, [], False),
        (3, 1, ["R-R05"], False),
    ]
    # The queue columns follow the current version: screening 2's is version 2, without flags.
    assert [tuple(row) for row in screenings] == [(1, True, True), (2, False, False), (3, True, False)]
    assert tuple(rerun) == (["R-R01b", "R-R14"], False)
    assert new["ix_screening_queue"] == ["urgent", "priority", "created_at", "id"]
    assert new["ix_screening_queue_priority"] == ["priority", "urgent", "created_at", "id"]


def test_upgrade_creates_the_folder_of_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "instance" / "screener.db"
    upgrade(f"sqlite:///{path}")
    assert path.is_file()


# --- SQLite connections -------------------------------------------------------------------


def test_sqlite_pragmas_are_in_force(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        with database.read() as session:
            pragma = {
                name: session.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        database.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}


def test_write_takes_the_write_lock_at_once_and_read_does_not(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    other = sqlite3.connect(_sqlite_path(sqlite_url), timeout=0, isolation_level=None)
    try:
        with database.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        with database.read() as session:
            session.execute(select(Draft)).all()
            other.execute("BEGIN IMMEDIATE")  # a deferred read transaction leaves the write lock free
            other.execute("ROLLBACK")
    finally:
        other.close()
        database.dispose()


def test_foreign_keys_are_enforced(database: Database) -> None:
    def dangling(session: Session) -> None:
        draft, _token = new_draft(session)
        draft.screening_id = 999
        session.flush()

    with pytest.raises(IntegrityError):
        in_write(database, dangling)


# --- Transactions -------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_write_commits_on_success(database: Database) -> None:
    with database.write() as session:
        new_draft(session)
    with database.read() as session:
        assert count(session, Draft) == 1


def test_an_exception_inside_write_leaves_no_rows(database: Database) -> None:
    def half_done(session: Session) -> None:
        draft, _token = new_draft(session)
        store.save_answers(session, draft, {"age_years": 22}, NOW)
        store.record_urgent_alert(session, draft=draft, rule_ids=["R-U01"], now=NOW)
        raise Boom

    with pytest.raises(Boom):  # not translated: only outages are
        in_write(database, half_done)
    with database.read() as session:
        assert count(session, Draft) == 0
        assert count(session, store.StaffAlert) == 0


def test_reads_are_rolled_back(database: Database) -> None:
    with database.read() as session:
        new_draft(session)
        session.flush()
    with database.read() as session:
        assert count(session, Draft) == 0


def test_write_keeps_working_after_a_rollback_inside_it(database: Database) -> None:
    """A view may roll back invalid input and go on; the next statements still commit."""
    with database.write() as session:
        new_draft(session)
        session.rollback()
        new_draft(session, now=NOW + timedelta(minutes=1))
    with database.read() as session:
        assert [d.created_at for d in session.scalars(select(Draft))] == [NOW + timedelta(minutes=1)]


# --- Outages ------------------------------------------------------------------------------


@contextmanager
def _locked_elsewhere(url: str) -> Iterator[None]:
    """Another connection holds an exclusive lock (SQLite: the database; PostgreSQL: the draft table)."""
    if make_url(url).get_backend_name() == "sqlite":
        other = sqlite3.connect(_sqlite_path(url), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.close()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("LOCK TABLE draft IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        engine.dispose()


def test_a_lock_held_beyond_the_timeout_gives_database_unavailable(database_url: str) -> None:
    database = Database(database_url, busy_timeout_ms=100)
    try:
        with _locked_elsewhere(database_url):
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable) as raised, database.write() as session:
                new_draft(session)
            waited = time.monotonic() - started
        assert isinstance(raised.value.__cause__, OperationalError)
        assert waited < 3  # the short timeout, not the 5 s default nor a hang
        with database.write() as session:  # the lock is gone: writes work again
            new_draft(session)
        with database.read() as session:
            assert count(session, Draft) == 1
    finally:
        database.dispose()


def test_a_full_disk_gives_database_unavailable_and_no_partial_write(sqlite_url: str) -> None:
    """SQLITE_FULL forced with max_page_count (no root needed); raising the limit recovers."""

    def fill_the_disk(session: Session) -> None:
        pages = session.execute(text("PRAGMA page_count")).scalar_one()
        session.execute(text(f"PRAGMA max_page_count = {pages}"))
        draft, _token = new_draft(session)
        store.save_answers(session, draft, {"notes": "x" * 100_000}, NOW)

    database = Database(sqlite_url)
    try:
        with pytest.raises(DatabaseUnavailable, match="full"):
            in_write(database, fill_the_disk)
        with database.write() as session:  # the same pooled connection: free space, then write
            session.execute(text("PRAGMA max_page_count = 1073741823"))
            new_draft(session)
        with database.read() as session:
            assert count(session, Draft) == 1
    finally:
        database.dispose()


def test_bad_sql_is_a_bug_not_an_outage(database: Database) -> None:
    with pytest.raises((OperationalError, ProgrammingError)) as raised, database.read() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, DatabaseUnavailable)


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/missing-folder/screener.db", "postgresql://screener@127.0.0.1:1/screener"],
    ids=["sqlite", "postgresql"],
)
def test_a_database_that_cannot_be_reached_gives_database_unavailable(url: str, tmp_path: Path) -> None:
    database = Database(url.format(tmp=tmp_path))
    try:
        with pytest.raises(DatabaseUnavailable), database.read() as session:
            session.execute(text("SELECT 1"))
    finally:
        database.dispose()


# --- Timestamps ---------------------------------------------------------------------------


def test_timestamps_come_back_as_aware_utc(database: Database) -> None:
    paris = datetime(2026, 7, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with database.write() as session:
        new_draft(session, now=paris)
    with database.read() as session:
        draft = session.scalars(select(Draft)).one()
    assert draft.created_at == paris
    assert draft.created_at.tzinfo is UTC
    assert draft.created_at.hour == 12


def test_naive_timestamps_are_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), database.write() as session:
        new_draft(session, now=datetime(2026, 7, 1, 14, 0))
    with database.read() as session:
        assert count(session, Screening) == count(session, Draft) == 0


def test_utcnow_is_aware_utc_and_follows_the_travelling_clock() -> None:
    assert utcnow().tzinfo is UTC
    with time_machine.travel(datetime(2031, 2, 3, 4, 5, tzinfo=UTC), tick=False):
        assert utcnow() == datetime(2031, 2, 3, 4, 5, tzinfo=UTC)


# --- URLs and the Flask hook --------------------------------------------------------------


def test_postgresql_urls_get_the_psycopg_driver() -> None:
    engine = make_engine("postgresql://screener@127.0.0.1:1/screener")  # not connected
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_database_url_comes_from_the_environment_else_the_instance_folder(tmp_path: Path) -> None:
    instance = str(tmp_path / "instance")
    default = f"sqlite:///{tmp_path / 'instance' / 'screener.db'}"
    assert default_database_url(instance) == default
    assert database_url_from_env(instance, {}) == default
    assert database_url_from_env(instance, {"SCREENER_DATABASE_URL": ""}) == default
    assert database_url_from_env(instance, {"SCREENER_DATABASE_URL": "postgresql://db/x"}) == "postgresql://db/x"


def test_the_instance_folder_is_beside_the_package_in_a_checkout() -> None:
    assert Path(default_instance_path()) == Path(__file__).resolve().parents[2] / "instance"


def test_init_app_gives_the_app_a_database_without_migrating(tmp_path: Path) -> None:
    app = Flask(__name__)
    app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'screener.db'}"
    database = init_app(app)
    try:
        with app.app_context():
            assert get_db() is database
        assert inspect(database.engine).get_table_names() == []
    finally:
        database.dispose()


def test_get_db_without_init_app_says_so() -> None:
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="init_app"):
        get_db()
