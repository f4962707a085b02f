"""Clinician review storage: the keyset-paged queue, sign-offs and re-evaluations, on each backend."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Select, event, select, text
from sqlalchemy.orm import Session

from screener import store
from screener.auth import hash_password
from screener.db import Database
from screener.models import Base, Reevaluation, Review, Screening, ScreeningVersion, StaffUser
from screener.rules import Outcome
from screener.store import review
from screener.store import staff as staff_store
from tests.store.factories import NOW, case_record, count, new_draft, record

CLINICIAN_PASSWORD = "correct horse battery staple 42"
VERSION_COLUMNS = tuple(column.key for column in ScreeningVersion.__table__.columns)


def completed(
    session: Session,
    *,
    minutes: int = 0,
    outcome: str = "CLINICIAN_REVIEW",
    flags: Sequence[str] = (),
    priority: bool = False,
) -> Screening:
    """A completed screening created ``minutes`` after NOW; URGENT_HELP makes it urgent.

    ``priority`` adds R-R16 to the review flags, as the rules do.
    """
    review_flags = sorted({*flags, *(["R-R16"] if priority else [])})
    given = record(outcome=outcome, fired_rules=review_flags, review_flags=review_flags, priority=priority)
    draft, _token = new_draft(session)
    return store.complete_draft(session, draft, record=given, now=NOW + timedelta(minutes=minutes))


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


def order_key(screening: Screening) -> tuple[bool, bool, Any, int]:
    return (screening.urgent, screening.priority, screening.created_at, screening.id)


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


def test_the_queue_shows_urgent_first_then_priority_then_newest(database: Database) -> None:
    """Review flags alone do not reorder; priority comes right after urgent, and orders the urgent too."""
    with database.write() as session:
        plain_new = completed(session, minutes=50, outcome="DISCUSSION_APPROPRIATE").id
        flagged = completed(session, minutes=40, outcome="OTHER_TREATMENTS_FIRST", flags=["R-R04"]).id
        priority_old = completed(session, minutes=0, flags=["R-R04"], priority=True).id
        priority_new = completed(session, minutes=30, outcome="OTHER_TREATMENTS_FIRST", priority=True).id
        urgent = completed(session, minutes=5, outcome="URGENT_HELP", flags=["R-R04"]).id
        urgent_priority = completed(session, minutes=1, outcome="URGENT_HELP", priority=True).id
    with database.read() as session:
        rows, following = review.queue_page(session, after=None)
    assert [row.id for row in rows] == [urgent_priority, urgent, priority_new, priority_old, plain_new, flagged]
    assert following is None


def test_worked_cases_surface_with_their_flags_whatever_the_outcome(database: Database) -> None:
    """TC68-TC72 stored as the views store them: OTHER_TREATMENTS_FIRST with R-R04 still needs a clinician."""
    with database.write() as session:
        made = {}
        for minutes, case_id in ((0, "TC70"), (10, "TC68"), (20, "TC72"), (5, "TC69"), (1, "TC71")):
            draft, _token = new_draft(session)
            screening = store.complete_draft(
                session, draft, record=case_record(case_id), now=NOW + timedelta(minutes=minutes)
            )
            made[screening.id] = case_id
    with database.read() as session:
        everything, _following = review.queue_page(session, after=None)
        flagged, _following = review.queue_page(session, after=None, flagged=True)
        priority, _following = review.queue_page(session, after=None, priority=True)
        other_first, _following = review.queue_page(session, after=None, flagged=True, outcome="OTHER_TREATMENTS_FIRST")
        summary = {made[row.id]: (row.outcome, row.has_review_flags, row.priority) for row in everything}
    assert [made[row.id] for row in everything] == ["TC71", "TC72", "TC69", "TC68", "TC70"]
    assert [made[row.id] for row in flagged] == ["TC71", "TC72", "TC69", "TC68", "TC70"]
    assert [made[row.id] for row in priority] == ["TC72", "TC69"]
    assert [made[row.id] for row in other_first] == ["TC72", "TC68"]
    assert summary == {
        "TC68": ("OTHER_TREATMENTS_FIRST", True, False),
        "TC69": ("CLINICIAN_REVIEW", True, True),
        "TC70": ("CLINICIAN_REVIEW", True, False),
        "TC71": ("URGENT_HELP", True, False),
        "TC72": ("OTHER_TREATMENTS_FIRST", True, True),
    }


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


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 25])
def test_keyset_pages_keep_urgent_then_priority_then_newest_across_page_boundaries(
    database: Database, limit: int
) -> None:
    """Priority changes within a shared creation time, so it must be in the cursor, not just the order."""
    with database.write() as session:
        for number in range(30):
            completed(
                session,
                minutes=number // 3,
                outcome="URGENT_HELP" if number % 8 == 0 else "CLINICIAN_REVIEW",
                flags=["R-R04"] if number % 2 else [],
                priority=number % 3 == 1,
            )
    with database.read() as session:
        pages = all_pages(session, limit=limit)
        expected = sorted(session.scalars(select(Screening)), key=order_key, reverse=True)
    flat = [row_id for page in pages for row_id in page]
    assert len(flat) == len(set(flat)) == 30
    assert flat == [screening.id for screening in expected]
    assert [len(page) for page in pages[:-1]] == [limit] * (len(pages) - 1)
    ranks = [(screening.urgent, screening.priority) for screening in expected]
    assert ranks == sorted(ranks, reverse=True)  # urgent, then urgent priority ... then the rest
    assert ranks.count((False, True)) == 9  # the priority block really is in the middle


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


def attention_setup(session: Session) -> dict[int, str]:
    """Screenings with and without review flags and priority, one of them reviewed: id -> name."""
    made = {
        "appropriate-0": completed(session, minutes=0, outcome="DISCUSSION_APPROPRIATE"),
        "other-10": completed(session, minutes=10, outcome="OTHER_TREATMENTS_FIRST"),
        "other-flagged-20": completed(session, minutes=20, outcome="OTHER_TREATMENTS_FIRST", flags=["R-R04"]),
        "urgent-flagged-30": completed(session, minutes=30, outcome="URGENT_HELP", flags=["R-R04"]),
        "priority-40": completed(session, minutes=40, flags=["R-R04"], priority=True),
        "other-priority-50": completed(session, minutes=50, outcome="OTHER_TREATMENTS_FIRST", priority=True),
        "urgent-priority-60": completed(session, minutes=60, outcome="URGENT_HELP", priority=True),
    }
    review.sign_off(
        session,
        made["priority-40"],
        reviewer=clinician(session),
        decision="agree",
        outcome=None,
        reason=None,
        note=None,
        now=NOW,
    )
    return {screening.id: name for name, screening in made.items()}


FLAGGED = ["urgent-priority-60", "urgent-flagged-30", "other-priority-50", "priority-40", "other-flagged-20"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"flagged": True}, FLAGGED),
        ({"priority": True}, ["urgent-priority-60", "other-priority-50", "priority-40"]),
        ({"flagged": True, "priority": True}, ["urgent-priority-60", "other-priority-50", "priority-40"]),
        ({"flagged": True, "outcome": "OTHER_TREATMENTS_FIRST"}, ["other-priority-50", "other-flagged-20"]),
        ({"flagged": True, "review_status": "unreviewed"}, [name for name in FLAGGED if name != "priority-40"]),
        ({"flagged": True, "outcome": "CLINICIAN_REVIEW", "review_status": "agreed"}, ["priority-40"]),
        ({"priority": True, "review_status": "agreed"}, ["priority-40"]),
        ({"priority": True, "outcome": "URGENT_HELP"}, ["urgent-priority-60"]),
        ({"flagged": True, "outcome": "DISCUSSION_APPROPRIATE"}, []),
        ({"flagged": True, "created_until": NOW + timedelta(minutes=30)}, ["other-flagged-20"]),
        ({"priority": True, "created_from": NOW + timedelta(minutes=45)}, ["urgent-priority-60", "other-priority-50"]),
        # Without the new filters nothing is hidden: flags never change the outcome.
        ({"outcome": "OTHER_TREATMENTS_FIRST"}, ["other-priority-50", "other-flagged-20", "other-10"]),
        (
            {"flagged": False, "priority": False, "review_status": "unreviewed"},
            [*FLAGGED[:2], "other-priority-50", "other-flagged-20", "other-10", "appropriate-0"],
        ),
    ],
)
def test_the_review_flag_and_priority_filters(database: Database, filters: dict[str, Any], expected: list[str]) -> None:
    with database.write() as session:
        names = attention_setup(session)
    with database.read() as session:
        rows, following = review.queue_page(session, after=None, **filters)
    assert [names[row.id] for row in rows] == expected
    assert following is None


@pytest.mark.parametrize(
    "filters", [{"priority": True}, {"flagged": True}, {"flagged": True, "review_status": "unreviewed"}]
)
def test_the_new_filters_page_too(database: Database, filters: dict[str, Any]) -> None:
    with database.write() as session:
        for number in range(40):
            completed(
                session,
                minutes=number // 4,
                outcome="URGENT_HELP" if number % 9 == 0 else "CLINICIAN_REVIEW",
                flags=["R-R04"] if number % 4 else [],
                priority=number % 4 == 1 or number % 5 == 0,
            )
    with database.read() as session:
        pages = all_pages(session, limit=3, **filters)
        rows, _following = review.queue_page(session, after=None, limit=200)
    wanted = [
        row.id
        for row in rows
        if (not filters.get("flagged") or row.has_review_flags) and (not filters.get("priority") or row.priority)
    ]
    flat = [row_id for page in pages for row_id in page]
    assert len(wanted) > 6  # several pages
    assert flat == wanted  # the whole queue's order, filtered: no duplicates, no gaps


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
    prioritised = review.Cursor(False, True, NOW, 12)
    assert review.Cursor.decode(prioritised.encode()) == prioritised
    assert prioritised.encode() != review.Cursor(False, False, NOW, 12).encode()
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
        token_of("2.0.1.1"),  # urgent must be 0 or 1
        token_of("1.2.1.1"),  # priority must be 0 or 1
        token_of("1.0.-1.1"),  # negative time
        token_of("1.0.1.0"),  # id 0
        token_of("1.0.1.-5"),
        token_of("1.0.1"),
        token_of("1.1.1"),  # a cursor from before the priority ordering: page one
        token_of("1.0.1.1.1"),
        token_of("1.0.99999999999999999999999.1"),  # past the year 9999
        token_of("1.0.01.1"),  # not canonical: one position, one token
        token_of("1.00.1.1"),
        token_of("1.0.1.1") + "=",  # padded variant
        token_of("1.0.1.1") + ".x",
        token_of("1.0.1.99999999999999999999"),  # beyond a database integer
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


#: The queue's filter indexes. On an empty PostgreSQL table every estimate is the one-row minimum, so
#: an index matching one of two equality filters ties with the one matching both (real statistics
#: break the tie); the test then puts the others aside to check that this one serves the page.
FILTER_INDEXES = sorted(
    str(index.name)
    for index in Base.metadata.tables["screening"].indexes
    if str(index.name).startswith("ix_screening_queue_")
)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_screening_queue"),
        ({"outcome": "URGENT_HELP"}, "ix_screening_queue_outcome"),
        ({"review_status": "agreed"}, "ix_screening_queue_review"),
        ({"outcome": "URGENT_HELP", "review_status": "agreed"}, "ix_screening_queue_outcome_review"),
        ({"flagged": True}, "ix_screening_queue_flagged"),
        ({"flagged": True, "outcome": "OTHER_TREATMENTS_FIRST"}, "ix_screening_queue_flagged_outcome"),
        ({"flagged": True, "review_status": "unreviewed"}, "ix_screening_queue_flagged_review"),
        (
            {"flagged": True, "outcome": "DISCUSSION_APPROPRIATE", "review_status": "unreviewed"},
            "ix_screening_queue_flagged_outcome_review",
        ),
        ({"priority": True}, "ix_screening_queue_priority"),
        ({"priority": True, "flagged": True}, "ix_screening_queue_priority"),
    ],
)
def test_every_page_reads_the_queue_index_in_order_without_sorting(
    database: Database, filters: dict[str, Any], index: str
) -> None:
    """At a million screenings a page must stay a short index walk: no sort, no full scan."""
    cursor = review.Cursor(True, True, NOW, 10)
    # The priority filter fixes priority, so it is not part of that page's order or cursor.
    key = "urgent, created_at, id" if filters.get("priority") else "urgent, priority, created_at, id"
    with database.read() as session:  # rolled back: the indexes put aside come back
        if session.get_bind().dialect.name == "postgresql":
            # An empty table makes any plan cheap; forbid the alternatives a large table rules out.
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            session.execute(text("SET LOCAL enable_sort = off"))
            if filters.get("flagged") and len(filters) > 1:
                for rival in FILTER_INDEXES:
                    if rival != index:
                        session.execute(text(f'DROP INDEX "{rival}"'))
        for after in (None, cursor):
            found = plan(session, review.queue_query(after=after, limit=26, **filters))
            assert re.search(rf"\b{index}\b", found), found  # this index, not a longer-named one
            assert "TEMP B-TREE" not in found, found  # SQLite sorting
            assert "Sort" not in found, found  # PostgreSQL
            assert "Seq Scan" not in found, found
            if after is not None and session.get_bind().dialect.name == "postgresql":
                assert f"ROW({key}) <" in found, found  # the cursor is an index condition


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
    review_flags=[],
    priority=False,
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


def test_a_reevaluation_stores_its_review_flags_and_priority_beside_the_originals(database: Database) -> None:
    """TC72 re-run: its flags and priority are the re-evaluation's own; the version keeps its (none)."""
    tc72 = case_record("TC72")
    rerun = review.ReevaluationRecord(
        outcome=tc72.outcome,
        underlying_outcome=tc72.underlying_outcome,
        warnings=tc72.warnings,
        clinician_notes=tc72.clinician_notes,
        fired_rules=tc72.fired_rules,
        review_flags=tc72.review_flags,
        priority=tc72.priority,
        ruleset_version=tc72.ruleset_version,
        ruleset_hash=tc72.ruleset_hash,
        jurisdiction=tc72.jurisdiction,
    )
    with database.write() as session:
        screening = completed(session, outcome="OTHER_TREATMENTS_FIRST")
        reviewer = clinician(session)
        review.reevaluate(session, screening, version_number=1, performed_by=reviewer, result=rerun, now=NOW)
        screening_id = screening.id
    with database.read() as session:
        screening = reread(session, screening_id)
        (stored,) = review.reevaluations(session, screening)
        (version,) = review.versions(session, screening)
        assert (stored.review_flags, stored.priority) == (["R-R04", "R-R16"], True)
        assert (version.review_flags, version.priority) == ([], False)
        # The queue follows the stored decision, not a re-evaluation (BT6).
        assert (screening.has_review_flags, screening.priority) == (False, False)


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
