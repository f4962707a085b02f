"""Fill a database with many completed screenings, for the staff-queue benchmark.

    .venv/bin/python bench/seed_queue.py --rows 1000000 --url sqlite:////tmp/queue.db

The database is migrated first. Rows look like a busy clinic's: outcomes in realistic
proportions, about 2 % urgent, most unreviewed, created over two years. Only the `screening`
table is filled (the queue reads nothing else); each row has one small version so that the
detail page of any row works too, for the first 1,000 rows.

For speed, the table's secondary indexes (every index that does not back a constraint) are
dropped before the load and created again after it from their own stored definitions, so the
result is the same schema as the migrations make; SQLite loads with a large page cache and
without syncing (a scratch database), and ends with its write-ahead log checkpointed and emptied.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection, Table, event, insert, text

from screener.db import Database, upgrade
from screener.models import Screening, ScreeningVersion
from screener.store import CODE_ALPHABET

OUTCOMES = (
    ("DISCUSSION_APPROPRIATE", 30),
    ("CLINICIAN_REVIEW", 35),
    ("OTHER_TREATMENTS_FIRST", 20),
    ("NOT_APPROPRIATE_NOW", 13),
    ("URGENT_HELP", 2),
)
REVIEW_STATUSES = (("unreviewed", 70), ("agreed", 25), ("disagreed", 5))
BATCH = 10_000
SPAN = timedelta(days=730)
VERSIONED_ROWS = 1000
#: SQLite page cache while loading, in KiB (negative: a size rather than a page count).
SQLITE_LOAD_CACHE_KIB = 512 * 1024


def reference_code(number: int) -> str:
    """A unique code per row number (the benchmark needs uniqueness, not secrecy)."""
    symbols = []
    for _ in range(8):
        number, digit = divmod(number, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[digit])
    code = "".join(reversed(symbols))
    return f"{code[:4]}-{code[4:]}"


def _draw(choices: tuple[tuple[str, int], ...], rng: random.Random, count: int) -> list[str]:
    values = [value for value, _ in choices]
    return rng.choices(values, cum_weights=list(accumulate(weight for _, weight in choices)), k=count)


def rows(start: int, count: int, now: datetime, rng: random.Random) -> list[dict[str, object]]:
    outcomes = _draw(OUTCOMES, rng, count)
    statuses = _draw(REVIEW_STATUSES, rng, count)
    batch: list[dict[str, object]] = []
    for offset, (outcome, review_status) in enumerate(zip(outcomes, statuses, strict=True)):
        number = start + offset
        created = now - SPAN * rng.random()
        batch.append(
            {
                "id": number + 1,
                "reference_code": reference_code(number),
                "status": "completed",
                "current_version": 1,
                "outcome": outcome,
                "urgent": outcome == "URGENT_HELP",
                "review_status": review_status,
                "created_at": created,
                "updated_at": created,
            }
        )
    return batch


def version(screening: dict[str, object]) -> dict[str, object]:
    return {
        "screening_id": screening["id"],
        "number": 1,
        "author_role": "patient",
        "author_id": None,
        "source": "self",
        "answers": {"completed_by": "self"},
        "discarded": [],
        "outcome": screening["outcome"],
        "underlying_outcome": screening["outcome"],
        "warnings": [],
        "language": "en",
        "clinician_notes": [],
        "fired_rules": [],
        "ruleset_version": "2026.11-draft.1",
        "ruleset_hash": "sha256:seed",
        "jurisdiction": "US",
        "config": {},
        "created_at": screening["created_at"],
    }


def secondary_indexes(connection: Connection) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of each screening index that backs no constraint."""
    if connection.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'screening' AND sql NOT NULL"
    elif connection.dialect.name == "postgresql":
        query = (
            "SELECT i.indexname, i.indexdef FROM pg_indexes AS i WHERE i.schemaname = current_schema() "
            "AND i.tablename = 'screening' AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c "
            "WHERE c.conrelid = 'screening'::regclass AND c.conname = i.indexname)"
        )
    else:
        return []
    return [(str(name), str(sql)) for name, sql in connection.execute(text(query))]


def _load_quickly(dbapi_connection: Any, _record: Any) -> None:
    """SQLite, after the app's own connection settings: a scratch database needs no syncing."""
    dbapi_connection.execute("PRAGMA synchronous = OFF")
    dbapi_connection.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")


def seed(url: str, total: int, *, seed_value: int = 7) -> float:
    """Migrate, insert ``total`` screenings in batches; returns the seconds it took."""
    upgrade(url)
    database = Database(url)
    sqlite = database.engine.dialect.name == "sqlite"
    if sqlite:
        event.listen(database.engine, "connect", _load_quickly)
    rng = random.Random(seed_value)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    table = Screening.__table__
    assert isinstance(table, Table)
    started = time.perf_counter()
    try:
        with database.write() as session:
            indexes = secondary_indexes(session.connection())
            for name, _ in indexes:
                session.execute(text(f'DROP INDEX "{name}"'))
        try:
            for start in range(0, total, BATCH):
                batch = rows(start, min(BATCH, total - start), now, rng)
                with database.write() as session:
                    session.execute(insert(table), batch)
                    if start < VERSIONED_ROWS:
                        session.execute(insert(ScreeningVersion), [version(row) for row in batch[:VERSIONED_ROWS]])
        finally:
            with database.write() as session:
                for _, create in indexes:
                    session.execute(text(create))
        if sqlite:  # readers then find every page in the database file, none in the log
            raw = database.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
    finally:
        database.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of an empty database")
    args = parser.parse_args()
    seconds = seed(args.url, args.rows)
    print(f"seeded {args.rows:,} screenings in {seconds:.1f} s")


if __name__ == "__main__":
    main()
