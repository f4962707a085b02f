"""Benchmark: the pure rules engine against one in-process POST of the anchor app.

Measures, in one run and interleaved repeat by repeat so that machine drift affects them alike:

- ``evaluate()`` alone, over a mix of the 52 worked cases in ``../shared/clinical/cases.json``
  (parsed once beforehand), and the evaluations per second that implies;
- ``parse_request()`` + ``evaluate()`` together, over the same mix;
- one POST of ``../shared/bench/anchor_app.py`` through the Flask test client (CSRF check,
  WTForms validation, one SQLite insert into a temporary database, redirect).

Each figure is the median over the repeats of the mean time per operation, in microseconds. The
goal is for one ``evaluate()`` to cost under 1 % of one anchor POST. The script always exits 0 once
it has measured (benchmarks report, tests assert) and prints GOAL MET or GOAL MISSED.

Run it with ``make bench`` (``.venv/bin/python bench/rules.py``): about 18 s on a 2-core machine;
``--quick`` takes about 5 s and ``--json`` prints the figures as one JSON object (the verdict line
then goes to standard error). Set ``SCREENER_SHARED`` to use another shared folder than
``../shared``. No network access.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient

from screener.rules import RULESET_VERSION, Answers, ClinicConfig, InvalidInput, evaluate, parse_request

GOAL_PERCENT = 1.0
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')
ANCHOR_FORM = {"age": "17", "severity": "severe", "pregnant": "no"}


@dataclass(frozen=True)
class Plan:
    """How much work one run does; one repeat of each measurement takes roughly 0.1-0.3 s."""

    repeats: int
    eval_rounds: int  # passes over the whole case mix per repeat
    parse_rounds: int
    posts: int  # anchor POSTs per repeat


FULL = Plan(repeats=40, eval_rounds=50, parse_rounds=25, posts=200)
QUICK = Plan(repeats=10, eval_rounds=50, parse_rounds=25, posts=200)

#: A batch of work: runs it and returns how many operations it performed.
Batch = Callable[[], int]


def shared_folder() -> Path:
    override = os.environ.get("SCREENER_SHARED")
    return Path(override) if override else Path(__file__).resolve().parents[1].parent / "shared"


def load_cases(path: Path) -> list[dict[str, Any]]:
    try:
        cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    except (OSError, ValueError, KeyError) as problem:
        raise SystemExit(f"cannot read the worked cases from {path}: {problem}") from problem
    if not isinstance(cases, list) or not cases:
        raise SystemExit(f"{path}: 'cases' must be a non-empty list")
    return cases


def parse_all(cases: list[dict[str, Any]]) -> list[tuple[Answers, ClinicConfig]]:
    parsed = []
    for case in cases:
        try:
            parsed.append(parse_request(case))
        except InvalidInput as invalid:
            raise SystemExit(f"case {case.get('id', '?')} is not valid input: {invalid}") from invalid
    return parsed


def evaluate_batch(parsed: list[tuple[Answers, ClinicConfig]], rounds: int) -> Batch:
    def run() -> int:
        for _ in range(rounds):
            for answers, config in parsed:
                evaluate(answers, config)
        return rounds * len(parsed)

    return run


def parse_evaluate_batch(cases: list[dict[str, Any]], rounds: int) -> Batch:
    def run() -> int:
        for _ in range(rounds):
            for case in cases:
                answers, config = parse_request(case)
                evaluate(answers, config)
        return rounds * len(cases)

    return run


def anchor_batch(client: FlaskClient, body: str, posts: int) -> Batch:
    def run() -> int:
        for _ in range(posts):
            status = client.post("/form", data=body, content_type="application/x-www-form-urlencoded").status_code
            if status != 302:
                raise SystemExit(f"anchor POST /form answered {status}, expected 302")
        return posts

    return run


@contextmanager
def anchor_client(path: Path) -> Iterator[tuple[FlaskClient, str]]:
    """The anchor app on a fresh temporary database, a client holding its session, and the POST body."""
    with tempfile.TemporaryDirectory(prefix="screener-bench-") as tmp:
        os.environ["ANCHOR_DB"] = str(Path(tmp) / "anchor.db")  # read by the anchor when it is loaded
        module = load_module("anchor_app", path)
        try:
            app = module.app
            if not isinstance(app, Flask):
                raise SystemExit(f"{path} defines no Flask 'app'")
            client = app.test_client()
            page = client.get("/form")
            found = CSRF_INPUT.search(page.get_data(as_text=True))
            if page.status_code != 200 or found is None:
                raise SystemExit(f"anchor GET /form answered {page.status_code} without a csrf_token input")
            yield client, urlencode({"csrf_token": found.group(1), **ANCHOR_FORM})
        finally:
            connection = getattr(module, "_con", None)  # the anchor keeps one connection per process
            if isinstance(connection, sqlite3.Connection):
                connection.close()


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_op_ns(batch: Batch) -> float:
    gc.collect()  # garbage left by the previous batch is not this batch's cost
    start = time.perf_counter_ns()
    ops = batch()
    return (time.perf_counter_ns() - start) / ops


def measure(batches: dict[str, Batch], repeats: int) -> dict[str, list[float]]:
    """Per-operation times in µs, one per repeat; the batches take turns within each repeat."""
    for batch in batches.values():  # warm-up: caches, lazy imports, the database file
        batch()
    samples: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(repeats):
        for name, batch in batches.items():
            samples[name].append(per_op_ns(batch) / 1000)
    return samples


def summarise(samples: dict[str, list[float]], plan: Plan, mode: str, cases: int) -> dict[str, Any]:
    median = {name: statistics.median(values) for name, values in samples.items()}
    percent = 100 * median["evaluate"] / median["anchor_post"]
    return {
        "mode": mode,
        "cases": cases,
        "repeats": plan.repeats,
        "evaluate_us": round(median["evaluate"], 2),
        "parse_evaluate_us": round(median["parse_evaluate"], 2),
        "anchor_post_us": round(median["anchor_post"], 2),
        "evaluations_per_second": round(1e6 / median["evaluate"]),
        "evaluate_vs_anchor_post_percent": round(percent, 2),
        "goal_percent": GOAL_PERCENT,
        "goal_met": percent < GOAL_PERCENT,
        "range_us": {name: [round(min(values), 2), round(max(values), 2)] for name, values in samples.items()},
        "ruleset_version": RULESET_VERSION,
        "python": platform.python_version(),
    }


def report(figures: dict[str, Any]) -> str:
    ranges = figures["range_us"]
    rows = [
        ("evaluate()", figures["evaluate_us"], ranges["evaluate"]),
        ("parse_request() + evaluate()", figures["parse_evaluate_us"], ranges["parse_evaluate"]),
        ("anchor POST /form (in-process)", figures["anchor_post_us"], ranges["anchor_post"]),
    ]
    lines = [
        f"Rules engine vs anchor POST: {figures['cases']} worked cases, {figures['repeats']} repeats "
        f"({figures['mode']}), median per operation (min-max over repeats)",
        *(f"  {label:<32}{value:>10.2f} us   ({low:.2f}-{high:.2f})" for label, value, (low, high) in rows),
        f"  {'evaluations per second':<32}{figures['evaluations_per_second']:>10,}",
        f"  {'evaluate / anchor POST':<32}{figures['evaluate_vs_anchor_post_percent']:>10.2f} %"
        f"    goal: under {figures['goal_percent']:g} %",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repeats: about 5 s instead of 18 s")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    plan, mode = (QUICK, "quick") if args.quick else (FULL, "full")

    shared = shared_folder()
    cases = load_cases(shared / "clinical" / "cases.json")
    parsed = parse_all(cases)
    with anchor_client(shared / "bench" / "anchor_app.py") as (client, body):
        samples = measure(
            {
                "evaluate": evaluate_batch(parsed, plan.eval_rounds),
                "parse_evaluate": parse_evaluate_batch(cases, plan.parse_rounds),
                "anchor_post": anchor_batch(client, body, plan.posts),
            },
            plan.repeats,
        )
    figures = summarise(samples, plan, mode, len(cases))
    verdict = "GOAL MET" if figures["goal_met"] else "GOAL MISSED"
    if args.json:
        print(json.dumps(figures))
        print(verdict, file=sys.stderr)
    else:
        print(report(figures))
        print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
