"""Clinician review storage: the keyset-paged queue, sign-offs and re-evaluations, on each backend."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Select, event, select, text
from sqlalchemy.orm import Session

from screener import store
from screener.auth import hash_password
from screener.db import Database
from screener.models import Reevaluation, Review, Screening, ScreeningVersion, StaffUser
from screener.rules import Outcome
from screener.store import review
from screener.store import staff as staff_store
from tests.store.factories import NOW, count, new_draft, record

CLINICIAN_PASSWORD = "correct horse battery staple 42"
VERSION_COLUMNS = tuple(column.key for column in ScreeningVersion.__table__.columns)


def completed(session: Session, *, minutes: int = 0, outcome: str = "CLINICIAN_REVIEW") -> Screening:
    """A completed screening created ``minutes`` after NOW; URGENT_HELP makes it urgent."""
    draft, _token = new_draft(session)
    return store.complete_draft(session, draft, record=record(outcome=outcome), now=NOW + timedelta(minutes=minutes))


def clinician(session: Session, username: str = "clinician.ann") -> StaffUser:
    return staff_store.create_user(
        session,
        username=username,
        display_name="Ann Clinician",
        role="clinician",
        password_hash=hash_password(CLINICIAN_PASSWORD),
        now=NOW,
    )


def reread(session: Session, screening_id: int) -> Screening:
    screening = session.get(Screening, screening_id)
    assert screening is not None
    return screening


def order_key(screening: Screening) -> tuple[bool, Any, int]:
    return (screening.urgent, screening.created_at, screening.id)


def all_pages(session: Session, limit: int = 25, **filters: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    after: review.Cursor | None = None
    while True:
        rows, after = review.queue_page(session, after=after, limit=limit, **filters)
        pages.append([row.id for row in rows])
        if after is None:
            return pages
        assert len(pages) < 100, "paging never ends"


# --- The queue ----------------------------------------------------------------------------


def test_the_queue_shows_urgent_first_then_newest(database: Database) -> None:
    with database.write() as session:
        old_urgent = completed(session, minutes=0, outcome="URGENT_HELP").id
        newest = completed(session, minutes=30).id
        middle = completed(session, minutes=20, outcome="NOT_APPROPRIATE_NOW").id
        new_urgent = completed(session, minutes=10, outcome="URGENT_HELP").id
    with database.read() as session:
        rows, following = review.queue_page(session, after=None)
    assert [row.id for row in rows] == [new_urgent, old_urgent, newest, middle]
    assert following is None


def test_ties_on_the_creation_time_are_ordered_by_id_newest_first(database: Database) -> None:
    with database.write() as session:
        ids = [completed(session).id for _ in range(3)]
    with database.read() as session:
        rows, _following = review.queue_page(session, after=None)
    assert [row.id for row in rows] == sorted(ids, reverse=True)


def test_keyset_paging_covers_60_rows_in_3_pages_without_duplicates_or_gaps(database: Database) -> None:
    with database.write() as session:
        for number in range(60):
            # Some share a creation time, so the id must break ties across page boundaries.
            outcome = "URGENT_HELP" if number % 7 == 0 else "CLINICIAN_REVIEW"
            completed(session, minutes=number // 3, outcome=outcome)
    with database.read() as session:
        pages = all_pages(session)
        expected = sorted(session.scalars(select(Screening)), key=order_key, reverse=True)
    assert [len(page) for page in pages] == [25, 25, 10]
    flat = [row_id for page in pages for row_id in page]
    assert len(set(flat)) == 60
    assert flat == [screening.id for screening in expected]


def test_a_page_that_ends_exactly_at_the_end_has_no_next_page(database: Database) -> None:
    with database.write() as session:
        for number in range(50):
            completed(session, minutes=number)
    with database.read() as session:
        assert [len(page) for page in all_pages(session)] == [25, 25]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"outcome": "URGENT_HELP"}, {"urgent-0", "urgent-30"}),
        ({"outcome": "NOT_APPROPRIATE_NOW"}, {"not-now-10"}),
        ({"review_status": "agreed"}, {"review-20"}),
        ({"review_status": "unreviewed"}, {"urgent-0", "urgent-30", "not-now-10", "review-40"}),
        ({"created_from": NOW + timedelta(minutes=20)}, {"review-20", "urgent-30", "review-40"}),
        ({"created_until": NOW + timedelta(minutes=20)}, {"urgent-0", "not-now-10"}),
        (
            {"created_from": NOW + timedelta(minutes=10), "created_until": NOW + timedelta(minutes=31)},
            {"not-now-10", "review-20", "urgent-30"},
        ),
        ({"outcome": "URGENT_HELP", "created_from": NOW + timedelta(minutes=1)}, {"urgent-30"}),
        ({"outcome": "CLINICIAN_REVIEW", "review_status": "agreed"}, {"review-20"}),
    ],
)
def test_each_filter(database: Database, filters: dict[str, Any], expected: set[str]) -> None:
    with database.write() as session:
        made = {
            "urgent-0": completed(session, minutes=0, outcome="URGENT_HELP"),
            "not-now-10": completed(session, minutes=10, outcome="NOT_APPROPRIATE_NOW"),
            "review-20": completed(session, minutes=20),
            "urgent-30": completed(session, minutes=30, outcome="URGENT_HELP"),
            "review-40": completed(session, minutes=40),
        }
        reviewer = clinician(session)
        review.sign_off(
            session,
            made["review-20"],
            reviewer=reviewer,
            decision="agree",
            outcome=None,
            reason=None,
            note=None,
            now=NOW,
        )
        names = {screening.id: name for name, screening in made.items()}
    with database.read() as session:
        rows, _following = review.queue_page(session, after=None, **filters)
    assert {names[row.id] for row in rows} == expected
    assert rows == sorted(rows, key=order_key, reverse=True)


def test_filters_page_too(database: Database) -> None:
    with database.write() as session:
        for number in range(30):
            completed(session, minutes=number, outcome="URGENT_HELP" if number % 2 else "CLINICIAN_REVIEW")
    with database.read() as session:
        pages = all_pages(session, limit=4, outcome="URGENT_HELP")
        urgent = session.scalars(select(Screening.id).where(Screening.urgent)).all()
    assert [len(page) for page in pages] == [4, 4, 4, 3]
    assert sorted(row_id for page in pages for row_id in page) == sorted(urgent)


def test_the_cursor_round_trips_and_is_opaque_and_url_safe(database: Database) -> None:
    with database.write() as session:
        screening = completed(session, minutes=7, outcome="URGENT_HELP")
    cursor = review.Cursor.after(screening)
    token = cursor.encode()
    assert review.Cursor.decode(token) == cursor
    assert token.isascii()
    assert all(char.isalnum() or char in "-_" for char in token)
    assert str(screening.id) not in token.split(".")


def token_of(raw: str) -> str:
    """A token built by hand, the way someone editing the URL might."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        "garbage",
        "!!!!",
        "=" * 8,
        "A" * 500,
        "ümlaut",
        token_of("2.1.1"),  # urgent must be 0 or 1
        token_of("1.-1.1"),  # negative time
        token_of("1.1.0"),  # id 0
        token_of("1.1.-5"),
        token_of("1.1"),
        token_of("1.1.1.1"),
        token_of("1.99999999999999999999999.1"),  # past the year 9999
        token_of("1.01.1"),  # not canonical: one position, one token
        token_of("1.1.1") + "=",  # padded variant
        token_of("1.1.1") + ".x",
        token_of("1.1.99999999999999999999"),  # beyond a database integer
    ],
)
def test_a_garbage_cursor_decodes_to_none(garbage: str | None) -> None:
    assert review.Cursor.decode(garbage) is None


