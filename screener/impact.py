"""The ruleset impact report: which stored screenings would now come out differently, and how.

The latest version of every stored screening (optionally only those created between two dates) is
replayed under the current ruleset, with the clinic configuration stored with that version, exactly
as the per-screening re-evaluation does (``parse_config`` + ``parse_answers`` + ``evaluate``), and
compared with the decision stored with it. Nothing stored changes: the report is saved beside, in
``ruleset_impact_report``, with one ``ruleset_impact_item`` per screening that changes or whose stored
answers the current catalogue rejects ("could not be replayed").

Memory stays bounded: screenings are read in id ranges (``CHUNK`` ids each), each range streamed
with ``yield_per``; only tallies and one range's changed screenings are held at a time, and those are
written to the report's items as they come. With ``processes`` > 1 the ranges are shared between
worker processes (each with its own connections); each writes its own items and the parent only merges tallies.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Table, and_, func, insert, select, update
from sqlalchemy.orm import Session

from screener.db import Database
from screener.models import RulesetImpactItem, RulesetImpactReport, Screening, ScreeningVersion, StaffUser
from screener.rules import CURRENT_RULESET, ClinicConfig, InvalidInput, evaluate, parse_answers, parse_config
from screener.store import audit as audit_store

#: Screening ids per unit of work (one query, one batch of items written).
CHUNK = 5_000
#: Rows fetched per round trip while streaming a range.
YIELD_PER = 2_000
#: Below this many screenings one process does it all (starting workers costs more than it saves).
PARALLEL_THRESHOLD = 50_000
ACTION = "ruleset.impact"
CHANGED, FAILED = "changed", "failed"
#: The per-ID tallies kept in a report's summary, in the order they are shown.
KINDS = (
    ("warnings_added", "Warnings added"),
    ("warnings_removed", "Warnings removed"),
    ("notes_added", "Clinician notes added"),
    ("notes_removed", "Clinician notes removed"),
    ("flags_added", "Review flags added"),
    ("flags_removed", "Review flags removed"),
)

Progress = Callable[[int, int], None]
#: (report id, scope, first screening id, screening id after the last): one unit of work.
Task = tuple[int, "Scope", int, int]
ITEM_TABLE: Table = RulesetImpactItem.__table__  # type: ignore[assignment]


@dataclass
class Tally:
    """What one range (or the whole report) found; ranges merge into the whole."""

    screenings: int = 0
    replayed: int = 0
    affected: int = 0
    failed: int = 0
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {kind: Counter() for kind, _ in KINDS})
    #: (before, after) of priority, only where it changed.
    priority: Counter[tuple[bool, bool]] = field(default_factory=Counter)
    from_rulesets: Counter[tuple[str, str]] = field(default_factory=Counter)

    def merge(self, other: Tally) -> None:
        self.screenings += other.screenings
        self.replayed += other.replayed
        self.affected += other.affected
        self.failed += other.failed
        self.matrix.update(other.matrix)
        for kind, counter in other.counts.items():
            self.counts[kind].update(counter)
        self.priority.update(other.priority)
        self.from_rulesets.update(other.from_rulesets)

    def summary(self) -> dict[str, Any]:
        """Plain data for the report's ``summary`` column (and ``--json``)."""
        return {
            "matrix": [
                {"from": before, "to": after, "count": count}
                for (before, after), count in sorted(self.matrix.items(), key=lambda item: (-item[1], item[0]))
            ],
            **{kind: dict(self.counts[kind].most_common()) for kind, _ in KINDS},
            "priority": {
                "set": self.priority[(False, True)],
                "cleared": self.priority[(True, False)],
            },
        }

    def rulesets(self) -> list[dict[str, Any]]:
        return [
            {"version": version, "hash": digest, "count": count}
            for (version, digest), count in self.from_rulesets.most_common()
        ]


@dataclass(frozen=True)
class Scope:
    """Which screenings: created on or after ``date_from`` and on or before ``date_to`` (UTC days)."""

    date_from: date | None = None
    date_to: date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found = []
        if self.date_from is not None:
            found.append(Screening.created_at >= datetime.combine(self.date_from, clock_time.min, UTC))
        if self.date_to is not None and self.date_to < date.max:
            found.append(Screening.created_at < datetime.combine(self.date_to + timedelta(days=1), clock_time.min, UTC))
        return found


# --- Replaying one range (in a worker process, or in this one) ------------------------------

_COLUMNS = (
    Screening.id,
    Screening.reference_code,
    ScreeningVersion.number,
    ScreeningVersion.answers,
    ScreeningVersion.config,
    ScreeningVersion.outcome,
    ScreeningVersion.warnings,
    ScreeningVersion.clinician_notes,
    ScreeningVersion.review_flags,
    ScreeningVersion.priority,
    ScreeningVersion.ruleset_version,
    ScreeningVersion.ruleset_hash,
)


