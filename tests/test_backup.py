"""`screener db backup` and `screener db restore` (security-reliability R-12; issue 9 item 6).

The main test backs up while a writer thread keeps completing screenings through the store (each
with an audit event, as the app records them), restores into a new database, and finds every
screening that was acknowledged (committed) before the backup started, with the audit chain
verifying. On SQLite always; on PostgreSQL too when SCREENER_TEST_DATABASE_URL is set.

On PostgreSQL each test works in a schema of its own (``options=-csearch_path=...``, as the other
tests do); "a new database" is that schema once the original has been renamed out of the way.
The restore time is printed (``pytest -s``), never asserted: timings belong in bench/.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import make_url, select

from screener import store
from screener.backup import BackupError, dump_tables, libpq_connection, url_schema
from screener.cli import main
from screener.clock import utcnow
from screener.db import Database, DatabaseUnavailable, make_engine, upgrade
from screener.models import AuditEvent, Screening, ScreeningVersion
from screener.store import audit as audit_store
from tests.conftest import BACKENDS, POSTGRESQL_ENV
from tests.store.factories import record

#: Screenings present before the writer starts: enough that the backup takes a moment.
SEEDED = 300
#: The writer must have acknowledged this many before the backup starts.
ACKNOWLEDGED_FIRST = 20
#: Every wait is bounded.
WAIT_S = 60.0


@dataclass
class Backend:
    """A migrated source database, and how to get a new, empty one to restore into."""

    name: str
    url: str
    tmp_path: Path
    _retired: list[str] = field(default_factory=list)

    def new_target(self) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.tmp_path / 'restored' / 'screener.db'}"
        # The original schema moves aside; the same URL then names a new, empty schema (as a new
        # database has an empty "public").
        schema = url_schema(make_url(self.url))
        retired = f"{schema}_old{len(self._retired)}"
        server = make_engine(os.environ[POSTGRESQL_ENV])
        try:
            with server.begin() as connection:
                connection.exec_driver_sql(f'ALTER SCHEMA "{schema}" RENAME TO "{retired}"')
                connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        finally:
            server.dispose()
        self._retired.append(retired)
        return self.url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
        upgrade(url)
        yield Backend("sqlite", url, tmp_path)
        return
    server = os.environ[POSTGRESQL_ENV]
    schema = f"screener_backup_{secrets.token_hex(4)}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    found = Backend("postgresql", url, tmp_path)
    try:
        upgrade(url)
        yield found
    finally:
        with admin.begin() as connection:
            for name in (schema, *found._retired):
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


def screener(*arguments: str, url: str) -> Result:
    return CliRunner().invoke(main, list(arguments), env={"SCREENER_DATABASE_URL": url})


def complete_one(database: Database) -> str:
    """One screening completed through the store, with its audit event; its code once committed."""
    with database.write() as session:
        now = utcnow()
        draft, _token = store.create_draft(session, language="en", jurisdiction="US", now=now, lifetime=timedelta(1))
        screening = store.complete_draft(session, draft, record=record(), now=now)
        audit_store.record(
            session,
            action="screening.create",
            now=now,
            actor_label="test:writer",
            object_type="screening",
            object_id=screening.id,
        )
        return screening.reference_code


def seed(database: Database, count: int) -> None:
    with database.write() as session:
        for _ in range(count):
            now = utcnow()
            draft, _token = store.create_draft(
                session, language="en", jurisdiction="US", now=now, lifetime=timedelta(1)
            )
            screening = store.complete_draft(session, draft, record=record(), now=now)
            audit_store.record(
                session, action="screening.create", now=now, actor_label="test:seed", object_id=screening.id
            )


class Writer(threading.Thread):
    """Completes screenings one transaction at a time until stopped; keeps the acknowledged codes."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.database = Database(url)
        self.acknowledged: list[str] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.acknowledged.append(complete_one(self.database))
                except DatabaseUnavailable as error:  # a write the backup blocked: it must not happen
                    self.failures.append(str(error))
                time.sleep(0.001)
        finally:
            self.database.dispose()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_S
        while len(self.acknowledged) < count and self.is_alive():
            assert time.monotonic() < deadline, f"the writer acknowledged only {len(self.acknowledged)}"
            time.sleep(0.01)

    def finish(self) -> None:
        self.stop.set()
        self.join(WAIT_S)
        assert not self.is_alive(), "the writer did not stop"


def restored_codes(url: str) -> tuple[set[str], int, int]:
    database = Database(url)
    try:
        with database.read() as session:
            codes = set(session.scalars(select(Screening.reference_code)))
            versions = len(session.scalars(select(ScreeningVersion.id)).all())
            events = len(session.scalars(select(AuditEvent.id)).all())
            return codes, versions, events
    finally:
        database.dispose()