def plan(session: Session, query: Select[Any]) -> str:
    """The query plan of ``query`` with its real, typed parameters (EXPLAIN swapped in at the cursor)."""
    connection = session.connection()
    prefix = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "

    def explain(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> Any:
        return prefix + statement, parameters

    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        rows = connection.execute(query).all()
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_screening_queue"),
        ({"outcome": "URGENT_HELP"}, "ix_screening_queue_outcome"),
        ({"review_status": "agreed"}, "ix_screening_queue_review"),
    ],
)
def test_every_page_reads_the_queue_index_in_order_without_sorting(
    database: Database, filters: dict[str, Any], index: str
) -> None:
    """At a million screenings a page must stay a short index walk: no sort, no full scan."""
    cursor = review.Cursor(True, NOW, 10)
    with database.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            # An empty table makes any plan cheap; forbid the alternatives a large table rules out.
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            session.execute(text("SET LOCAL enable_sort = off"))
        for after in (None, cursor):
            found = plan(session, review.queue_query(after=after, limit=26, **filters))
            assert index in found, found
            assert "TEMP B-TREE" not in found, found  # SQLite sorting
            assert "Sort" not in found, found  # PostgreSQL
            assert "Seq Scan" not in found, found
            if after is not None and session.get_bind().dialect.name == "postgresql":
                assert "ROW(urgent, created_at, id) <" in found, found  # the cursor is an index condition


