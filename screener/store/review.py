"""Clinician review: the queue, a screening's history, sign-offs and re-evaluations.

The queue is read in keyset pages (urgent first, then priority, then newest), never with OFFSET
or a COUNT of the whole table, so a page costs the same at a million screenings as at ten.
Sign-offs and re-evaluations are new rows: a stored version, and the decision in it, are never
changed; the queue follows the current version, never a re-evaluation.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from screener.models import MAX_ID, Reevaluation, Review, Screening, ScreeningVersion, StaffUser
from screener.store.screenings import current_version, plain_json

__all__ = [
    "AGREE",
    "DECISIONS",
    "DISAGREE",
    "OUTCOMES",
    "REVIEW_STATUSES",
    "Cursor",
    "ReevaluationRecord",
    "VersionChanged",
    "lock_screening",
    "queue_key",
    "queue_page",
    "queue_query",
    "reevaluate",
    "reevaluations",
    "reviews",
    "sign_off",
    "staff_names",
    "versions",
]

AGREE, DISAGREE = "agree", "disagree"
DECISIONS = (AGREE, DISAGREE)
#: A screening's review status, from its latest sign-off (the queue's filter).
REVIEW_STATUSES = ("unreviewed", "agreed", "disagreed")
_STATUS_OF = {AGREE: "agreed", DISAGREE: "disagreed"}
#: The outcome codes a clinician may choose (rules.md section 6); the store knows codes, not rules.
OUTCOMES = (
    "URGENT_HELP",
    "NOT_APPROPRIATE_NOW",
    "OTHER_TREATMENTS_FIRST",
    "CLINICIAN_REVIEW",
    "DISCUSSION_APPROPRIATE",
)
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
#: Longer than any cursor we issue; anything longer is garbage and is not even decoded.
_MAX_CURSOR_LENGTH = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- The queue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a queue page ended: the (urgent, priority, created_at, id) of its last row."""

    urgent: bool
    priority: bool
    created_at: datetime
    id: int

    @classmethod
    def after(cls, screening: Screening) -> Cursor:
        return cls(screening.urgent, screening.priority, screening.created_at, screening.id)

    def encode(self) -> str:
        """An opaque, URL-safe token: nobody should build or edit one by hand."""
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        raw = f"{int(self.urgent)}.{int(self.priority)}.{micros}.{self.id}".encode("ascii")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> Cursor | None:
        """The cursor in ``token``, or None for anything we did not issue (the caller shows page one).

        A token from before the priority ordering (three fields) is not ours any more: page one.
        """
        if not token or len(token) > _MAX_CURSOR_LENGTH or not token.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            urgent, priority, micros, row_id = raw.split(".")
            bits = (urgent, priority)
            if any(bit not in ("0", "1") for bit in bits) or not micros.isdigit() or not row_id.isdigit():
                return None
            created_at = _EPOCH + timedelta(microseconds=int(micros))
            cursor = cls(urgent == "1", priority == "1", created_at, int(row_id))
        except (ValueError, binascii.Error, OverflowError):
            return None
        # Canonical tokens only: one position, one token (no padding or leading-zero variants).
        # Within the id column's range (PostgreSQL INTEGER), else the comparison itself fails: page one.
        return cursor if cursor.encode() == token and 0 < cursor.id <= MAX_ID else None

    def key(self, priority_only: bool) -> tuple[Any, ...]:
        """The values to compare with ``queue_key(priority_only)``."""
        if priority_only:
            return (self.urgent, self.created_at, self.id)
        return (self.urgent, self.priority, self.created_at, self.id)


def queue_key(priority_only: bool = False) -> tuple[InstrumentedAttribute[Any], ...]:
    """The queue's order, most pressing first: urgent, priority, created_at, id, each descending.

    With the priority filter every row has priority set, so it is left out: the order is then
    that of ix_screening_queue_priority (priority, urgent, created_at, id) after its equality.
    """
    if priority_only:
        return (Screening.urgent, Screening.created_at, Screening.id)
    return (Screening.urgent, Screening.priority, Screening.created_at, Screening.id)


