"""Engine and session lifecycle: SQLite pragmas, ``BEGIN IMMEDIATE`` for writes, migrations.

SQLite by default (one server), PostgreSQL through ``SCREENER_DATABASE_URL`` for several.
Views use ``get_db().read()`` or ``get_db().write()``; a database that is locked, full or
unreachable raises :class:`DatabaseUnavailable`, which the web layer answers with 503.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
EXTENSION_KEY = "screener.db"
#: How long a writer waits for a lock before giving up (SQLite busy_timeout, PostgreSQL lock_timeout):
#: well under gunicorn's 30 s worker timeout, so a stuck lock gives a 503 rather than a killed worker.
DEFAULT_BUSY_TIMEOUT_MS = 5000
#: Connection execution option read by the SQLite "begin" hook.
IMMEDIATE = "sqlite_immediate"


class DatabaseUnavailable(RuntimeError):
    """The database cannot serve the request now (locked, full, unreachable); try again later."""


def make_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for SQLite or PostgreSQL (``postgresql://`` URLs get the psycopg 3 driver).

    Statement parameters are hidden from error messages and logs: they hold patient answers.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, hide_parameters=True, pool_pre_ping=parsed.get_backend_name() == "postgresql")
    if engine.dialect.name == "sqlite":
        _sqlite_hooks(engine, busy_timeout_ms)
    elif engine.dialect.name == "postgresql":
        _postgresql_hooks(engine, busy_timeout_ms)
    return engine


def _sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLAlchemy's documented pysqlite recipe: sqlite3 stops emitting BEGIN, we emit our own."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN; pragmas below run outside a transaction
        for pragma in (
            f"busy_timeout = {int(busy_timeout_ms)}",  # first: switching to WAL may itself wait for a lock
            "journal_mode = WAL",  # readers never block the writer, nor the writer readers
            "foreign_keys = ON",
            "synchronous = NORMAL",  # durable across process crashes in WAL mode, fewer fsyncs
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A deferred BEGIN that later writes fails with "database is locked" when another writer got in
        # first, without waiting; BEGIN IMMEDIATE takes the write lock up front and honours busy_timeout.
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgresql_hooks(engine: Engine, lock_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Like SQLite's busy_timeout: a row or table lock held too long gives an error, not a hung worker.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        dbapi_connection.commit()


class Database:
    """An engine and its sessions; open a session with :meth:`read` or :meth:`write`."""

    def __init__(self, url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        # Objects stay readable after commit: views render what they just wrote without reloading it.
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        # Every transaction of a writer begins IMMEDIATE on SQLite, also one begun again after a rollback.
        self._writers = sessionmaker(self.engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session in a deferred transaction that is rolled back at the end: reads never commit."""
        with _unavailable_on_outage(), self._readers() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any exception.

        On SQLite it begins with BEGIN IMMEDIATE, so read-then-write cannot fail half-way with
        "database is locked"; on PostgreSQL take row locks explicitly (``store.lock_draft``).
        """
        with _unavailable_on_outage(), self._writers() as session:
            session.connection()  # begin now: the write lock is held for the whole block
            yield session
            session.commit()  # skipped on an exception: closing the session then rolls back

    def dispose(self) -> None:
        """Close every pooled connection (tests, and before a process forks)."""
        self.engine.dispose()


@contextmanager
def _unavailable_on_outage() -> Iterator[None]:
    try:
        yield
    except OperationalError as error:
        # SQLite reports bad SQL and missing tables as OperationalError with the generic SQLITE_ERROR
        # code: that is a bug to see as a 500, not an outage (PostgreSQL raises ProgrammingError there).
        code = getattr(error.orig, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == sqlite3.SQLITE_ERROR:
            raise
        raise DatabaseUnavailable(f"database unavailable: {error.orig}") from error


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the package's migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url  # not a main option: those are %-interpolated
    return config


def upgrade(url: str) -> None:
    """Apply every migration up to the newest (idempotent); creates a SQLite file's folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def default_instance_path() -> str:
    """``instance/`` beside the package in a source checkout, else in the working directory."""
    checkout = Path(__file__).resolve().parent.parent
    base = checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
    return str(base / "instance")


def default_database_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'screener.db'}"


def database_url_from_env(instance_path: str, environ: Mapping[str, str] | None = None) -> str:
    """``SCREENER_DATABASE_URL`` if set, else the SQLite file in the instance folder."""
    environ = os.environ if environ is None else environ
    return environ.get("SCREENER_DATABASE_URL") or default_database_url(instance_path)


def init_app(app: Flask) -> Database:
    """Give the app a Database for ``app.config["DATABASE_URL"]``; migrations are not run here."""
    database = Database(app.config["DATABASE_URL"])
    app.extensions[EXTENSION_KEY] = database
    return database


def get_db() -> Database:
    """The current app's Database (inside a request or app context)."""
    from flask import current_app

    database = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(database, Database):
        raise RuntimeError("screener.db.init_app(app) has not been called for this app")
    return database
