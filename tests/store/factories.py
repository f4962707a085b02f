"""Builders for the store tests: a fixed clock and version records with plausible content, or the
records the worked cases of tests/rules/cases.json make through the views' own conversion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from screener import store
from screener.db import Database
from screener.models import Base
from screener.rules import parse_request
from screener.web.records import version_record
from tests.rules.answersets import CASES

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
LIFETIME = timedelta(hours=2)

RECORD = store.VersionRecord(
    author_role="patient",
    author_id=None,
    source="self",
    answers={"completed_by": "self", "age_years": 22, "acne_treatments": ["topical_retinoid", "oral_antibiotic"]},
    discarded=["pregnant_now"],
    outcome="CLINICIAN_REVIEW",
    underlying_outcome="CLINICIAN_REVIEW",
    warnings=[{"id": "W-MOOD", "severity": "important", "text": "Tell your doctor about low mood.", "sources": ["S1"]}],
    language="en",
    clinician_notes=[{"id": "N-PHQ", "text": "Review PHQ-9.", "sources": ["S2"]}],
    fired_rules=["R-R03", "R-C01"],
    review_flags=["R-R03"],
    priority=False,
    ruleset_version="2026.11-draft.1",
    ruleset_hash="sha256:" + "ab" * 32,
    jurisdiction="US",
    config={"jurisdiction": "US", "phq2_cutoff": 3},
)


def record(**changes: Any) -> store.VersionRecord:
    return replace(RECORD, **changes)


def urgent_record() -> store.VersionRecord:
    return record(outcome="URGENT_HELP", fired_rules=["R-U01", "R-R03"])


def worked_case(case_id: str) -> dict[str, Any]:
    """One worked case of tests/rules/cases.json: id, answers, config, expected."""
    return next(case for case in CASES if case["id"] == case_id)


def case_record(case_id: str, *, author_role: str = "patient", source: str = "self") -> store.VersionRecord:
    """What storing the worked case's answers keeps: the real rules, converted as the views do."""
    answers, config = parse_request(worked_case(case_id))
    return version_record(answers, config, author_role=author_role, author_id=None, source=source, language="en")


def new_draft(session: Session, now: datetime = NOW, lifetime: timedelta = LIFETIME) -> tuple[store.Draft, str]:
    return store.create_draft(session, language="en", jurisdiction="US", now=now, lifetime=lifetime)


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def in_write(database: Database, work: Callable[[Session], object]) -> None:
    """``work`` inside one ``database.write()``: lets a test expect the whole block to raise."""
    with database.write() as session:
        work(session)
