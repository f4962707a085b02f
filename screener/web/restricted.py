"""Reaching a restricted screening from any staff page (S-21): the care team, else a reason first.

Every view that shows or changes a screening asks :func:`decide` inside its transaction. Refused, the
look is audited as ``denied`` and, after that transaction commits, :class:`RestrictedScreening` is
raised; the app answers it (on every blueprint: the review blueprint registers the handler) with the
break-glass page: 403, a form for the reason, nothing of the record. ``screener.store.restriction``
defines the care team and keeps the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from screener.clock import utcnow
from screener.db import get_db
from screener.models import Screening, ScreeningAccess
from screener.store import restriction
from screener.web.access import audit, current_staff


class RestrictedScreening(Exception):
    """The signed-in member of staff must give a reason (break-glass) to open this screening."""

    def __init__(self, screening: Screening, *, reason: str = "", error: str | None = None) -> None:
        super().__init__(screening.id)
        self.screening_id = screening.id
        self.reference_code = screening.reference_code
        self.reason = reason
        self.error = error


@dataclass(frozen=True)
class Restriction:
    """What a screening page shows about its restriction, for the person looking."""

    restricted: bool
    access: restriction.Access
    since: datetime | None = None
    by: str | None = None
    #: Until when a break-glass reason keeps it open to this person.
    open_until: datetime | None = None


def decide(
    db: Session, screening: Screening, action: str, detail: dict[str, Any] | None = None
) -> restriction.Decision:
    """May the signed-in member of staff reach the screening now? A refusal is audited here."""
    decision = restriction.access_for(db, screening, current_staff().user_id, utcnow())
    if not decision.allowed:
        audit(
            db,
            action,
            object_type="screening",
            object_id=screening.id,
            outcome="denied",
            detail={**(detail or {}), "restricted": True},
        )
    return decision


def described(db: Session, screening: Screening, decision: restriction.Decision) -> Restriction:
    if not screening.restricted:
        return Restriction(False, decision.access)
    latest = restriction.latest_restriction(db, screening.id)
    since, by = (latest[0].created_at, latest[1]) if latest else (None, None)
    open_until = None
    if decision.record_id is not None:
        opened = db.get(ScreeningAccess, decision.record_id)
        open_until = opened.created_at + restriction.BREAK_GLASS_LASTS if opened else None
    return Restriction(True, decision.access, since, by, open_until)


def restricted_page(error: RestrictedScreening) -> ResponseReturnValue:
    status = 400 if error.error else 403
    return render_template(
        "review/restricted.html",
        screening_id=error.screening_id,
        reference_code=error.reference_code,
        reason=error.reason,
        error=error.error,
        reason_max=restriction.REASON_MAX,
        lasts_minutes=int(restriction.BREAK_GLASS_LASTS.total_seconds() // 60),
    ), status


def require_access(screening_id: int, action: str) -> None:
    """Before a change to a screening: refused (audited, 403 page) unless this person may reach it."""
    with get_db().write() as db:
        found = db.get(Screening, screening_id)
        allowed = found is None or decide(db, found, action).allowed
    if found is not None and not allowed:
        raise RestrictedScreening(found)
