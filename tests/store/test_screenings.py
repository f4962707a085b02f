"""Completion (once only, also under concurrency), reference codes, staff alerts, purging."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from screener import store
from screener.db import Database
from screener.models import Draft, Screening, ScreeningVersion, StaffAlert
from screener.store import screenings
from tests.store.factories import LIFETIME, NOW, case_record, count, in_write, new_draft, record, urgent_record

REFERENCE_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
THREADS = 8


def _completed(database: Database, **changes: object) -> tuple[int, str]:
    """A draft completed with ``record(**changes)``: (screening id, session token)."""
    with database.write() as session:
        draft, token = new_draft(session)
        screening = store.complete_draft(session, draft, record=record(**changes), now=NOW)
    return screening.id, token


# --- Completion ---------------------------------------------------------------------------


def test_completion_stores_the_version_exactly_as_given(database: Database) -> None:
    given = record()
    with database.write() as session:
        draft, _token = new_draft(session)
        store.save_answers(session, draft, dict(given.answers), NOW)
        screening = store.complete_draft(session, draft, record=given, now=NOW)
    with database.read() as session:
        stored = store.get_screening(session, screening.id)
        assert stored is not None
        assert (stored.status, stored.current_version, stored.outcome, stored.urgent) == (
            "completed",
            1,
            "CLINICIAN_REVIEW",
            False,
        )
        assert stored.created_at == stored.updated_at == NOW
        assert (stored.subject_name, stored.subject_birth_date, stored.subject_mrn) == (None, None, None)
        version = store.current_version(session, stored)
        assert version.number == 1
        assert version.created_at == NOW
        assert {field: getattr(version, field) for field in asdict(given)} == asdict(given)


@pytest.mark.parametrize(
    ("case_id", "outcome", "flags", "priority"),
    [
        ("TC68", "OTHER_TREATMENTS_FIRST", ["R-R04"], False),  # hidden by the outcome, still flagged
        ("TC69", "CLINICIAN_REVIEW", ["R-R04", "R-R16"], True),
        ("TC70", "CLINICIAN_REVIEW", ["R-R04"], False),  # PHQ-9 total 19: no priority
        ("TC71", "URGENT_HELP", ["R-R04"], False),  # item 9 answered: urgent, not priority
        ("TC72", "OTHER_TREATMENTS_FIRST", ["R-R04", "R-R16"], True),
        ("TC01", "NOT_APPROPRIATE_NOW", [], False),
    ],
)
def test_a_self_screen_stores_its_review_flags_and_priority(
    database: Database, case_id: str, outcome: str, flags: list[str], priority: bool
) -> None:
    """The worked case through the views' conversion: the version and the queue columns agree with it."""
    given = case_record(case_id)
    with database.write() as session:
        draft, _token = new_draft(session)
        screening = store.complete_draft(session, draft, record=given, now=NOW)
    with database.read() as session:
        stored = store.get_screening(session, screening.id)
        assert stored is not None
        version = store.current_version(session, stored)
        assert (version.outcome, version.review_flags, version.priority) == (outcome, flags, priority)
        assert (stored.has_review_flags, stored.priority) == (bool(flags), priority)