# --- History, sign-off, re-evaluation -----------------------------------------------------


def test_sign_off_agree_reviews_the_current_version(database: Database) -> None:
    with database.write() as session:
        screening = completed(session)
        reviewer = clinician(session)
        later = NOW + timedelta(hours=1)
        made = review.sign_off(
            session,
            screening,
            reviewer=reviewer,
            decision="agree",
            outcome="URGENT_HELP",
            reason="x",
            note=" ",
            now=later,
        )
        screening_id, made_id = screening.id, made.id
    with database.read() as session:
        stored = session.get(Review, made_id)
        screening = reread(session, screening_id)
        assert stored is not None
        assert (stored.version_number, stored.decision, stored.outcome, stored.reason, stored.note) == (
            1,
            "agree",
            None,  # agree stores no outcome or reason
            None,
            " ",
        )
        assert stored.ruleset_version == "2026.11-draft.1"
        assert stored.created_at == later
        assert (screening.review_status, screening.updated_at) == ("agreed", later)
        assert review.reviews(session, screening) == [stored]


def test_sign_off_disagree_stores_the_outcome_and_reason(database: Database) -> None:
    with database.write() as session:
        screening = completed(session)
        reviewer = clinician(session)
        review.sign_off(
            session, screening, reviewer=reviewer, decision="agree", outcome=None, reason=None, note=None, now=NOW
        )
        review.sign_off(
            session,
            screening,
            reviewer=reviewer,
            decision="disagree",
            outcome="NOT_APPROPRIATE_NOW",
            reason="Pregnancy test positive at the visit.",
            note="Re-screen after delivery.",
            now=NOW + timedelta(minutes=5),
            version_number=1,
        )
        screening_id = screening.id
    with database.read() as session:
        screening = reread(session, screening_id)
        assert screening.review_status == "disagreed"  # the latest sign-off sets the status
        history = review.reviews(session, screening)
        assert [(r.decision, r.outcome, r.reason) for r in history] == [
            ("agree", None, None),
            ("disagree", "NOT_APPROPRIATE_NOW", "Pregnancy test positive at the visit."),
        ]


@pytest.mark.parametrize(
    "changes",
    [
        {"decision": "maybe"},
        {"decision": "disagree", "outcome": None, "reason": "why"},
        {"decision": "disagree", "outcome": "CLINICIAN_REVIEW", "reason": "same as the current outcome"},
        {"decision": "disagree", "outcome": "NOT_AN_OUTCOME", "reason": "why"},
        {"decision": "disagree", "outcome": "URGENT_HELP", "reason": ""},
    ],
)
def test_an_invalid_sign_off_is_refused(database: Database, changes: dict[str, Any]) -> None:
    with database.write() as session:
        screening = completed(session)
        reviewer = clinician(session)
        arguments: dict[str, Any] = {"decision": "agree", "outcome": None, "reason": None, "note": None} | changes
        with pytest.raises(ValueError, match=r"decision|outcome|reason"):
            review.sign_off(session, screening, reviewer=reviewer, now=NOW, **arguments)
        assert count(session, Review) == 0
        assert screening.review_status == "unreviewed"


