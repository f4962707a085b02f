"""The ruleset impact report over many stored screenings: rate, memory, and the ratio to evaluate().

    .venv/bin/python bench/impact.py                 # 1,000,000 screenings on SQLite
    .venv/bin/python bench/impact.py --quick         # 100,000
    .venv/bin/python bench/impact.py --rows 250000   # another size
    .venv/bin/python bench/impact.py --json          # one JSON object; verdicts go to standard error
    SCREENER_BENCH_POSTGRESQL_URL=postgresql+psycopg://root@127.0.0.1:5432/test_impact \\
      .venv/bin/python bench/impact.py               # SQLite, then PostgreSQL in a new schema

`bench/seed_queue.py` fills a fresh database with that many screenings, each with one stored version
(draft.1-shaped rows: the draft.1 -> draft.2 comparison). The report (`screener.impact.run`, as
`screener ruleset impact` runs it) then runs in a child process of its own, which measures its own
memory (PSS of itself and its workers, sampled every 0.1 s). In the same run, `parse_answers()` +
`evaluate()` alone, over the same stored answers and configuration in one process, give the ratio.
Goals: the report over all rows in at most 120 s, peak memory growth under 200 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, select

BENCH = Path(__file__).resolve().parent
# bench/queue.py would shadow the standard library's queue (multiprocessing needs it): not on the path.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]
sys.path.insert(0, str(BENCH.parent))
_spec = importlib.util.spec_from_file_location("seed_queue", BENCH / "seed_queue.py")
if _spec is None or _spec.loader is None:
    raise SystemExit("bench/seed_queue.py not found")
seed_queue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed_queue)

from screener.db import Database, make_engine  # noqa: E402
from screener.models import RulesetImpactReport, ScreeningVersion  # noqa: E402
from screener.rules import evaluate, parse_answers, parse_config  # noqa: E402

GOAL_SECONDS = 120.0
GOAL_MB = 200.0
EVALUATE_SAMPLE = 20_000


def _pss_kib(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them), in KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as status:
            for line in status:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


class MemorySampler(threading.Thread):
    """Every 0.1 s: the PSS of this process plus its worker processes; keeps the peak."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.pid = os.getpid()
        self.peak = 0
        self.finished = threading.Event()

    def sample(self) -> int:
        return _pss_kib(self.pid) + sum(_pss_kib(child) for child in _children(self.pid))

    def run(self) -> None:
        while not self.finished.wait(0.1):
            self.peak = max(self.peak, self.sample())


def _report_child(url: str, queue: Any) -> None:
    """Run the report; send back seconds, report id and the peak memory growth (KiB of PSS)."""
    from screener import impact
    from screener.clock import utcnow

    database = Database(url)
    with database.read() as session:  # connect and import everything first: growth is the report's
        session.execute(select(ScreeningVersion.id).limit(1)).all()
    sampler = MemorySampler()
    before = sampler.sample()
    sampler.start()
    started = time.perf_counter()
    report_id = impact.run(database, url, scope=impact.Scope(), now=utcnow)
    seconds = time.perf_counter() - started
    sampler.finished.set()
    sampler.join()
    database.dispose()
    queue.put({"seconds": seconds, "report_id": report_id, "before_kib": before, "peak_kib": sampler.peak})


def evaluate_rate(url: str) -> float:
    """parse_config + parse_answers + evaluate per second, one process, on stored versions."""
    database = Database(url)
    with database.read() as session:
        rows = session.execute(
            select(ScreeningVersion.answers, ScreeningVersion.config).order_by(ScreeningVersion.id).limit(2000)
        ).all()
    database.dispose()
    started = time.perf_counter()
    for number in range(EVALUATE_SAMPLE):
        answers, raw = rows[number % len(rows)]
        config = parse_config(dict(raw))
        evaluate(parse_answers(dict(answers), config), config)
    return EVALUATE_SAMPLE / (time.perf_counter() - started)


