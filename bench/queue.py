"""Benchmark: the clinician queue with 1,000 and with 1,000,000 stored screenings, in the same run.

Seeds two fresh SQLite databases in a temporary folder with ``bench/seed_queue.py`` (1,000 and
1,000,000 screenings; ``--rows`` sets the larger size, ``--quick`` makes it 100,000), creates a
clinician account in each and signs in through ``POST /staff/login`` with the Flask test client
(in-process: no server, no network). Then, interleaved request by request (small and large take
turns, in alternating order, so that machine drift affects both alike), it times:

- the first page, ``GET /staff/queue``;
- a filtered page, ``GET /staff/queue?outcome=CLINICIAN_REVIEW&review_status=unreviewed``;
- a deep page: page 31 of the unfiltered queue, reached by following the "Next page" link 30
  times (the small database holds 40 pages of 25, so page 51 would not exist there).

Each figure is the median time of one request in milliseconds; the ratio large / small is the
figure that matters. A page costs the same to render at both sizes, so the ratio shows whether the
query grows with the table (it should not: keyset pages on the queue indexes, no OFFSET, no
COUNT). Goal: every ratio at most 1.5. Every timed response must be a 200 that lists screenings.
The SELECT each page sends is captured: its plan is printed (``EXPLAIN QUERY PLAN`` on SQLite), to
show the index it walks and that nothing is sorted, and it is also timed alone (run directly on a
connection, the sizes taking turns again) to tell the query's share from the page's.

With ``SCREENER_BENCH_POSTGRESQL_URL`` set (for example
``postgresql+psycopg://root@127.0.0.1:5432/test``) it does the same on PostgreSQL, in two new
schemas of that database (``VACUUM ANALYZE``-d after seeding, as autovacuum would; dropped at the
end, also on error); otherwise it says that PostgreSQL was skipped.

Run it with ``.venv/bin/python bench/queue.py``: about 70 s on SQLite (a third of it seeding),
about 2 min with PostgreSQL too; ``--quick`` (100,000 rows, 60 requests per page and size) about
15 s; ``--json`` prints the figures as one JSON object (progress and the verdicts then go to
standard error). Exit status 0 once it has measured (benchmarks report, tests assert), 1 with a
message when the setup fails. The temporary folder is deleted, the PostgreSQL schemas dropped and
every engine disposed on the way out, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the standard library's queue module, which the screener's dependencies
# import, and Python puts a script's own folder first on sys.path: move that folder to the end (a stable
# sort), so that `import queue` finds the standard library and seed_queue, beside this file, still imports.
sys.path.append(str(Path(__file__).resolve().parent))
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

import argparse
import gc
import html
import json
import os
import platform
import re
import secrets
import signal
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from seed_queue import seed
from sqlalchemy import Engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.test import TestResponse

from screener.app import create_app
from screener.auth import Role, create_account
from screener.clock import utcnow
from screener.db import Database, make_engine

GOAL_RATIO = 1.5
SMALL_ROWS = 1_000
LARGE_ROWS = 1_000_000
QUICK_LARGE_ROWS = 100_000
#: "Next page" links followed for the deep page; the small database has 40 pages of 25.
DEEP_FOLLOWS = 30
POSTGRESQL_ENV = "SCREENER_BENCH_POSTGRESQL_URL"
USERNAME = "bench.clinician"
FIRST = "/staff/queue"
FILTERED = "/staff/queue?outcome=CLINICIAN_REVIEW&review_status=unreviewed"
PAGES = ("first", "filtered", "deep")
PAGE_LABELS = {
    "first": "first page",
    "filtered": "filtered page",
    "deep": f"page {DEEP_FOLLOWS + 1}",
}

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')
ROW = re.compile(rb'<a class="reference" href="')
#: The queue's SELECT, as SQLAlchemy renders queue_query() on both backends.
QUEUE_SELECT = re.compile(r"\bFROM screening\b.*\bORDER BY screening\.urgent DESC", re.DOTALL)


@dataclass(frozen=True)
class Plan:
    requests: int  # timed requests per page and size
    warmup: int  # untimed requests per page and size first (templates compiled, pages cached)


FULL = Plan(requests=200, warmup=20)
QUICK = Plan(requests=60, warmup=10)


#: Milliseconds, by page ("first", "filtered", "deep") and size ("small", "large").
Samples = dict[str, dict[str, list[float]]]
#: A statement as the app sent it to the driver, and its parameters.
Query = tuple[str, Any]


class SetupFailed(Exception):
    """The databases, the account or the pages could not be prepared: nothing was measured."""


# --- Databases ----------------------------------------------------------------------------


def prepare_database(url: str, rows: int, password: str) -> float:
    """Seed ``rows`` screenings (returns the seconds that took) and add the clinician."""
    seconds = seed(url, rows)
    database = Database(url)
    try:
        with database.write() as session:
            create_account(
                session,
                username=USERNAME,
                display_name="Bench Clinician",
                role=Role.CLINICIAN.value,
                password=password,
                now=utcnow(),
                actor_label="bench",
            )
            stored = session.execute(text("SELECT count(*) FROM screening")).scalar_one()
        if stored != rows:
            raise SetupFailed(f"the seeded database holds {stored:,} screenings, not {rows:,}")
        if database.engine.dialect.name == "postgresql":
            # Statistics and visibility map as autovacuum would leave them, so it does not start mid-run.
            with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE screening")
    finally:
        database.dispose()
    return seconds


@contextmanager
def postgresql_schemas(server: str, names: tuple[str, ...]) -> Iterator[list[str]]:
    """New schemas on ``server``, one URL each (search_path), dropped on the way out."""
    admin = make_engine(server)
    created: list[str] = []
    try:
        try:
            with admin.begin() as connection:
                for name in names:
                    connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
                    created.append(name)
        except SQLAlchemyError as error:
            raise SetupFailed(f"cannot create a schema on {POSTGRESQL_ENV}: {error}") from error
        urls = []
        for name in names:
            url = make_url(server).update_query_dict({"options": f"-csearch_path={name}"})
            urls.append(url.render_as_string(hide_password=False))
        yield urls
    finally:
        if created:
            with admin.begin() as connection:
                for name in created:
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


# --- The app, signed in -------------------------------------------------------------------


@dataclass
class Site:
    """One database behind its own app, with a signed-in clinician's client."""

    rows: int
    seed_seconds: float
    app: Flask
    client: FlaskClient
    paths: dict[str, str] = field(default_factory=dict)
    rows_shown: dict[str, int] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        database = self.app.extensions["screener.db"]
        assert isinstance(database, Database)
        return database.engine