def _ids(items: Sequence[Mapping[str, Any]] | None) -> set[str]:
    return {str(item.get("id")) for item in items or () if isinstance(item, Mapping)}


def _config_key(raw: Any) -> Any:
    if isinstance(raw, dict):
        try:
            return tuple(sorted(raw.items()))
        except TypeError:  # unhashable or unorderable values: parse it every time
            return None
    return None


def replay_range(database: Database, scope: Scope, low: int, high: int) -> tuple[Tally, list[dict[str, Any]]]:
    """Replay the screenings with ``low <= id < high``: the tally and the items to keep."""
    tally = Tally()
    items: list[dict[str, Any]] = []
    configs: dict[Any, ClinicConfig | InvalidInput] = {}
    query = (
        select(*_COLUMNS)
        .join(
            ScreeningVersion,
            and_(ScreeningVersion.screening_id == Screening.id, ScreeningVersion.number == Screening.current_version),
        )
        .where(Screening.id >= low, Screening.id < high, *scope.conditions())
        .order_by(Screening.id)
    )
    with database.read() as session:
        rows = session.execute(query.execution_options(yield_per=YIELD_PER))
        for row in rows:
            (sid, code, number, answers, raw_config, outcome, warnings, notes, flags, priority, version, digest) = row
            tally.screenings += 1
            tally.from_rulesets[(version, digest)] += 1
            key = _config_key(raw_config)
            config = configs.get(key) if key is not None else None
            if config is None:
                try:
                    config = parse_config(dict(raw_config) if isinstance(raw_config, dict) else raw_config)
                except InvalidInput as invalid:
                    config = invalid
                if key is not None:
                    configs[key] = config
            base = {
                "screening_id": sid,
                "reference_code": code,
                "version_number": number,
                "stored_ruleset_version": version,
                "from_outcome": outcome,
            }
            try:
                if isinstance(config, InvalidInput):
                    raise config
                decision = evaluate(parse_answers(dict(answers or {}), config), config)
            except InvalidInput as invalid:
                tally.failed += 1
                fields = sorted({error.field for error in invalid.errors})
                items.append({**base, "kind": FAILED, "to_outcome": None, "detail": {"fields": fields}})
                continue
            tally.replayed += 1
            after = decision.outcome.value
            tally.matrix[(outcome, after)] += 1
            detail: dict[str, Any] = {}
            for name, old, new in (
                ("warnings", _ids(warnings), {w.id for w in decision.warnings}),
                ("notes", _ids(notes), {n.id for n in decision.clinician_notes}),
                ("flags", {str(flag) for flag in flags or ()}, set(decision.review_flags)),
            ):
                if old != new:
                    for kind, ids in ((f"{name}_added", new - old), (f"{name}_removed", old - new)):
                        if ids:
                            tally.counts[kind].update(ids)
                            detail[kind] = sorted(ids)
            if bool(priority) != decision.priority:
                tally.priority[(bool(priority), decision.priority)] += 1
                detail["priority"] = [bool(priority), decision.priority]
            if detail or after != outcome:
                tally.affected += 1
                items.append({**base, "kind": CHANGED, "to_outcome": after, "detail": detail})
    return tally, items


def replay_and_keep(database: Database, task: Task) -> Tally:
    """Replay one range and write its items to the report, in one short write of its own.

    Each worker writes its own items, so neither the items nor their serialisation pass through
    the parent (on SQLite the writes take turns; each is one batch insert).
    """
    report_id, scope, low, high = task
    tally, items = replay_range(database, scope, low, high)
    if items:
        with database.write() as session:
            session.execute(insert(ITEM_TABLE), [{**item, "report_id": report_id} for item in items])
    return tally


_worker_database: Database | None = None


def _worker_start(url: str) -> None:
    global _worker_database  # one Database per worker process
    _worker_database = Database(url)


def _worker_replay(task: Task) -> Tally:
    if _worker_database is None:  # pragma: no cover - the pool's initializer sets it
        raise RuntimeError("worker started without its database")
    return replay_and_keep(_worker_database, task)


# --- The whole report ---------------------------------------------------------------------


def _ranges(low: int, high: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK, high + 1)) for start in range(low, high + 1, CHUNK)]


def default_processes(screenings: int) -> int:
    return min(2, os.cpu_count() or 1) if screenings >= PARALLEL_THRESHOLD else 1