def measure(label: str, url: str, rows: int) -> dict[str, Any]:
    print(f"{label}: seeding {rows:,} screenings ...", file=sys.stderr)
    seed_queue.VERSIONED_ROWS = rows  # type: ignore[attr-defined] # a stored version for every screening, not only the first 1,000
    seeded = seed_queue.seed(url, rows)
    if make_url(url).get_backend_name() == "postgresql":
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
    print(f"{label}: seeded in {seeded:.1f} s; running the report ...", file=sys.stderr)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_report_child, args=(url, queue))
    child.start()
    result = queue.get()
    child.join()
    per_second = evaluate_rate(url)
    database = Database(url)
    with database.read() as session:
        report = session.get(RulesetImpactReport, result["report_id"])
        if report is None or report.status != "complete":
            raise SystemExit("the report did not complete")
        summary = dict(report.summary)
        counts = {"screenings": report.screenings, "affected": report.affected, "failed": report.failed}
        rulesets = [report.from_rulesets, report.to_ruleset_version]
    database.dispose()
    rate = counts["screenings"] / result["seconds"]
    growth_mb = max(0, result["peak_kib"] - result["before_kib"]) / 1024
    return {
        "backend": label,
        "rows": rows,
        "seed_seconds": round(seeded, 1),
        "report_seconds": round(result["seconds"], 1),
        "screenings_per_second": round(rate),
        "evaluate_per_second_one_process": round(per_second),
        "ratio_to_evaluate": round(rate / per_second, 2),
        "pss_before_mb": round(result["before_kib"] / 1024, 1),
        "pss_peak_mb": round(result["peak_kib"] / 1024, 1),
        "peak_growth_mb": round(growth_mb, 1),
        "rulesets": rulesets,
        **counts,
        "matrix": summary["matrix"],
        "warnings_added": dict(list(summary["warnings_added"].items())[:10]),
        "warnings_removed": dict(list(summary["warnings_removed"].items())[:10]),
        "flags_added": summary["flags_added"],
        "flags_removed": summary["flags_removed"],
        "time_goal_met": result["seconds"] * rows / max(counts["screenings"], 1) <= GOAL_SECONDS * rows / 1_000_000
        if rows < 1_000_000
        else result["seconds"] <= GOAL_SECONDS,
        "memory_goal_met": growth_mb < GOAL_MB,
    }


def show(figures: dict[str, Any]) -> None:
    print(f"\n== {figures['backend']}: {figures['rows']:,} screenings (seeded in {figures['seed_seconds']} s)")
    print(
        f"report: {figures['report_seconds']} s, {figures['screenings_per_second']:,} screenings/s; "
        f"evaluate() alone (one process): {figures['evaluate_per_second_one_process']:,}/s; "
        f"ratio {figures['ratio_to_evaluate']}"
    )
    print(
        f"peak memory growth: {figures['peak_growth_mb']} MB (PSS of the report process and its workers, "
        f"sampled every 0.1 s: {figures['pss_before_mb']} MB before, peak {figures['pss_peak_mb']} MB)"
    )
    print(f"rulesets: {figures['rulesets'][0]} -> {figures['rulesets'][1]}")
    print(f"affected: {figures['affected']:,}, could not be replayed: {figures['failed']:,}")
    print("outcome matrix (stored -> now):")
    for cell in figures["matrix"]:
        print(f"  {cell['from']:<24} -> {cell['to']:<24} {cell['count']:>10,}")
    print("top warnings added:", ", ".join(f"{k} {v:,}" for k, v in figures["warnings_added"].items()) or "none")
    print("top warnings removed:", ", ".join(f"{k} {v:,}" for k, v in figures["warnings_removed"].items()) or "none")
    print("review flags added:", figures["flags_added"], "removed:", figures["flags_removed"])


def verdicts(figures: dict[str, Any]) -> list[str]:
    scaled = "" if figures["rows"] >= 1_000_000 else " (scaled to 1,000,000)"
    return [
        f"{figures['backend']}: time{scaled} {'GOAL MET' if figures['time_goal_met'] else 'GOAL MISSED'}",
        f"{figures['backend']}: memory {'GOAL MET' if figures['memory_goal_met'] else 'GOAL MISSED'}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only (SCREENER_BENCH_POSTGRESQL_URL)")
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="impact-bench-") as folder:
            results.append(measure("SQLite", f"sqlite:///{Path(folder) / 'impact.db'}", rows))
    server = os.environ.get("SCREENER_BENCH_POSTGRESQL_URL")
    if server:
        schema = f"impact_bench_{secrets.token_hex(4)}"
        admin = make_engine(server)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
            results.append(measure("PostgreSQL", url.render_as_string(hide_password=False), rows))
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    else:
        print("PostgreSQL skipped (SCREENER_BENCH_POSTGRESQL_URL is not set)", file=sys.stderr)
    if args.json:
        print(json.dumps(results))
    else:
        for figures in results:
            show(figures)
    for figures in results:
        for line in verdicts(figures):
            print(line, file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