def expect(response: TestResponse, status: int, what: str) -> TestResponse:
    if response.status_code != status:
        body = response.get_data(as_text=True)[:300]
        raise SetupFailed(f"{what} answered {response.status_code}, expected {status}: {body}")
    return response


def csrf_token(response: TestResponse, what: str) -> str:
    found = CSRF_META.search(response.get_data(as_text=True))
    if found is None:
        raise SetupFailed(f"{what} has no csrf-token meta tag")
    return found.group(1)


@contextmanager
def open_site(url: str, rows: int, seed_seconds: float, password: str) -> Iterator[Site]:
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ENV": "development",  # plain-HTTP cookies: the test client speaks http://
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    try:
        client = app.test_client()
        token = csrf_token(expect(client.get("/staff/login"), 200, "GET /staff/login"), "the sign-in page")
        form = {"csrf_token": token, "username": USERNAME, "password": password}
        signed_in = expect(client.post("/staff/login", data=form), 302, "POST /staff/login")
        # As a browser would: the staff page after sign-in, with the new session's CSRF token.
        csrf_token(expect(client.get(signed_in.headers["Location"]), 200, "the staff home page"), "the staff home page")
        site = Site(rows, seed_seconds, app, client)
        site.paths = {"first": FIRST, "filtered": FILTERED, "deep": deep_path(client)}
        for page, path in site.paths.items():
            site.rows_shown[page] = listed(expect(client.get(path), 200, f"GET {path}"), f"GET {path}")
        yield site
    finally:
        app.extensions["screener.db"].dispose()


def deep_path(client: FlaskClient) -> str:
    path = FIRST
    for follow in range(DEEP_FOLLOWS):
        page = expect(client.get(path), 200, f"GET {path}").get_data(as_text=True)
        found = NEXT_LINK.search(page)
        if found is None:
            raise SetupFailed(f"page {follow + 1} of the queue has no next page: too few screenings")
        path = html.unescape(found.group(1))
    return path


def listed(response: TestResponse, what: str) -> int:
    """Screenings on the page; a page without any is a setup error, not a fast page."""
    count = len(ROW.findall(response.get_data()))
    if count == 0:
        raise SetupFailed(f"{what} lists no screenings")
    return count


# --- Measurement --------------------------------------------------------------------------