def queue_query(
    *,
    outcome: str | None = None,
    review_status: str | None = None,
    flagged: bool = False,
    priority: bool = False,
    created_from: datetime | None = None,
    created_until: datetime | None = None,
    after: Cursor | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Select[Screening]:
    """The queue's SELECT: urgent first, then priority, then newest, then highest id.

    ``flagged`` keeps only screenings whose current version has review flags (whatever its
    outcome), ``priority`` only priority ones; ``created_until`` is exclusive. The ORDER BY
    matches ix_screening_queue (and, after equality filters, the index of those filters), and
    the next page starts with a row-value comparison on the same columns: both SQLite and
    PostgreSQL walk the index backwards from the cursor and stop after ``limit`` rows, with no
    sort and no OFFSET.
    """
    query = select(Screening)
    if outcome is not None:
        query = query.where(Screening.outcome == outcome)
    if review_status is not None:
        query = query.where(Screening.review_status == review_status)
    if flagged:
        # "= true", not "IS true" or the bare column: an equality both planners match to the index.
        query = query.where(Screening.has_review_flags == true())
    if priority:
        query = query.where(Screening.priority == true())
    if created_from is not None:
        query = query.where(Screening.created_at >= created_from)
    if created_until is not None:
        query = query.where(Screening.created_at < created_until)
    key = queue_key(priority)
    if after is not None:
        # The next rows in DESC order are those whose key is smaller.
        query = query.where(tuple_(*key) < after.key(priority))
    return query.order_by(*(column.desc() for column in key)).limit(limit)


def queue_page(
    session: Session,
    *,
    outcome: str | None = None,
    review_status: str | None = None,
    flagged: bool = False,
    priority: bool = False,
    created_from: datetime | None = None,
    created_until: datetime | None = None,
    after: Cursor | None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Screening], Cursor | None]:
    """One page of the queue and the cursor of the next page (None on the last page).

    One row more than the page is read to learn whether another page follows, so the last
    page never links to an empty one.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = list(
        session.scalars(
            queue_query(
                outcome=outcome,
                review_status=review_status,
                flagged=flagged,
                priority=priority,
                created_from=created_from,
                created_until=created_until,
                after=after,
                limit=limit + 1,
            )
        )
    )
    page = rows[:limit]
    return page, Cursor.after(page[-1]) if len(rows) > limit else None


# --- History ------------------------------------------------------------------------------


def versions(session: Session, screening: Screening) -> list[ScreeningVersion]:
    """Every version, oldest first: amendments add versions, none is ever replaced."""
    query = select(ScreeningVersion).where(ScreeningVersion.screening_id == screening.id)
    return list(session.scalars(query.order_by(ScreeningVersion.number)))


def reviews(session: Session, screening: Screening) -> list[Review]:
    """Every sign-off, oldest first (the latest sets the screening's review status)."""
    query = select(Review).where(Review.screening_id == screening.id)
    return list(session.scalars(query.order_by(Review.created_at, Review.id)))


def reevaluations(session: Session, screening: Screening) -> list[Reevaluation]:
    """Every re-evaluation, oldest first, each beside the version it re-ran."""
    query = select(Reevaluation).where(Reevaluation.screening_id == screening.id)
    return list(session.scalars(query.order_by(Reevaluation.created_at, Reevaluation.id)))


def staff_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names of staff, for history lists (who reviewed, who re-evaluated)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(wanted)))
    return dict(rows.all())


# --- Commands -----------------------------------------------------------------------------


class VersionChanged(ValueError):
    """The screening was amended after the clinician opened it: they must review the new version."""


def lock_screening(session: Session, screening_id: int) -> Screening | None:
    """The screening, re-read under a row lock for read-then-write (FOR UPDATE on PostgreSQL).

    On SQLite the writer's BEGIN IMMEDIATE already serialises; FOR UPDATE is not emitted there.
    """
    query = select(Screening).where(Screening.id == screening_id).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def sign_off(
    session: Session,
    screening: Screening,
    *,
    reviewer: StaffUser,
    decision: str,
    outcome: str | None,
    reason: str | None,
    note: str | None,
    now: datetime,
    version_number: int | None = None,
) -> Review:
    """Record a clinician's sign-off of the current version and update the queue's review status.

    Agree stores no outcome or reason; disagree needs another outcome and a reason (the view
    explains what is missing; here a violation is a programming error). ``version_number``, when
    given, is the version the clinician saw: if the screening has moved on, nothing is stored.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    if version_number is not None and version_number != screening.current_version:
        raise VersionChanged(f"version {version_number} is no longer current")
    version = current_version(session, screening)
    if decision == DISAGREE:
        if outcome not in OUTCOMES or outcome == version.outcome:
            raise ValueError("disagree needs an outcome other than the current one")
        if not reason:
            raise ValueError("disagree needs a reason")
    else:
        outcome = reason = None
    review = Review(
        screening_id=screening.id,
        version_number=version.number,
        reviewer_id=reviewer.id,
        decision=decision,
        outcome=outcome,
        reason=reason,
        note=note or None,
        ruleset_version=version.ruleset_version,
        created_at=now,
    )
    session.add(review)
    screening.review_status = _STATUS_OF[decision]
    screening.updated_at = now
    session.flush()
    return review


@dataclass(frozen=True)
class ReevaluationRecord:
    """A decision reached again under a newer ruleset, as plain data (text in English for staff)."""

    outcome: str
    underlying_outcome: str
    warnings: Sequence[Mapping[str, Any]]
    clinician_notes: Sequence[Mapping[str, Any]]
    fired_rules: Sequence[str]
    #: Every fired clinician-review rule, and whether R-R16 set priority (rules.md section 9).
    review_flags: Sequence[str]
    priority: bool
    ruleset_version: str
    ruleset_hash: str
    jurisdiction: str


def reevaluate(
    session: Session,
    screening: Screening,
    *,
    version_number: int,
    performed_by: StaffUser,
    result: ReevaluationRecord,
    now: datetime,
) -> Reevaluation:
    """Store a re-evaluation beside the version it re-ran (rules.md BT6); the version is untouched."""
    exists = select(ScreeningVersion.id).where(
        ScreeningVersion.screening_id == screening.id, ScreeningVersion.number == version_number
    )
    if session.scalar(exists) is None:
        raise ValueError(f"screening {screening.id} has no version {version_number}")
    row = Reevaluation(
        screening_id=screening.id,
        version_number=version_number,
        performed_by=performed_by.id,
        outcome=result.outcome,
        underlying_outcome=result.underlying_outcome,
        warnings=plain_json(result.warnings),
        clinician_notes=plain_json(result.clinician_notes),
        fired_rules=plain_json(result.fired_rules),
        review_flags=plain_json(result.review_flags),
        priority=result.priority,
        ruleset_version=result.ruleset_version,
        ruleset_hash=result.ruleset_hash,
        jurisdiction=result.jurisdiction,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