def run(
    database: Database,
    url: str,
    *,
    scope: Scope,
    now: Callable[[], datetime],
    actor: StaffUser | None = None,
    actor_label: str = "system:cli",
    remote_addr: str | None = None,
    processes: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Run a report, save it (with its items) and audit it; returns the report's id.

    ``url`` is the database's URL, for worker processes. The report is created first (status
    "running"), its items are written range by range, and it is completed and audited at the end; a
    failure marks it "failed" (also audited) and re-raises.
    """
    with database.read() as session:
        bounds = select(func.count(Screening.id), func.min(Screening.id), func.max(Screening.id)).where(
            *scope.conditions()
        )
        total, low, high = session.execute(bounds).one()
    total = int(total or 0)
    with database.write() as session:
        report = RulesetImpactReport(
            created_at=now(),
            status="running",
            performed_by=actor.id if actor else None,
            actor=actor.username if actor else actor_label,
            date_from=scope.date_from,
            date_to=scope.date_to,
            to_ruleset_version=CURRENT_RULESET.version,
            to_ruleset_hash=CURRENT_RULESET.hash,
            from_rulesets=[],
            screenings=0,
            replayed=0,
            affected=0,
            failed=0,
            summary={},
        )
        session.add(report)
        session.flush()
        report_id = report.id
    tally = Tally()
    try:
        tasks = [(report_id, scope, start, stop) for start, stop in _ranges(int(low), int(high))] if total else []
        workers = processes if processes is not None else default_processes(total)
        if progress:
            progress(0, total)
        with closing(_replay_all(database, url, tasks, workers)) as results:  # stops the workers on an error
            for part in results:
                tally.merge(part)
                if progress:
                    progress(tally.screenings, total)
    except BaseException:
        with database.write() as session:
            session.execute(
                update(RulesetImpactReport)
                .where(RulesetImpactReport.id == report_id)
                .values(status="failed", finished_at=now())
            )
            _audit(session, report_id, tally, now(), actor, actor_label, remote_addr, outcome="failure")
        raise
    with database.write() as session:
        session.execute(
            update(RulesetImpactReport)
            .where(RulesetImpactReport.id == report_id)
            .values(
                status="complete",
                finished_at=now(),
                from_rulesets=tally.rulesets(),
                screenings=tally.screenings,
                replayed=tally.replayed,
                affected=tally.affected,
                failed=tally.failed,
                summary=tally.summary(),
            )
        )
        _audit(session, report_id, tally, now(), actor, actor_label, remote_addr)
    return report_id


def _replay_all(database: Database, url: str, tasks: list[Task], workers: int) -> Generator[Tally]:
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield replay_and_keep(database, task)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    database.dispose()  # no pooled connection crosses a fork
    with context.Pool(workers, initializer=_worker_start, initargs=(url,)) as pool:
        yield from pool.imap_unordered(_worker_replay, tasks)


def _audit(
    session: Session,
    report_id: int,
    tally: Tally,
    now: datetime,
    actor: StaffUser | None,
    actor_label: str,
    remote_addr: str | None,
    *,
    outcome: str = "success",
) -> None:
    audit_store.record(
        session,
        action=ACTION,
        now=now,
        actor=actor,
        actor_label=None if actor else actor_label,
        object_type="impact_report",
        object_id=report_id,
        outcome=outcome,
        remote_addr=remote_addr,
        detail={
            "to_ruleset_version": CURRENT_RULESET.version,
            "screenings": tally.screenings,
            "affected": tally.affected,
            "failed": tally.failed,
        },
    )


# --- Reading reports back -----------------------------------------------------------------


def get_report(session: Session, report_id: int) -> RulesetImpactReport | None:
    return session.get(RulesetImpactReport, report_id)


def list_reports(session: Session, limit: int = 50) -> Sequence[RulesetImpactReport]:
    query = select(RulesetImpactReport).order_by(RulesetImpactReport.id.desc()).limit(limit)
    return session.scalars(query).all()


def iter_items(
    session: Session, report_id: int, *, kind: str | None = None, batch: int = 5_000
) -> Iterator[RulesetImpactItem]:
    """A report's items in id order, read in keyset pages (bounded memory however many)."""
    after = 0
    while True:
        query = (
            select(RulesetImpactItem)
            .where(RulesetImpactItem.report_id == report_id, RulesetImpactItem.id > after)
            .order_by(RulesetImpactItem.id)
            .limit(batch)
        )
        if kind is not None:
            query = query.where(RulesetImpactItem.kind == kind)
        page = session.scalars(query).all()
        if not page:
            return
        yield from page
        session.expunge_all()
        after = page[-1].id


def item_json(item: RulesetImpactItem) -> dict[str, Any]:
    return {
        "reference_code": item.reference_code,
        "screening_id": item.screening_id,
        "version": item.version_number,
        "status": item.kind,
        "stored_ruleset_version": item.stored_ruleset_version,
        "from": item.from_outcome,
        "to": item.to_outcome,
        **item.detail,
    }


CSV_HEADER = (
    "reference_code",
    "screening_id",
    "version",
    "status",
    "stored_ruleset_version",
    "from_outcome",
    "to_outcome",
    *(kind for kind, _ in KINDS),
    "priority_before",
    "priority_after",
    "problem_fields",
)


