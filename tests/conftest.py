"""Database fixtures shared by the store and web tests.

A test that takes ``database_url`` or ``database`` runs once per backend, and its ID says which:
``[sqlite]`` always, ``[postgresql]`` too when ``SCREENER_TEST_DATABASE_URL`` is set (CI sets it).
Each test starts from empty, fully migrated tables:

- SQLite: a fresh file per test, copied from one file migrated once per session;
- PostgreSQL: a schema of its own per session (so parallel runs against one server do not meet),
  migrated once, every table truncated before each test and the schema dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from screener.db import Database, make_engine, upgrade
from screener.models import Base

# One Chromium per run, for tests/browser and tests/live alike (Playwright's sync API allows one per thread).
from tests.browser.chromium import browser, chromium_executable, playwright  # noqa: F401

POSTGRESQL_ENV = "SCREENER_TEST_DATABASE_URL"
BACKENDS = ["sqlite", *(["postgresql"] if os.environ.get(POSTGRESQL_ENV) else [])]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, to copy (migrating every test's file would be slow)."""
    path = tmp_path_factory.mktemp("template") / "screener.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite file, for the tests that are about SQLite only."""
    path = tmp_path / "screener.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    """An engine on a new schema of ``SCREENER_TEST_DATABASE_URL``, migrated to head."""
    server = os.environ[POSTGRESQL_ENV]
    schema = f"screener_test_{secrets.token_hex(4)}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine.url.render_as_string(hide_password=False))
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty, migrated database on each backend in turn."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    engine: Engine = request.getfixturevalue("postgresql_engine")
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A Database on ``database_url``; its connections are closed after the test."""
    database = Database(database_url)
    yield database
    database.dispose()