def measure(small: Site, large: Site, plan: Plan) -> Samples:
    """Milliseconds per request: samples[page][size]; sizes take turns, in alternating order."""
    samples: Samples = {page: {"small": [], "large": []} for page in PAGES}
    sites = {"small": small, "large": large}
    for round_number in range(plan.warmup + plan.requests):
        gc.collect()  # garbage left by the previous round is not this round's cost
        order = ("small", "large") if round_number % 2 == 0 else ("large", "small")
        for page in PAGES:
            for size in order:
                site = sites[size]
                path = site.paths[page]
                started = time.perf_counter_ns()
                response = site.client.get(path)
                elapsed = time.perf_counter_ns() - started
                if response.status_code != 200:
                    raise SetupFailed(f"GET {path} ({site.rows:,} rows) answered {response.status_code} mid-run")
                listed(response, f"GET {path} ({site.rows:,} rows)")
                if round_number >= plan.warmup:
                    samples[page][size].append(elapsed / 1e6)
    return samples


def queue_queries(site: Site) -> dict[str, Query]:
    """Each page's queue SELECT and its parameters, captured as the app sends them to the driver."""
    captured: list[Query] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if QUEUE_SELECT.search(statement):
            captured.append((statement, parameters))

    queries: dict[str, Query] = {}
    for page in PAGES:
        captured.clear()
        event.listen(site.engine, "before_cursor_execute", capture)
        try:
            expect(site.client.get(site.paths[page]), 200, f"GET {site.paths[page]}")
        finally:
            event.remove(site.engine, "before_cursor_execute", capture)
        if len(captured) != 1:
            raise SetupFailed(f"expected one queue SELECT for GET {site.paths[page]}, saw {len(captured)}")
        queries[page] = captured[0]
    return queries


def measure_queries(sites: dict[str, Site], queries: dict[str, dict[str, Query]], plan: Plan) -> Samples:
    """Milliseconds per run of each captured SELECT alone, on one open connection per size, taking turns."""
    samples: Samples = {page: {"small": [], "large": []} for page in PAGES}
    with ExitStack() as stack:
        connections = {size: stack.enter_context(site.engine.connect()) for size, site in sites.items()}
        for round_number in range(plan.warmup + plan.requests):
            order = ("small", "large") if round_number % 2 == 0 else ("large", "small")
            for page in PAGES:
                for size in order:
                    statement, parameters = queries[size][page]
                    connection = connections[size]
                    started = time.perf_counter_ns()
                    found = connection.exec_driver_sql(statement, parameters).all()
                    elapsed = time.perf_counter_ns() - started
                    connection.rollback()  # a fresh snapshot each time, as each request has
                    if not found:
                        raise SetupFailed(f"the {PAGE_LABELS[page]} SELECT found no rows ({sites[size].rows:,} rows)")
                    if round_number >= plan.warmup:
                        samples[page][size].append(elapsed / 1e6)
    return samples


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            found = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            depth: dict[int, int] = {}
            lines = []
            for node, parent, _unused, detail in found:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + str(detail))
            return lines
        found = connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {statement}", parameters
        ).all()
        return [str(row[0]) for row in found]


# --- One backend --------------------------------------------------------------------------


def run_backend(backend: str, urls: tuple[str, str], large_rows: int, plan: Plan) -> dict[str, Any]:
    password = secrets.token_urlsafe(24)
    seconds = {}
    for url, rows in zip(urls, (SMALL_ROWS, large_rows), strict=True):
        progress(f"{backend}: seeding {rows:,} screenings ...")
        seconds[rows] = prepare_database(url, rows, password)
        progress(f"{backend}: seeded {rows:,} in {seconds[rows]:.1f} s")
    with ExitStack() as stack:
        small = stack.enter_context(open_site(urls[0], SMALL_ROWS, seconds[SMALL_ROWS], password))
        large = stack.enter_context(open_site(urls[1], large_rows, seconds[large_rows], password))
        for page in PAGES:
            if small.rows_shown[page] != large.rows_shown[page]:
                raise SetupFailed(
                    f"the {PAGE_LABELS[page]} lists {small.rows_shown[page]} screenings at {SMALL_ROWS:,} "
                    f"and {large.rows_shown[page]} at {large_rows:,}: not the same page to compare"
                )
        progress(f"{backend}: measuring {plan.requests} requests per page and size ...")
        samples = measure(small, large, plan)
        sites = {"small": small, "large": large}
        queries = {size: queue_queries(site) for size, site in sites.items()}
        progress(f"{backend}: timing the queue SELECT alone ...")
        query_samples = measure_queries(sites, queries, plan)
        plans = {
            size: {page: explain(site.engine, *queries[size][page]) for page in PAGES} for size, site in sites.items()
        }
        return summarise_backend(backend, small, large, samples, query_samples, plans, urls)