def csv_row(item: RulesetImpactItem) -> list[str]:
    detail = item.detail
    priority = detail.get("priority")
    return [
        item.reference_code,
        str(item.screening_id),
        str(item.version_number),
        "could not be replayed" if item.kind == FAILED else item.kind,
        item.stored_ruleset_version,
        item.from_outcome,
        item.to_outcome or "",
        *(" ".join(detail.get(kind, ())) for kind, _ in KINDS),
        "" if priority is None else str(priority[0]).lower(),
        "" if priority is None else str(priority[1]).lower(),
        " ".join(detail.get("fields", ())),
    ]


def report_json(report: RulesetImpactReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "status": report.status,
        "created_at": report.created_at.isoformat(),
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "actor": report.actor,
        "date_from": report.date_from.isoformat() if report.date_from else None,
        "date_to": report.date_to.isoformat() if report.date_to else None,
        "from_rulesets": report.from_rulesets,
        "to_ruleset": {"version": report.to_ruleset_version, "hash": report.to_ruleset_hash},
        "screenings": report.screenings,
        "replayed": report.replayed,
        "affected": report.affected,
        "could_not_be_replayed": report.failed,
        **report.summary,
    }


# --- Output for the command ----------------------------------------------------------------


class ProgressBar:
    """``[#####.....]  42%  420,000/1,000,000  12,345/s  ETA 47 s`` on one redrawn terminal line."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, every: float = 0.2) -> None:
        self.stream = stream
        self.every = every
        self.started = time.perf_counter()
        self.shown_at = 0.0

    def __call__(self, done: int, total: int) -> None:
        moment = time.perf_counter()
        if done < total and moment - self.shown_at < self.every:
            return
        self.shown_at = moment
        seconds = moment - self.started
        rate = done / seconds if seconds > 0 else 0.0
        share = done / total if total else 1.0
        filled = int(self.WIDTH * share)
        eta = f"ETA {(total - done) / rate:,.0f} s" if rate and done < total else f"{seconds:,.1f} s"
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {share:4.0%}  {done:,}/{total:,}  {rate:,.0f}/s  {eta}  ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _ids_line(counts: Mapping[str, int], limit: int = 12) -> list[str]:
    return [f"    {key:<14} {count:>10,}" for key, count in list(counts.items())[:limit]] or ["    (none)"]


def render_text(report: RulesetImpactReport, items: Iterator[RulesetImpactItem], *, limit: int = 50) -> Iterator[str]:
    """The report as lines of text for people; at most ``limit`` affected screenings listed."""
    froms = ", ".join(f"{r['version']} ({r['hash']}, {r['count']:,})" for r in report.from_rulesets) or "none"
    summary = report.summary
    scope = f"{report.date_from or 'the first'} to {report.date_to or 'the last'}"
    yield f"Ruleset impact report {report.id} ({report.status}), screenings created from {scope}"
    yield f"  from: {froms}"
    yield f"  to:   {report.to_ruleset_version} ({report.to_ruleset_hash})"
    yield (
        f"Screenings: {report.screenings:,}  replayed: {report.replayed:,}  affected: {report.affected:,}  "
        f"could not be replayed: {report.failed:,}"
    )
    yield ""
    yield "Outcome transitions (stored -> now):"
    for cell in summary.get("matrix", []):
        mark = "" if cell["from"] == cell["to"] else "  *"
        yield f"    {cell['from']:<24} -> {cell['to']:<24} {cell['count']:>10,}{mark}"
    for kind, label in KINDS:
        yield f"{label}:"
        yield from _ids_line(summary.get(kind, {}))
    priority = summary.get("priority", {})
    yield f"Priority (R-R16): set on {priority.get('set', 0):,}, cleared on {priority.get('cleared', 0):,}"
    yield ""
    shown = 0
    yield "Affected screenings (reference code, stored -> now, changes):"
    for item in items:
        if shown >= limit:
            yield f"    ... and more: --csv PATH lists all {report.affected + report.failed:,}"
            break
        shown += 1
        if item.kind == FAILED:
            yield f"    {item.reference_code}  could not be replayed: {', '.join(item.detail.get('fields', []))}"
            continue
        changes = [
            f"+{i}" for kind in ("warnings_added", "notes_added", "flags_added") for i in item.detail.get(kind, [])
        ]
        changes += [
            f"-{i}"
            for kind in ("warnings_removed", "notes_removed", "flags_removed")
            for i in item.detail.get(kind, [])
        ]
        if "priority" in item.detail:
            changes.append("priority " + ("set" if item.detail["priority"][1] else "cleared"))
        yield f"    {item.reference_code}  {item.from_outcome} -> {item.to_outcome}  {' '.join(changes)}".rstrip()
    if not shown:
        yield "    (none)"