def test_a_sign_off_of_a_version_that_is_no_longer_current_is_refused(database: Database) -> None:
    with database.write() as session:
        screening = completed(session)
        reviewer = clinician(session)
        with pytest.raises(review.VersionChanged):
            review.sign_off(
                session,
                screening,
                reviewer=reviewer,
                decision="agree",
                outcome=None,
                reason=None,
                note=None,
                now=NOW,
                version_number=2,
            )
        assert count(session, Review) == 0


RESULT = review.ReevaluationRecord(
    outcome="DISCUSSION_APPROPRIATE",
    underlying_outcome="DISCUSSION_APPROPRIATE",
    warnings=[{"id": "W-GEN-NOTRX", "severity": "info", "text": "This check does not decide.", "sources": ["design"]}],
    clinician_notes=[],
    fired_rules=["R-G01"],
    ruleset_version="2026.11-draft.2",
    ruleset_hash="sha256:" + "cd" * 32,
    jurisdiction="US",
)


def test_a_reevaluation_is_stored_beside_the_version_which_is_untouched(database: Database) -> None:
    with database.write() as session:
        screening = completed(session)
        reviewer = clinician(session)
        version = store.current_version(session, screening)
        before = {column: getattr(version, column) for column in VERSION_COLUMNS}
        made = review.reevaluate(
            session, screening, version_number=1, performed_by=reviewer, result=RESULT, now=NOW + timedelta(days=1)
        )
        screening_id, made_id, reviewer_id = screening.id, made.id, reviewer.id
    with database.read() as session:
        screening = reread(session, screening_id)
        (version,) = review.versions(session, screening)
        after = {column: getattr(version, column) for column in VERSION_COLUMNS}
        assert after == before
        assert (screening.outcome, screening.review_status) == ("CLINICIAN_REVIEW", "unreviewed")
        (stored,) = review.reevaluations(session, screening)
        assert stored.id == made_id
        assert (stored.version_number, stored.performed_by, stored.outcome) == (
            1,
            reviewer_id,
            "DISCUSSION_APPROPRIATE",
        )
        assert stored.warnings == list(RESULT.warnings)
        assert (stored.ruleset_version, stored.ruleset_hash) == (RESULT.ruleset_version, RESULT.ruleset_hash)
        assert review.staff_names(session, [reviewer_id]) == {reviewer_id: "Ann Clinician"}
        assert count(session, Reevaluation) == 1


def test_a_reevaluation_of_a_version_that_does_not_exist_is_refused(database: Database) -> None:
    with database.write() as session:
        screening = completed(session)
        reviewer = clinician(session)
        with pytest.raises(ValueError, match="no version 3"):
            review.reevaluate(session, screening, version_number=3, performed_by=reviewer, result=RESULT, now=NOW)


def test_versions_are_listed_oldest_first(database: Database) -> None:
    with database.write() as session:
        screening = completed(session)
        first = store.current_version(session, screening)
        session.add(
            ScreeningVersion(
                **{column: getattr(first, column) for column in VERSION_COLUMNS if column not in ("id", "number")},
                number=2,
            )
        )
        session.flush()
        assert [v.number for v in review.versions(session, screening)] == [1, 2]
    with database.read() as session:
        assert review.lock_screening(session, 999) is None


def test_the_outcome_codes_the_store_accepts_are_the_rules_outcomes() -> None:
    """The store knows codes, not rules; the two lists must not drift apart."""
    assert tuple(outcome.value for outcome in Outcome) == review.OUTCOMES