def summarise_backend(
    backend: str,
    small: Site,
    large: Site,
    samples: Samples,
    query_samples: Samples,
    plans: dict[str, dict[str, list[str]]],
    urls: tuple[str, str],
) -> dict[str, Any]:
    pages: dict[str, Any] = {}
    for page in PAGES:
        figures: dict[str, Any] = {}
        for size, values in samples[page].items():
            deciles = statistics.quantiles(values, n=10)
            figures[f"{size}_ms"] = round(statistics.median(values), 3)
            figures[f"{size}_p10_p90_ms"] = [round(deciles[0], 3), round(deciles[-1], 3)]
            figures[f"query_{size}_ms"] = round(statistics.median(query_samples[page][size]), 4)
        figures["ratio"] = round(median_ratio(samples[page]), 3)
        figures["goal_met"] = figures["ratio"] <= GOAL_RATIO
        figures["query_ratio"] = round(median_ratio(query_samples[page]), 2)
        figures["path"] = small.paths[page] if page != "deep" else f"{FIRST}?after=... ({DEEP_FOLLOWS} links followed)"
        figures["rows_on_page"] = small.rows_shown[page]
        figures["plan_small"] = plans["small"][page]
        figures["plan_large"] = plans["large"][page]
        pages[page] = figures
    version = sqlite3.sqlite_version if backend == "SQLite" else server_version(large.engine)
    result: dict[str, Any] = {
        "backend": backend,
        "version": version,
        "small_rows": small.rows,
        "large_rows": large.rows,
        "seed_seconds": {"small": round(small.seed_seconds, 2), "large": round(large.seed_seconds, 2)},
        "pages": pages,
    }
    if backend == "SQLite":
        sizes = [Path(make_url(url).database or "").stat().st_size for url in urls]
        result["file_bytes"] = {"small": sizes[0], "large": sizes[1]}
    return result


def median_ratio(samples: dict[str, list[float]]) -> float:
    return statistics.median(samples["large"]) / statistics.median(samples["small"])


def server_version(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.exec_driver_sql("SHOW server_version").scalar_one())


# --- Report -------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"Clinician queue at {SMALL_ROWS:,} and at {figures['large_rows']:,} stored screenings ({figures['mode']}): "
        "Flask test client in-process, one signed-in clinician,",
        f"{figures['requests']} timed requests per page and size after {figures['warmup']} warm-up ones, the two sizes "
        "taking turns; median ms per request (p10-p90)",
    ]
    for result in figures["backends"]:
        small, large = result["small_rows"], result["large_rows"]
        lines += ["", f"{result['backend']} {result['version']}"]
        seeded = f"  seeded {small:,} screenings in {result['seed_seconds']['small']:.1f} s, "
        seeded += f"{large:,} in {result['seed_seconds']['large']:.1f} s (bench/seed_queue.py)"
        if "file_bytes" in result:
            seeded += (
                f"; files {result['file_bytes']['small'] / 1e6:.1f} MB and {result['file_bytes']['large'] / 1e6:.1f} MB"
            )
        lines.append(seeded)
        lines.append(f"  {'page':<16}{'rows':>5}{f'{small:,} rows':>24}{f'{large:,} rows':>24}{'large/small':>13}")
        for page, found in result["pages"].items():
            cells = []
            for size in ("small", "large"):
                low, high = found[f"{size}_p10_p90_ms"]
                cells.append(f"{found[f'{size}_ms']:>7.2f} ({low:.2f}-{high:.2f})")
            verdict = "GOAL MET" if found["goal_met"] else "GOAL MISSED"
            lines.append(
                f"  {PAGE_LABELS[page]:<16}{found['rows_on_page']:>5}{cells[0]:>24}{cells[1]:>24}"
                f"{found['ratio']:>10.2f}   {verdict}"
            )
        lines.append(
            "  the same pages' queue SELECT alone, as captured, run directly (median ms; not part of the goal):"
        )
        for page, found in result["pages"].items():
            lines.append(
                f"  {PAGE_LABELS[page]:<16}{'':>5}{found['query_small_ms']:>24.3f}{found['query_large_ms']:>24.3f}"
                f"{found['query_ratio']:>10.2f}"
            )
        lines.append(f"  first page: {FIRST}; filtered page: {FILTERED};")
        lines.append(
            f'  page {DEEP_FOLLOWS + 1}: the unfiltered queue after following "Next page" {DEEP_FOLLOWS} times'
        )
        what = "EXPLAIN QUERY PLAN" if result["backend"] == "SQLite" else "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
        lines.append(f"  Plans of the queue SELECT each page sends ({what}):")
        for page, found in result["pages"].items():
            if found["plan_small"] == found["plan_large"]:
                lines.append(f"    {PAGE_LABELS[page]} (both sizes):")
                lines += [f"      {line}" for line in found["plan_large"]]
            else:
                for size, rows in (("small", small), ("large", large)):
                    lines.append(f"    {PAGE_LABELS[page]} ({rows:,} rows):")
                    lines += [f"      {line}" for line in found[f"plan_{size}"]]
    if figures["postgresql_skipped"]:
        lines += ["", f"PostgreSQL: skipped ({POSTGRESQL_ENV} is not set)"]
    lines += [
        "",
        f"Goal: large / small at most {GOAL_RATIO:g} for every page. A page of 25 costs the same to render at both",
        "sizes: the ratio shows whether the query grows with the table (it should not: keyset pages on the queue",
        "indexes, no sort, no OFFSET, no COUNT).",
    ]
    return "\n".join(lines)


