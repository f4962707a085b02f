"""Staff-side screenings: nurse intake, amendments (new versions, never overwrites) and urgent alerts.

A staff intake has no draft: it becomes a completed screening in one step. An amendment adds
version ``current + 1`` and leaves every earlier version as it was (design.md section 4).
Alerts are acknowledged once, with what was done, and then leave the open list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.orm import Session

from screener.models import AuditEvent, Screening, ScreeningVersion, StaffAlert, StaffUser
from screener.store.screenings import (
    URGENT_ALERT,
    URGENT_HELP,
    VersionRecord,
    merged_ids,
    new_screening,
    new_version,
)

AMENDED = "amended"
UNREVIEWED = "unreviewed"
#: The audit action that records an intake; it also remembers the form it came from (see ``form_screening``).
CREATE_ACTION = "screening.create"
#: How far back an intake form's key is looked for: a double submit comes seconds later, not days.
FORM_KEY_LOOKBACK = 50


@dataclass(frozen=True)
class Subject:
    """Who the screening is about (FHIR ``subject``): entered by staff, never by the rules."""

    name: str | None
    birth_date: date | None
    mrn: str | None


def _set_subject(screening: Screening, version: ScreeningVersion, subject: Subject) -> None:
    """The version keeps the subject it was recorded with; the screening shows the latest."""
    for record in (screening, version):
        record.subject_name = subject.name
        record.subject_birth_date = subject.birth_date
        record.subject_mrn = subject.mrn


def subject_of(screening: Screening) -> Subject:
    return Subject(screening.subject_name, screening.subject_birth_date, screening.subject_mrn)


def _new_alert(screening: Screening, rule_ids: Sequence[str], now: datetime) -> StaffAlert:
    return StaffAlert(
        kind=URGENT_ALERT,
        draft_id=None,
        screening_id=screening.id,
        rule_ids=merged_ids([], rule_ids),
        created_at=now,
    )


# --- Intake and amendment -----------------------------------------------------------------


def create_screening(
    session: Session, *, record: VersionRecord, subject: Subject, now: datetime, urgent_rule_ids: Sequence[str]
) -> Screening:
    """A completed screening with version 1, entered by staff; URGENT_HELP raises a staff alert."""
    urgent = record.outcome == URGENT_HELP
    screening, version = new_screening(session, record, now)
    screening.review_status = UNREVIEWED
    _set_subject(screening, version, subject)
    if urgent:
        session.add(_new_alert(screening, urgent_rule_ids, now))
    session.flush()
    return screening


def lock_screening(session: Session, screening_id: int) -> Screening | None:
    """The screening, re-read under a row lock (SELECT ... FOR UPDATE on PostgreSQL).

    On SQLite the writer's BEGIN IMMEDIATE already serialises; FOR UPDATE is not emitted there.
    """
    return session.scalars(
        select(Screening)
        .where(Screening.id == screening_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def amend_screening(
    session: Session,
    screening: Screening,
    *,
    record: VersionRecord,
    subject: Subject,
    now: datetime,
    urgent_rule_ids: Sequence[str],
) -> ScreeningVersion:
    """Add version ``current + 1`` with its decision; earlier versions stay exactly as they were.

    The new version needs a clinician's review again. An urgent result raises an alert unless
    every urgent rule it fires is already on an alert of this screening while it stays urgent
    (so checking an already-handled screening does not alert twice); an open alert collects the
    new rule IDs rather than a second alert being opened.
    """
    session.flush()
    session.refresh(screening, with_for_update=True)
    was_urgent = screening.urgent
    number = screening.current_version + 1
    version = new_version(screening, number, record, now)
    session.add(version)
    urgent = record.outcome == URGENT_HELP
    screening.current_version = number
    screening.outcome = record.outcome
    screening.urgent = urgent
    screening.has_review_flags = bool(record.review_flags)
    screening.priority = record.priority
    screening.status = AMENDED
    screening.review_status = UNREVIEWED
    screening.updated_at = now
    _set_subject(screening, version, subject)
    if urgent:
        _alert_for_amendment(session, screening, urgent_rule_ids, now, was_urgent=was_urgent)
    session.flush()
    return version


def _alert_for_amendment(
    session: Session, screening: Screening, rule_ids: Sequence[str], now: datetime, *, was_urgent: bool
) -> None:
    alerts = session.scalars(
        select(StaffAlert).where(StaffAlert.screening_id == screening.id, StaffAlert.kind == URGENT_ALERT)
    ).all()
    known = {rule_id for alert in alerts for rule_id in alert.rule_ids}
    if was_urgent and all(rule_id in known for rule_id in rule_ids):
        return
    still_open = [alert for alert in alerts if alert.acknowledged_at is None]
    if still_open:
        still_open[0].rule_ids = merged_ids(still_open[0].rule_ids, rule_ids)
    else:
        session.add(_new_alert(screening, rule_ids, now))


def version_of(session: Session, screening: Screening, number: int) -> ScreeningVersion | None:
    return session.scalars(
        select(ScreeningVersion).where(ScreeningVersion.screening_id == screening.id, ScreeningVersion.number == number)
    ).one_or_none()


# --- Double submits -----------------------------------------------------------------------


def form_key_hash(key: str) -> str:
    """What is kept of an intake form's one-time key: enough to recognise it, nothing more."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def claim_form_key(session: Session, key_hash: str) -> None:
    """Serialise two submits of one form (PostgreSQL advisory lock until the transaction ends).

    SQLite's writer already holds the database's write lock (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        lock = int.from_bytes(bytes.fromhex(key_hash[:16]), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})


def form_screening(session: Session, *, actor_id: int, key_hash: str) -> int | None:
    """The screening an intake form already created, found in its creator's recent audit events.

    The audit trail is the durable record of each intake (``detail["form"]``), so a second submit
    is recognised even when the browser never received the first answer's session cookie.
    """
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == CREATE_ACTION, AuditEvent.actor_id == actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(FORM_KEY_LOOKBACK)
    )
    for event in events:
        if event.detail.get("form") == key_hash and event.object_id and event.object_id.isdigit():
            return int(event.object_id)
    return None


# --- Urgent alerts ------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertEntry:
    """An alert with what the alerts page shows beside it."""

    alert: StaffAlert
    reference_code: str | None
    acknowledged_by_name: str | None


#: How long acknowledged alerts stay on the alerts page, and how many at most.
RECENT_ACKNOWLEDGED = timedelta(days=7)
RECENT_ACKNOWLEDGED_LIMIT = 50
OPEN_ALERTS_LIMIT = 500


def _entries(
    session: Session, where: Sequence[ColumnElement[bool]], order: Sequence[Any], limit: int
) -> list[AlertEntry]:
    query = (
        select(StaffAlert, Screening.reference_code, StaffUser.display_name)
        .outerjoin(Screening, Screening.id == StaffAlert.screening_id)
        .outerjoin(StaffUser, StaffUser.id == StaffAlert.acknowledged_by)
        .where(*where)
        .order_by(*order)
        .limit(limit)
    )
    return [AlertEntry(alert, code, name) for alert, code, name in session.execute(query).all()]


def open_alerts(session: Session, *, limit: int = OPEN_ALERTS_LIMIT) -> list[AlertEntry]:
    """Alerts nobody has acknowledged, oldest first: the longest wait gets the first call."""
    return _entries(
        session,
        [StaffAlert.acknowledged_at.is_(None)],
        [StaffAlert.created_at, StaffAlert.id],
        limit,
    )


def recent_acknowledged_alerts(
    session: Session, *, now: datetime, within: timedelta = RECENT_ACKNOWLEDGED, limit: int = RECENT_ACKNOWLEDGED_LIMIT
) -> list[AlertEntry]:
    """Alerts acknowledged lately, newest first: who handled what, for the next shift."""
    return _entries(
        session,
        [StaffAlert.acknowledged_at.is_not(None), StaffAlert.acknowledged_at >= now - within],
        [StaffAlert.acknowledged_at.desc(), StaffAlert.id.desc()],
        limit,
    )


class Acknowledgement(StrEnum):
    DONE = "done"
    ALREADY = "already"
    NOT_FOUND = "not_found"


def acknowledge_alert(
    session: Session, alert_id: int, *, user_id: int, action_taken: str, now: datetime
) -> tuple[Acknowledgement, StaffAlert | None]:
    """Record who acknowledged the alert, when and what was done; once only (a second try changes nothing)."""
    alert = session.scalars(
        select(StaffAlert).where(StaffAlert.id == alert_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if alert is None:
        return Acknowledgement.NOT_FOUND, None
    if alert.acknowledged_at is not None:
        return Acknowledgement.ALREADY, alert
    alert.acknowledged_at = now
    alert.acknowledged_by = user_id
    alert.action_taken = action_taken
    session.flush()
    return Acknowledgement.DONE, alert