def test_completion_is_idempotent(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        first = store.complete_draft(session, draft, record=record(), now=NOW)
    with database.write() as session:
        again = store.lock_draft(session, draft.id)
        assert again is not None
        second = store.complete_draft(session, again, record=urgent_record(), now=NOW + timedelta(minutes=1))
        assert (second.id, second.outcome, second.updated_at) == (first.id, "CLINICIAN_REVIEW", NOW)
    with database.read() as session:
        assert count(session, Screening) == count(session, ScreeningVersion) == 1
        assert count(session, StaffAlert) == 0


def test_completion_clears_the_drafts_answers_and_resume_code(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        store.save_answers(session, draft, {"age_years": 22}, NOW)
        code = store.issue_resume_code(session, draft, now=NOW, valid_for=timedelta(hours=24))
        screening = store.complete_draft(session, draft, record=record(), now=NOW)
    with database.write() as session:
        stored = session.scalars(select(Draft)).one()
        assert (stored.answers, stored.resume_code_hash, stored.screening_id) == ({}, None, screening.id)
        assert store.resume_draft(session, code, NOW) is None


def test_a_repeated_submit_finds_the_screening_by_token(database: Database) -> None:
    screening_id, token = _completed(database)
    with database.write() as session:
        _other_draft, other_token = new_draft(session)
    with database.read() as session:
        found = store.find_screening_for_token(session, token)
        assert found is not None
        assert found.id == screening_id
        assert store.find_screening_for_token(session, other_token) is None


def test_concurrent_completions_make_one_screening(database: Database) -> None:
    """Double clicks and retries at once: each thread reads then completes in its own transaction."""
    with database.write() as session:
        draft, _token = new_draft(session)
    start = threading.Barrier(THREADS)

    def complete(number: int) -> int:
        start.wait(timeout=30)
        with database.write() as session:
            # Half lock first as the views do; half rely on complete_draft's own lock.
            loaded = store.lock_draft(session, draft.id) if number % 2 else session.get(Draft, draft.id)
            assert loaded is not None
            return store.complete_draft(session, loaded, record=record(), now=NOW).id

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        screening_ids = list(pool.map(complete, range(THREADS)))
    assert len(screening_ids) == THREADS
    assert len(set(screening_ids)) == 1
    with database.read() as session:
        assert count(session, Screening) == count(session, ScreeningVersion) == 1


# --- Reference codes ----------------------------------------------------------------------


def test_reference_codes_are_eight_crockford_symbols_and_unique(database: Database) -> None:
    codes = []
    for _ in range(20):
        screening_id, _token = _completed(database)
        with database.read() as session:
            screening = store.get_screening(session, screening_id)
            assert screening is not None
            codes.append(screening.reference_code)
    assert all(REFERENCE_CODE.fullmatch(code) for code in codes)
    assert len(set(codes)) == len(codes)


def test_a_reference_code_is_found_however_it_is_typed(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenings, "_new_code", lambda length: "01ABCDEF"[:length])
    screening_id, _token = _completed(database)
    with database.read() as session:
        for typed in ("01AB-CDEF", "01abcdef", "oi ab cd ef", "OLAB-CDEF"):
            found = store.find_screening_by_reference(session, typed)
            assert found is not None, typed
            assert found.id == screening_id
        for near_miss in ("01AB-CDE", "01AB-CDEFG", "01AB-CDEU", "11AB-CDEF"):
            assert store.find_screening_by_reference(session, near_miss) is None, near_miss


def test_a_colliding_reference_code_is_drawn_again(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    monkeypatch.setattr(screenings, "_new_code", lambda length: next(draws))
    first_id, _token = _completed(database)
    second_id, _token = _completed(database)
    with database.read() as session:
        codes = [session.get(Screening, screening_id) for screening_id in (first_id, second_id)]
        assert [screening.reference_code for screening in codes if screening] == ["AAAA-AAAA", "BBBB-BBBB"]


def test_reference_codes_give_up_after_repeated_collisions(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenings, "_new_code", lambda length: "A" * length)
    _completed(database)

    def complete(session: Session) -> None:
        draft, _token = new_draft(session)
        store.complete_draft(session, draft, record=record(), now=NOW)

    with pytest.raises(IntegrityError):
        in_write(database, complete)
    with database.read() as session:
        assert count(session, Screening) == 1


# --- Staff alerts -------------------------------------------------------------------------


def test_one_open_alert_per_draft_collects_the_rule_ids(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        first = store.record_urgent_alert(session, draft=draft, rule_ids=["R-U02"], now=NOW)
        second = store.record_urgent_alert(
            session, draft=draft, rule_ids=["R-U02", "R-U01"], now=NOW + timedelta(minutes=1)
        )
        assert second.id == first.id
    with database.read() as session:
        alert = session.scalars(select(StaffAlert)).one()
        assert (alert.kind, alert.rule_ids, alert.created_at) == ("urgent", ["R-U02", "R-U01"], NOW)
        assert (alert.draft_id, alert.screening_id, alert.acknowledged_at) == (draft.id, None, None)


def test_concurrent_urgent_answers_make_one_alert_with_every_rule(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
    start = threading.Barrier(THREADS)

    def record_alert(number: int) -> int:
        start.wait(timeout=30)
        with database.write() as session:
            loaded = session.get(Draft, draft.id)
            assert loaded is not None
            return store.record_urgent_alert(session, draft=loaded, rule_ids=[f"R-X{number}"], now=NOW).id

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        alert_ids = set(pool.map(record_alert, range(THREADS)))
    with database.read() as session:
        alert = session.scalars(select(StaffAlert)).one()
    assert alert_ids == {alert.id}
    assert sorted(alert.rule_ids) == [f"R-X{number}" for number in range(THREADS)]


def test_an_acknowledged_alert_is_not_reopened(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        first = store.record_urgent_alert(session, draft=draft, rule_ids=["R-U01"], now=NOW)
        first.acknowledged_at = NOW + timedelta(minutes=5)
        second = store.record_urgent_alert(session, draft=draft, rule_ids=["R-U02"], now=NOW + timedelta(minutes=9))
        assert second.id != first.id
    with database.read() as session:
        rule_ids = [alert.rule_ids for alert in session.scalars(select(StaffAlert).order_by(StaffAlert.id))]
        assert rule_ids == [["R-U01"], ["R-U02"]]


def test_completion_attaches_the_drafts_alerts(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        store.record_urgent_alert(session, draft=draft, rule_ids=["R-U01"], now=NOW)
        screening = store.complete_draft(session, draft, record=urgent_record(), now=NOW, urgent_rule_ids=["R-U01"])
    with database.read() as session:
        alert = session.scalars(select(StaffAlert)).one()  # no second alert for the same crisis
        assert (alert.draft_id, alert.screening_id, alert.rule_ids) == (draft.id, screening.id, ["R-U01"])
        assert store.get_screening(session, screening.id) is not None
        assert screening.urgent


def test_urgent_completion_without_an_alert_raises_one(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        screening = store.complete_draft(session, draft, record=urgent_record(), now=NOW, urgent_rule_ids=["R-U01"])
    with database.read() as session:
        alert = session.scalars(select(StaffAlert)).one()
        assert (alert.kind, alert.screening_id, alert.rule_ids, alert.created_at) == (
            "urgent",
            screening.id,
            ["R-U01"],
            NOW,
        )


def test_other_outcomes_raise_no_alert(database: Database) -> None:
    _completed(database, outcome="DISCUSSION_APPROPRIATE", underlying_outcome="DISCUSSION_APPROPRIATE")
    with database.read() as session:
        assert count(session, StaffAlert) == 0
        assert session.scalars(select(Screening.urgent)).one() is False


# --- Purging ------------------------------------------------------------------------------


def test_purge_removes_only_expired_drafts_and_keeps_what_staff_need(database: Database) -> None:
    with database.write() as session:
        expired, _token = new_draft(session)
        store.record_urgent_alert(session, draft=expired, rule_ids=["R-U01"], now=NOW)
        completed, _token = new_draft(session)
        screening = store.complete_draft(session, completed, record=record(), now=NOW)
        _alive, alive_token = new_draft(session, now=NOW + timedelta(hours=1))
    with database.write() as session:
        assert store.purge_expired_drafts(session, NOW + LIFETIME) == 2
    with database.read() as session:
        assert store.find_draft(session, alive_token, NOW + LIFETIME) is not None
        assert count(session, Draft) == 1
        assert store.get_screening(session, screening.id) is not None
        assert session.scalars(select(StaffAlert.draft_id)).one() is None
    with database.write() as session:
        assert store.purge_expired_drafts(session, NOW + LIFETIME) == 0
