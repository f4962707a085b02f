"""Fill a database with many completed screenings, for the staff-queue benchmark.

    .venv/bin/python bench/seed_queue.py --rows 1000000 --url sqlite:////tmp/queue.db

The database is migrated first. Rows look like a busy clinic's: outcomes in realistic
proportions, about 2 % urgent, most unreviewed, created over two years. Only the `screening`
table is filled (the queue reads nothing else); each row has one small version so that the
detail page of any row works too, for the first 1,000 rows.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

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


def reference_code(number: int) -> str:
    """A unique code per row number (the benchmark needs uniqueness, not secrecy)."""
    symbols = []
    for _ in range(8):
        number, digit = divmod(number, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[digit])
    code = "".join(reversed(symbols))
    return f"{code[:4]}-{code[4:]}"


def weighted(choices: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def rows(start: int, count: int, now: datetime, rng: random.Random) -> list[dict[str, object]]:
    batch = []
    for number in range(start, start + count):
        outcome = weighted(OUTCOMES, rng)
        created = now - SPAN * rng.random()
        batch.append(
            {
                "id": number + 1,
                "reference_code": reference_code(number),
                "status": "completed",
                "current_version": 1,
                "outcome": outcome,
                "urgent": outcome == "URGENT_HELP",
                "review_status": weighted(REVIEW_STATUSES, rng),
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


def seed(url: str, total: int, *, seed_value: int = 7) -> float:
    """Migrate, insert ``total`` screenings in batches; returns the seconds it took."""
    upgrade(url)
    database = Database(url)
    rng = random.Random(seed_value)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    started = time.perf_counter()
    try:
        for start in range(0, total, BATCH):
            batch = rows(start, min(BATCH, total - start), now, rng)
            with database.write() as session:
                session.execute(insert(Screening), batch)
                if start < 1000:
                    session.execute(insert(ScreeningVersion), [version(row) for row in batch[:1000]])
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