def verdicts(figures: dict[str, Any]) -> list[str]:
    lines = []
    for result in figures["backends"]:
        for page, found in result["pages"].items():
            label = f"{result['backend']} {PAGE_LABELS[page]} {result['large_rows']:,}/{result['small_rows']:,}"
            verdict = "GOAL MET" if found["goal_met"] else "GOAL MISSED"
            lines.append(f"{label:<44}{found['ratio']:>6.2f}   {verdict}")
    return lines


# --- Main ---------------------------------------------------------------------------------


def run(plan: Plan, mode: str, large_rows: int, postgresql: str | None) -> dict[str, Any]:
    results = []
    with ExitStack() as stack:
        schemas: list[str] = []
        if postgresql:  # first, so that a wrong URL fails before a minute of SQLite work
            tag = secrets.token_hex(4)
            names = (f"screener_bench_{tag}_small", f"screener_bench_{tag}_large")
            schemas = stack.enter_context(postgresql_schemas(postgresql, names))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="screener-bench-queue-")))
        sqlite_urls = (f"sqlite:///{tmp / 'small.db'}", f"sqlite:///{tmp / 'large.db'}")
        results.append(run_backend("SQLite", sqlite_urls, large_rows, plan))
        if schemas:
            results.append(run_backend("PostgreSQL", (schemas[0], schemas[1]), large_rows, plan))
    return {
        "mode": mode,
        "requests": plan.requests,
        "warmup": plan.warmup,
        "small_rows": SMALL_ROWS,
        "large_rows": large_rows,
        "goal_ratio": GOAL_RATIO,
        "goal_met": all(found["goal_met"] for result in results for found in result["pages"].values()),
        "backends": results,
        "postgresql_skipped": not postgresql,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def _terminate(signum: int, _frame: FrameType | None) -> None:
    print(f"bench/queue.py: stopped by signal {signum}, cleaning up", file=sys.stderr)
    raise SystemExit(128 + signum)  # unwinds through the blocks that drop the schemas and the folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_LARGE_ROWS:,} rows for the larger database")
    parser.add_argument("--rows", type=int, help=f"rows in the larger database (default {LARGE_ROWS:,})")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    plan, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    large_rows = args.rows if args.rows is not None else QUICK_LARGE_ROWS if args.quick else LARGE_ROWS
    minimum = (DEEP_FOLLOWS + 2) * 25
    if large_rows < minimum:
        parser.error(f"--rows must be at least {minimum:,}: the deep page needs {DEEP_FOLLOWS + 1} full pages")
    postgresql = os.environ.get(POSTGRESQL_ENV) or None
    signal.signal(signal.SIGTERM, _terminate)
    with suppress(AttributeError):  # not on every platform
        signal.signal(signal.SIGHUP, _terminate)
    try:
        figures = run(plan, mode, large_rows, postgresql)
    except (SetupFailed, SQLAlchemyError, OSError) as failed:
        print(f"bench/queue.py: setup failed, nothing measured: {failed}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
        print("\n".join(verdicts(figures)), file=sys.stderr)
    else:
        print(report(figures))
        print("\n".join(verdicts(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
