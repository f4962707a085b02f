"""Screenings restricted to their care team, and break-glass access (security-reliability S-21).

A clinician may restrict a screening, with a typed reason (a colleague's relative, a VIP, a dispute).
Its care team then reaches it as before; anyone else on the care side (nurse or clinician) must give
a typed reason first: a break-glass access, which lasts ``BREAK_GLASS_LASTS`` for that person and
screening, is audited and is listed for administrators. Lifting a restriction also takes a reason.

The care team of a screening, kept simple and taken from what is stored: the staff who recorded a
version of it (intake or amendment), signed it off or re-evaluated it, and whoever restricted it.

Reasons are typed by staff and may name people: they stay in ``screening_access`` (shown on the
admin report), never in the audit trail, whose events refer to the row by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.orm import Session

from screener.models import Reevaluation, Review, Screening, ScreeningAccess, ScreeningVersion, StaffUser

RESTRICT, UNRESTRICT, BREAK_GLASS = "restrict", "unrestrict", "break_glass"
KINDS = (BREAK_GLASS, RESTRICT, UNRESTRICT)
#: How long one break-glass reason opens a screening to the person who gave it.
BREAK_GLASS_LASTS = timedelta(hours=1)
REASON_MIN, REASON_MAX = 10, 1000


class Access(StrEnum):
    """How a member of staff may reach a screening."""

    OPEN = "open"  # not restricted
    CARE_TEAM = "care_team"  # restricted, and they are in its care team
    BREAK_GLASS = "break_glass"  # restricted, opened with a reason lately
    NEEDS_REASON = "needs_reason"  # restricted: a reason first


@dataclass(frozen=True)
class Decision:
    access: Access
    #: The break-glass record that opened it (BREAK_GLASS only).
    record_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.access is not Access.NEEDS_REASON


def reason_problem(typed: str) -> str | None:
    """Why a typed reason is not enough (None: it is)."""
    reason = typed.strip()
    if len(reason) < REASON_MIN:
        return f"Give the reason in at least {REASON_MIN} characters"
    if len(reason) > REASON_MAX:
        return f"The reason must be {REASON_MAX:,} characters or fewer"
    if any(ord(char) < 32 and char not in "\n\t" for char in reason.replace("\r\n", "\n")):
        return "The reason must only include letters, numbers, spaces and punctuation"
    return None


def care_team(session: Session, screening_id: int) -> set[int]:
    """The staff ids of the screening's care team (see the module's docstring)."""
    query: CompoundSelect[Any] = union(
        select(ScreeningVersion.author_id.label("user_id")).where(
            ScreeningVersion.screening_id == screening_id, ScreeningVersion.author_id.is_not(None)
        ),
        select(Review.reviewer_id).where(Review.screening_id == screening_id),
        select(Reevaluation.performed_by).where(Reevaluation.screening_id == screening_id),
        select(ScreeningAccess.user_id).where(
            ScreeningAccess.screening_id == screening_id, ScreeningAccess.kind == RESTRICT
        ),
    )
    return {int(user_id) for user_id in session.scalars(select(query.subquery().c.user_id)) if user_id is not None}


def _latest_break_glass(session: Session, screening_id: int, user_id: int, now: datetime) -> ScreeningAccess | None:
    return session.scalars(
        select(ScreeningAccess)
        .where(
            ScreeningAccess.screening_id == screening_id,
            ScreeningAccess.user_id == user_id,
            ScreeningAccess.kind == BREAK_GLASS,
            ScreeningAccess.created_at > now - BREAK_GLASS_LASTS,
        )
        .order_by(ScreeningAccess.id.desc())
        .limit(1)
    ).first()


def access_for(session: Session, screening: Screening, user_id: int, now: datetime) -> Decision:
    if not screening.restricted:
        return Decision(Access.OPEN)
    if user_id in care_team(session, screening.id):
        return Decision(Access.CARE_TEAM)
    opened = _latest_break_glass(session, screening.id, user_id, now)
    if opened is not None:
        return Decision(Access.BREAK_GLASS, opened.id)
    return Decision(Access.NEEDS_REASON)


def hidden_from(session: Session, screenings: Iterable[Screening], user_id: int, now: datetime) -> set[int]:
    """Of these screenings, the restricted ones this person may not open now (the queue hides who they are)."""
    return {s.id for s in screenings if s.restricted and not access_for(session, s, user_id, now).allowed}


def _record(
    session: Session, screening: Screening, user: StaffUser, kind: str, reason: str, now: datetime, addr: str | None
) -> ScreeningAccess:
    row = ScreeningAccess(
        screening_id=screening.id,
        user_id=user.id,
        kind=kind,
        reason=reason.strip().replace("\r\n", "\n"),
        created_at=now,
        remote_addr=addr[:64] if addr else None,
    )
    session.add(row)
    session.flush()
    return row


def restrict(
    session: Session, screening: Screening, *, user: StaffUser, reason: str, now: datetime, remote_addr: str | None
) -> ScreeningAccess:
    """Restrict the screening to its care team (the person restricting it joins it)."""
    screening.restricted = True
    screening.updated_at = now
    return _record(session, screening, user, RESTRICT, reason, now, remote_addr)


def unrestrict(
    session: Session, screening: Screening, *, user: StaffUser, reason: str, now: datetime, remote_addr: str | None
) -> ScreeningAccess:
    screening.restricted = False
    screening.updated_at = now
    return _record(session, screening, user, UNRESTRICT, reason, now, remote_addr)


def break_glass(
    session: Session, screening: Screening, *, user: StaffUser, reason: str, now: datetime, remote_addr: str | None
) -> ScreeningAccess:
    """Open a restricted screening to someone outside its care team, for ``BREAK_GLASS_LASTS``."""
    return _record(session, screening, user, BREAK_GLASS, reason, now, remote_addr)


def latest_restriction(session: Session, screening_id: int) -> tuple[ScreeningAccess, str] | None:
    """The newest restrict record of the screening and the display name of who made it."""
    row = session.execute(
        select(ScreeningAccess, StaffUser.display_name)
        .join(StaffUser, StaffUser.id == ScreeningAccess.user_id)
        .where(ScreeningAccess.screening_id == screening_id, ScreeningAccess.kind == RESTRICT)
        .order_by(ScreeningAccess.id.desc())
        .limit(1)
    ).first()
    return (row[0], str(row[1])) if row else None


@dataclass(frozen=True)
class ReportRow:
    record: ScreeningAccess
    username: str
    display_name: str
    role: str
    reference_code: str


def report(
    session: Session, *, kinds: Sequence[str] = (BREAK_GLASS,), before_id: int | None = None, limit: int = 50
) -> list[ReportRow]:
    """Newest first, one keyset page (``before_id``: the last id of the previous page)."""
    query = (
        select(ScreeningAccess, StaffUser.username, StaffUser.display_name, StaffUser.role, Screening.reference_code)
        .join(StaffUser, StaffUser.id == ScreeningAccess.user_id)
        .join(Screening, Screening.id == ScreeningAccess.screening_id)
        .where(ScreeningAccess.kind.in_(kinds))
        .order_by(ScreeningAccess.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(ScreeningAccess.id < before_id)
    return [ReportRow(*row) for row in session.execute(query).all()]
