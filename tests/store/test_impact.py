"""The ruleset impact report (issue 12, item 3): replay, compare, save, audit; nothing stored changes.

Versions are stored as if decided under an older ruleset: the worked cases' answers, with a stored
decision crafted to differ from what the current rules give (outcome, warnings, notes, review flags,
priority), plus one whose answers the current catalogue rejects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from screener import impact, store
from screener.db import Database
from screener.models import AuditEvent, RulesetImpactItem, RulesetImpactReport, Screening, ScreeningVersion
from screener.rules import CURRENT_RULESET
from screener.store import screenings as screening_store
from tests.store.factories import NOW, case_record

OLD_VERSION = "2026.11-draft.1"
OLD_HASH = "sha256:" + "0d" * 32


@dataclass(frozen=True)
class Seeded:
    """What the seeded database holds, and what the report must find."""

    unchanged: str
    changed: str
    amended: str
    rejected: str
    changed_now: store.VersionRecord
    amended_now: store.VersionRecord


def _old(record: store.VersionRecord, **changes: object) -> store.VersionRecord:
    return replace(record, ruleset_version=OLD_VERSION, ruleset_hash=OLD_HASH, **changes)  # type: ignore[arg-type]


def _other_outcome(outcome: str) -> str:
    return "DISCUSSION_APPROPRIATE" if outcome != "DISCUSSION_APPROPRIATE" else "NOT_APPROPRIATE_NOW"


def seed(database: Database, now: datetime = NOW) -> Seeded:
    """Four screenings: one as the current rules decide it, one decided differently, one amended
    (only its latest version counts), one whose stored answers the catalogue now rejects."""
    same = case_record("TC01")
    changed_now = case_record("TC05")
    amended_now = case_record("TC03")
    assert changed_now.warnings, "TC05 gives warnings"
    changed = _old(
        changed_now,
        outcome=_other_outcome(changed_now.outcome),
        warnings=[*changed_now.warnings[1:], {"id": "W-OLD", "severity": "info", "text": "Old.", "sources": []}],
        clinician_notes=[*changed_now.clinician_notes, {"id": "N-OLD", "text": "Old note.", "sources": []}],
        review_flags=[*changed_now.review_flags, "R-R99"],
        priority=not changed_now.priority,
    )
    rejected = _old(same, answers={**same.answers, "age_years": 500, "retired_question": "yes"})
    with database.write() as session:
        unchanged_screening, _ = screening_store.new_screening(session, same, now)
        changed_screening, _ = screening_store.new_screening(session, changed, now - timedelta(days=40))
        amended_screening, _ = screening_store.new_screening(
            session, _old(amended_now, outcome=_other_outcome(amended_now.outcome)), now - timedelta(days=3)
        )
        session.add(
            screening_store.new_version(amended_screening, 2, amended_now, now)
        )  # as the current rules decide it
        amended_screening.current_version = 2
        rejected_screening, _ = screening_store.new_screening(session, rejected, now - timedelta(days=400))
        return Seeded(
            unchanged_screening.reference_code,
            changed_screening.reference_code,
            amended_screening.reference_code,
            rejected_screening.reference_code,
            changed_now,
            amended_now,
        )


def fingerprint(session: Session) -> str:
    """A hash over every row of the screening tables: equal before and after means nothing changed."""
    digest = hashlib.sha256()
    for model in (Screening, ScreeningVersion):
        for row in session.execute(select(model.__table__).order_by(model.__table__.c.id)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def run(database: Database, url: str, **options: object) -> RulesetImpactReport:
    report_id = impact.run(database, url, now=lambda: NOW, **options)  # type: ignore[arg-type]
    with database.read() as session:
        report = session.get(RulesetImpactReport, report_id)
        assert report is not None
        return report


def items(database: Database, report_id: int) -> dict[str, RulesetImpactItem]:
    with database.read() as session:
        return {item.reference_code: item for item in impact.iter_items(session, report_id)}


def test_the_report_finds_every_difference_and_changes_nothing(database: Database, database_url: str) -> None:
    seeded = seed(database)
    with database.read() as session:
        before = fingerprint(session)

    report = run(database, database_url, scope=impact.Scope(), processes=1)

    with database.read() as session:
        assert fingerprint(session) == before
    now = seeded.changed_now
    assert report.status == "complete"
    assert (report.screenings, report.replayed, report.affected, report.failed) == (4, 3, 1, 1)
    matrix = {(cell["from"], cell["to"]): cell["count"] for cell in report.summary["matrix"]}
    expected = {(_other_outcome(now.outcome), now.outcome): 1}
    for outcome in (case_record("TC01").outcome, seeded.amended_now.outcome):
        expected[(outcome, outcome)] = expected.get((outcome, outcome), 0) + 1
    assert matrix == expected
    assert report.summary["warnings_added"] == {now.warnings[0]["id"]: 1}
    assert report.summary["warnings_removed"] == {"W-OLD": 1}
    assert report.summary["notes_removed"] == {"N-OLD": 1}
    assert report.summary["notes_added"] == {}
    assert report.summary["flags_removed"] == {"R-R99": 1}
    assert report.summary["priority"] == {"set": int(now.priority), "cleared": int(not now.priority)}
    assert report.to_ruleset_version == CURRENT_RULESET.version
    assert report.to_ruleset_hash == CURRENT_RULESET.hash
    rulesets = {(r["version"], r["hash"]): r["count"] for r in report.from_rulesets}
    assert rulesets == {(OLD_VERSION, OLD_HASH): 2, (CURRENT_RULESET.version, CURRENT_RULESET.hash): 2}

    found = items(database, report.id)
    assert set(found) == {seeded.changed, seeded.rejected}
    changed = found[seeded.changed]
    assert (changed.kind, changed.from_outcome, changed.to_outcome) == (
        "changed",
        _other_outcome(now.outcome),
        now.outcome,
    )
    assert changed.detail["warnings_removed"] == ["W-OLD"]
    assert changed.detail["priority"] == [not now.priority, now.priority]
    rejected = found[seeded.rejected]
    assert rejected.kind == "failed"
    assert rejected.to_outcome is None
    assert rejected.detail["fields"] == ["age_years", "retired_question"]


def test_the_report_is_audited(database: Database, database_url: str) -> None:
    seed(database)
    report = run(database, database_url, scope=impact.Scope(), processes=1)
    with database.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == impact.ACTION)).one()
    assert (event.object_type, event.object_id, event.actor, event.outcome) == (
        "impact_report",
        str(report.id),
        "system:cli",
        "success",
    )
    assert event.detail == {"to_ruleset_version": CURRENT_RULESET.version, "screenings": 4, "affected": 1, "failed": 1}


def test_dates_limit_the_screenings_replayed(database: Database, database_url: str) -> None:
    seeded = seed(database)
    scope = impact.Scope(date_from=(NOW - timedelta(days=50)).date(), date_to=(NOW - timedelta(days=1)).date())
    report = run(database, database_url, scope=scope, processes=1)
    assert (report.screenings, report.affected, report.failed) == (2, 1, 0)
    assert (report.date_from, report.date_to) == (scope.date_from, scope.date_to)
    assert set(items(database, report.id)) == {seeded.changed}


def test_worker_processes_give_the_same_report(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(database)
    monkeypatch.setattr(impact, "CHUNK", 1)  # one screening per range: every range goes to a worker
    one = run(database, database_url, scope=impact.Scope(), processes=1)
    two = run(database, database_url, scope=impact.Scope(), processes=2)
    assert (two.screenings, two.replayed, two.affected, two.failed) == (4, 3, 1, 1)
    assert two.summary == one.summary
    assert sorted(two.from_rulesets, key=str) == sorted(one.from_rulesets, key=str)
    assert set(items(database, two.id)) == set(items(database, one.id))


def test_an_empty_database_gives_an_empty_report(database: Database, database_url: str) -> None:
    report = run(database, database_url, scope=impact.Scope())
    assert (report.status, report.screenings, report.affected) == ("complete", 0, 0)
    assert report.summary["matrix"] == []
