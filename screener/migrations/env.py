"""Alembic environment: one code path for SQLite and PostgreSQL, run by ``screener.db.upgrade``.

The URL comes from ``config.attributes["database_url"]`` (set by ``screener.db.alembic_config``)
or, for a hand-written alembic.ini, the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import event

from screener.db import make_engine
from screener.models import Base

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL: use screener.db.upgrade(url) or set sqlalchemy.url")

engine = make_engine(url)
sqlite = engine.dialect.name == "sqlite"
if sqlite:
    # SQLite's procedure for altering tables (what batch mode does): foreign keys off while tables are
    # copied and dropped, else a DROP fires ON DELETE actions; then foreign_key_check before commit.
    @event.listens_for(engine, "connect")
    def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")


try:
    with engine.connect() as connection:
        # render_as_batch: SQLite cannot ALTER most things; batch mode recreates the table instead.
        # transactional_ddl: with the begin hook of screener.db, SQLite DDL is transactional too.
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise RuntimeError("the migration left rows whose foreign keys point nowhere")
finally:
    engine.dispose()
