"""Backup and restore times (security-reliability R-12: "restore time recorded").

    .venv/bin/python bench/backup.py                                   # SQLite, 100,000 screenings
    .venv/bin/python bench/backup.py --screenings 1000000 --audit-events 200000
    .venv/bin/python bench/backup.py --postgresql postgresql://root@127.0.0.1/screener_bench

Seeds a database (bench/seed_queue.py's screenings, and a chain of audit events recorded through
the store), then times `screener db backup`, and `screener db restore` into a new database with
its audit-chain check, as an operator would run them. On PostgreSQL it works in a schema of its
own on the given server, dropped at the end. Absolute times: there is no anchor for a restore.
"""

from __future__ import annotations

import sys
from pathlib import Path

# As in bench/queue.py: bench/queue.py would shadow the standard library's queue module (which psycopg
# imports) while this folder comes first on sys.path; put it last, where seed_queue still imports.
sys.path.append(str(Path(__file__).resolve().parent))
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

import argparse
import os
import secrets
import subprocess
import tempfile
import time

from seed_queue import seed
from sqlalchemy import make_url

from screener.clock import utcnow
from screener.db import Database, make_engine
from screener.store import audit

ROOT = Path(__file__).resolve().parent.parent


def add_audit_events(url: str, count: int) -> None:
    database = Database(url)
    try:
        for start in range(0, count, 5000):
            with database.write() as session:
                for number in range(start, min(count, start + 5000)):
                    audit.record(
                        session, action="screening.view", now=utcnow(), actor_label="bench", object_id=number + 1
                    )
    finally:
        database.dispose()


def screener(*arguments: str, url: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "screener"), *arguments],
        env={**os.environ, "SCREENER_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"screener {' '.join(arguments)} failed: {result.stderr or result.stdout}")
    return seconds, result.stdout.strip()


def run(url: str, target: str, folder: Path, screenings: int, events: int, retire: str | None) -> None:
    seeded = seed(url, screenings)
    started = time.perf_counter()
    add_audit_events(url, events)
    recorded = time.perf_counter() - started
    print(f"seeded {screenings:,} screenings in {seeded:.1f} s, {events:,} audit events in {recorded:.1f} s")
    path = folder / "screener.backup"
    seconds, output = screener("db", "backup", str(path), url=url)
    print(f"backup:  {seconds:6.2f} s wall  {path.stat().st_size / 1e6:8.1f} MB  | {output}")
    if retire:
        server = make_engine(os.environ.get("BENCH_SERVER", ""))  # set by main for PostgreSQL
        with server.begin() as connection:
            connection.exec_driver_sql(retire)
        server.dispose()
    seconds, output = screener("db", "restore", str(path), url=target)
    print(
        f"restore: {seconds:6.2f} s wall (copy, count, audit verify, process start) | {' | '.join(output.splitlines())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenings", type=int, default=100_000)
    parser.add_argument("--audit-events", type=int, default=20_000)
    parser.add_argument("--postgresql", help="a PostgreSQL server URL to work on, in a schema of its own")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if not args.postgresql:
            url = f"sqlite:///{folder / 'live.db'}"
            run(url, f"sqlite:///{folder / 'restored.db'}", folder, args.screenings, args.audit_events, None)
            return
        schema = f"screener_bench_{secrets.token_hex(4)}"
        os.environ["BENCH_SERVER"] = args.postgresql
        admin = make_engine(args.postgresql)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        in_schema = make_url(args.postgresql).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = in_schema.render_as_string(hide_password=False)
        retire = f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_old"; CREATE SCHEMA "{schema}"'
        try:
            run(rendered, rendered, folder, args.screenings, args.audit_events, retire)
        finally:
            with admin.begin() as connection:
                for name in (schema, f"{schema}_old"):
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            admin.dispose()


if __name__ == "__main__":
    main()