def test_a_backup_under_write_load_restores_every_acknowledged_screening(backend: Backend) -> None:
    database = Database(backend.url)
    seed(database, SEEDED)
    database.dispose()
    writer = Writer(backend.url)
    writer.start()
    try:
        writer.wait_for(ACKNOWLEDGED_FIRST)
        acknowledged = list(writer.acknowledged)  # every one committed before the backup starts
        path = backend.tmp_path / "screener.backup"
        backed_up = screener("db", "backup", str(path), url=backend.url)
        during = len(writer.acknowledged) - len(acknowledged)
        writer.wait_for(len(writer.acknowledged) + 5)  # the app kept writing after the backup too
    finally:
        writer.finish()
    assert backed_up.exit_code == 0, backed_up.output
    assert writer.failures == [], "writes failed while the backup ran"
    assert os.stat(path).st_mode & 0o077 == 0, "a backup holds patient data: readable by its owner only"

    target = backend.new_target()
    restored = screener("db", "restore", str(path), url=target)
    assert restored.exit_code == 0, restored.output
    assert "audit trail intact" in restored.output
    codes, versions, events = restored_codes(target)
    missing = set(acknowledged) - codes
    assert missing == set(), f"{len(missing)} acknowledged screenings are not in the backup"
    assert versions == len(codes), "every restored screening has its version"
    assert events >= SEEDED + len(acknowledged)
    verified = screener("audit", "verify", url=target)
    assert verified.exit_code == 0, verified.output
    print(  # the figure for the note (pytest -s)
        f"\n[{backend.name}] {len(codes)} screenings, {during} written during the backup; "
        + backed_up.output.strip().splitlines()[-1]
        + "\n  "
        + restored.output.strip().splitlines()[0]
    )


def test_a_restore_refuses_a_database_in_use_unless_forced(backend: Backend) -> None:
    database = Database(backend.url)
    seed(database, 3)
    database.dispose()
    path = backend.tmp_path / "screener.backup"
    assert screener("db", "backup", str(path), url=backend.url).exit_code == 0

    refused = screener("db", "restore", str(path), url=backend.url)
    assert refused.exit_code == 1
    assert "in use (3 screenings" in refused.output
    assert "--force" in refused.output

    database = Database(backend.url)
    complete_one(database)  # written after the backup: a forced restore goes back to the backup
    database.dispose()
    forced = screener("db", "restore", "--force", str(path), url=backend.url)
    assert forced.exit_code == 0, forced.output
    codes, _versions, _events = restored_codes(backend.url)
    assert len(codes) == 3
    assert screener("audit", "verify", url=backend.url).exit_code == 0


def test_a_migrated_empty_database_is_a_valid_target(backend: Backend) -> None:
    """`make run` or `screener db upgrade` may have prepared the new database already."""
    database = Database(backend.url)
    seed(database, 2)
    database.dispose()
    path = backend.tmp_path / "screener.backup"
    assert screener("db", "backup", str(path), url=backend.url).exit_code == 0
    target = backend.new_target()
    upgrade(target)
    restored = screener("db", "restore", str(path), url=target)
    assert restored.exit_code == 0, restored.output
    assert restored_codes(target)[0] != set()


def test_a_backup_never_replaces_a_file_unless_forced(backend: Backend) -> None:
    path = backend.tmp_path / "screener.backup"
    path.write_bytes(b"yesterday's backup")
    refused = screener("db", "backup", str(path), url=backend.url)
    assert refused.exit_code == 1
    assert "exists" in refused.output
    assert path.read_bytes() == b"yesterday's backup"
    assert screener("db", "backup", "--force", str(path), url=backend.url).exit_code == 0
    assert not list(backend.tmp_path.glob(".*.partial")), "no partial file is left behind"


def test_a_file_that_is_not_a_backup_is_refused(backend: Backend, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(b"not a database at all" * 100)
    result = screener("db", "restore", str(bogus), url=backend.new_target())
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ")


def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    result = screener("db", "backup", str(tmp_path / "out.backup"), url=f"sqlite:///{tmp_path / 'absent.db'}")
    assert result.exit_code == 1
    assert "no database at" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_libpq_connection_keeps_the_password_out_of_the_command_line() -> None:
    url = make_url("postgresql+psycopg://screener:s3cret@db.internal:5433/clinic?sslmode=require")
    conninfo, environment = libpq_connection(url)
    assert "s3cret" not in conninfo
    assert environment["PGPASSWORD"] == "s3cret"
    for part in ("host=db.internal", "port=5433", "dbname=clinic", "user=screener", "sslmode=require"):
        assert part in conninfo
    assert url_schema(make_url("postgresql://u@h/d?options=-csearch_path%3Dscreener_x")) == "screener_x"
    assert url_schema(url) is None


def test_a_dump_without_our_tables_is_not_a_backup(tmp_path: Path) -> None:
    empty = tmp_path / "empty.dump"
    empty.write_bytes(b"")
    with pytest.raises(BackupError, match="is empty"):
        dump_tables(empty)
