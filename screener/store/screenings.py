"""Drafts, completed screenings and their versions, urgent alerts: the patient side's storage.

Secrets (session tokens, resume codes) are stored only as sha256 hashes; reference codes are
stored as shown, for staff to look up.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from screener.models import Draft, Screening, ScreeningVersion, StaffAlert

#: Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESUME_CODE_LENGTH = 12  # 60 bits, valid for hours, lookups rate-limited
REFERENCE_CODE_LENGTH = 8  # 40 bits, unique, looked up by staff
CODE_GROUP = 4
#: Draws before a unique-code collision is reported; at 40 bits a second draw is already rare.
CODE_ATTEMPTS = 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

URGENT_HELP = "URGENT_HELP"
URGENT_ALERT = "urgent"
COMPLETED = "completed"

T = TypeVar("T")


@dataclass(frozen=True)
class VersionRecord:
    """What a screening version stores: the answers and the decision exactly as shown."""

    author_role: str
    author_id: int | None
    source: str | None
    answers: Mapping[str, Any]
    discarded: Sequence[str]
    outcome: str
    underlying_outcome: str
    warnings: Sequence[Mapping[str, Any]]
    language: str
    clinician_notes: Sequence[Mapping[str, Any]]
    fired_rules: Sequence[str]
    ruleset_version: str
    ruleset_hash: str
    jurisdiction: str
    config: Mapping[str, Any]
    #: Every fired clinician-review rule, whatever the outcome (rules.md section 9); the queue
    #: surfaces a screening that has any.
    review_flags: Sequence[str] = ()
    #: R-R16 fired: listed before the other non-urgent screenings in the queue.
    priority: bool = False


# --- Codes and secrets --------------------------------------------------------------------


def normalise_code(text: str) -> str:
    """Upper case, no spaces or hyphens, O read as 0 and I or L as 1: sloppy typing still matches."""
    return "".join(text.upper().split()).replace("-", "").translate(_LOOKALIKES)


def _new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _is_code(normalised: str, length: int) -> bool:
    return len(normalised) == length and all(symbol in CODE_ALPHABET for symbol in normalised)


class CodeKind(StrEnum):
    """The two codes a person may hold: they differ in length, so a mix-up can be named."""

    RESUME = "resume"  # continue saved answers (12 symbols)
    REFERENCE = "reference"  # bring to the visit; staff find the screening with it (8 symbols)


def code_kind(text: str) -> CodeKind | None:
    """Which code this text is, however it was typed; ``None`` when it is neither."""
    normalised = normalise_code(text[:64])
    if _is_code(normalised, RESUME_CODE_LENGTH):
        return CodeKind.RESUME
    if _is_code(normalised, REFERENCE_CODE_LENGTH):
        return CodeKind.REFERENCE
    return None


def _shown(code: str) -> str:
    """``XXXX-XXXX``: groups of four are easier to read out and copy."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _with_unique_code(session: Session, length: int, use: Callable[[str], T]) -> T:
    """Run ``use(code)`` in a savepoint; draw a new code if a unique constraint rejects it.

    The savepoint keeps the surrounding transaction usable after the collision (PostgreSQL
    aborts a whole transaction on an error otherwise).
    """
    attempt = 1
    while True:
        code = _new_code(length)
        try:
            with session.begin_nested():
                return use(code)
        except IntegrityError:
            if attempt == CODE_ATTEMPTS:
                raise
            attempt += 1


def plain_json(value: object) -> Any:
    """A deep copy through JSON: fails now, not at flush, on what a JSON column cannot hold."""
    return json.loads(json.dumps(value, allow_nan=False))


def merged_ids(existing: Iterable[str], new: Iterable[str]) -> list[str]:
    """``existing`` then the new IDs not already in it, in order, without repeats."""
    return list(dict.fromkeys([*existing, *new]))


def _lock(session: Session, draft: Draft) -> None:
    """Re-read the draft under a row lock (PostgreSQL), after writing out pending changes.

    On SQLite the writer's BEGIN IMMEDIATE already serialises; FOR UPDATE is not emitted there.
    """
    session.flush()
    session.refresh(draft, with_for_update=True)


# --- Drafts -------------------------------------------------------------------------------


def create_draft(
    session: Session, *, language: str, jurisdiction: str, now: datetime, lifetime: timedelta
) -> tuple[Draft, str]:
    """A new empty draft and the secret token for the browser's session (only its hash is kept)."""
    token = new_token()
    draft = Draft(
        token_hash=secret_hash(token),
        answers={},
        language=language,
        jurisdiction=jurisdiction,
        urgent_shown=[],
        created_at=now,
        updated_at=now,
        expires_at=now + lifetime,
    )
    session.add(draft)
    session.flush()
    return draft, token


def find_draft(session: Session, token: str, now: datetime) -> Draft | None:
    """The draft of this session token, unless it has expired or been completed."""
    return session.scalars(
        select(Draft).where(
            Draft.token_hash == secret_hash(token),
            Draft.expires_at > now,
            Draft.screening_id.is_(None),
        )
    ).one_or_none()


def lock_draft(session: Session, draft_id: int) -> Draft | None:
    """The draft, re-read under a row lock for read-then-write (SELECT ... FOR UPDATE on PostgreSQL)."""
    return session.scalars(
        select(Draft).where(Draft.id == draft_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def save_answers(session: Session, draft: Draft, answers: Mapping[str, Any], now: datetime) -> None:
    """Replace the draft's answers with ``answers`` (question_id -> answer)."""
    draft.answers = plain_json(answers)
    draft.updated_at = now
    session.flush()


def mark_urgent_shown(session: Session, draft: Draft, rule_ids: Sequence[str], now: datetime) -> None:
    """Remember that the crisis panel for these rules was shown, so it is not shown again."""
    draft.urgent_shown = merged_ids(draft.urgent_shown, rule_ids)
    draft.updated_at = now
    session.flush()


def issue_resume_code(session: Session, draft: Draft, *, now: datetime, valid_for: timedelta) -> str:
    """A new resume code shown as ``XXXX-XXXX-XXXX``; any earlier code of this draft stops working.

    The draft is kept at least as long as its code is valid.
    """
    expires = now + valid_for

    def use(code: str) -> str:
        draft.resume_code_hash = secret_hash(code)
        draft.resume_expires_at = expires
        return code

    code = _with_unique_code(session, RESUME_CODE_LENGTH, use)
    draft.expires_at = max(draft.expires_at, expires)
    draft.updated_at = now
    session.flush()
    return _shown(code)


def resume_draft(session: Session, code: str, now: datetime) -> tuple[Draft, str] | None:
    """The draft of a valid resume code and a new session token for it (the old token stops working).

    The code itself stays valid until it expires, is replaced or the draft is completed.
    """
    normalised = normalise_code(code)
    if not _is_code(normalised, RESUME_CODE_LENGTH):
        return None
    draft = session.scalars(
        select(Draft)
        .where(
            Draft.resume_code_hash == secret_hash(normalised),
            Draft.resume_expires_at > now,
            Draft.expires_at > now,
            Draft.screening_id.is_(None),
        )
        .with_for_update()
    ).one_or_none()
    if draft is None:
        return None
    token = new_token()
    draft.token_hash = secret_hash(token)
    draft.updated_at = now
    session.flush()
    return draft, token


def delete_draft(session: Session, draft: Draft) -> None:
    """Forget an unfinished draft ("start again"); its staff alerts stay, without the link."""
    session.delete(draft)
    session.flush()


def purge_expired_drafts(session: Session, now: datetime) -> int:
    """Delete every expired draft, completed or not (completed ones hold no answers); the count."""
    statement = delete(Draft).where(Draft.expires_at <= now).execution_options(synchronize_session=False)
    result = cast("CursorResult[Any]", session.execute(statement))  # a DELETE gives a cursor result
    return result.rowcount


# --- Staff alerts -------------------------------------------------------------------------


#: The window of the per-address limit on urgent alerts (``SCREENER_ALERT_ADDRESS_LIMIT`` within it).
ALERT_ADDRESS_WINDOW = timedelta(minutes=10)
DEFAULT_ALERT_ADDRESS_LIMIT = 3


def record_urgent_alert(
    session: Session,
    *,
    draft: Draft,
    rule_ids: Sequence[str],
    now: datetime,
    source_addr: str | None = None,
    address_limit: int = DEFAULT_ALERT_ADDRESS_LIMIT,
) -> StaffAlert:
    """Alert staff to urgent answers: one open alert per draft, collecting every rule ID that fired.

    Throttled two ways, and never by dropping an answer. Per draft: a form keeps one open alert, and
    each urgent rule alerts once (``mark_urgent_shown``). Per address: once ``source_addr`` has raised
    ``address_limit`` alerts within ``ALERT_ADDRESS_WINDOW`` (many new forms from one client: a flood,
    or a busy shared tablet), each new alert is recorded grouped under that address's newest open
    alert: listed and acknowledged with it, not counted or shown on its own. With no open alert to
    join it stands alone, so staff always have an open alert for a new urgent answer.
    """
    _lock(session, draft)
    alert = session.scalars(
        select(StaffAlert).where(
            StaffAlert.draft_id == draft.id,
            StaffAlert.kind == URGENT_ALERT,
            StaffAlert.acknowledged_at.is_(None),
        )
    ).one_or_none()
    if alert is not None:
        alert.rule_ids = merged_ids(alert.rule_ids, rule_ids)
        session.flush()
        return alert
    alert = StaffAlert(
        kind=URGENT_ALERT,
        draft_id=draft.id,
        screening_id=draft.screening_id,
        rule_ids=merged_ids([], rule_ids),
        created_at=now,
        source_addr=source_addr[:64] if source_addr else None,
        grouped_into_id=_group_for(session, source_addr, now, address_limit) if source_addr else None,
    )
    session.add(alert)
    session.flush()
    return alert


def _group_for(session: Session, source_addr: str, now: datetime, address_limit: int) -> int | None:
    """The open alert a new one from ``source_addr`` joins, once the address is past its limit."""
    source_addr = source_addr[:64]
    if session.get_bind().dialect.name == "postgresql":
        # One decision at a time per address (SQLite's BEGIN IMMEDIATE already serialises writers).
        lock = int.from_bytes(hashlib.sha256(b"alert:" + source_addr.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
    recent = session.scalar(
        select(func.count())
        .select_from(StaffAlert)
        .where(StaffAlert.source_addr == source_addr, StaffAlert.created_at > now - ALERT_ADDRESS_WINDOW)
    )
    if int(recent or 0) < max(1, address_limit):
        return None
    head = session.scalars(
        select(StaffAlert)
        .where(
            StaffAlert.source_addr == source_addr,
            StaffAlert.grouped_into_id.is_(None),
            StaffAlert.acknowledged_at.is_(None),
        )
        .order_by(StaffAlert.id.desc())
        .limit(1)
        .with_for_update()  # acknowledging it waits until this alert has joined (PostgreSQL)
    ).first()
    return head.id if head is not None else None


def acknowledge_grouped(
    session: Session, head: StaffAlert, *, user_id: int, action_taken: str, now: datetime
) -> list[int]:
    """Acknowledge, with ``head``, the open alerts grouped under it; their ids."""
    grouped = session.scalars(
        select(StaffAlert)
        .where(StaffAlert.grouped_into_id == head.id, StaffAlert.acknowledged_at.is_(None))
        .order_by(StaffAlert.id)
        .with_for_update()
    ).all()
    for alert in grouped:
        alert.acknowledged_at = now
        alert.acknowledged_by = user_id
        alert.action_taken = action_taken
    session.flush()
    return [alert.id for alert in grouped]


def urgent_alert_for(session: Session, *, draft_id: int | None, screening_id: int | None) -> StaffAlert | None:
    """The newest urgent alert raised for this unfinished form or screening."""
    if draft_id is None and screening_id is None:
        return None
    owner = StaffAlert.draft_id == draft_id if draft_id is not None else StaffAlert.screening_id == screening_id
    query = select(StaffAlert).where(owner, StaffAlert.kind == URGENT_ALERT).order_by(StaffAlert.id.desc()).limit(1)
    return session.scalars(query).first()


def leave_contact(
    session: Session, alert: StaffAlert, *, name: str | None, phone: str, best_time: str | None, now: datetime
) -> None:
    """Keep the person's contact details with the alert (the latest they sent wins)."""
    alert.contact_choice, alert.contact_name, alert.contact_phone, alert.contact_time = "given", name, phone, best_time
    alert.contact_at = now
    session.flush()


def decline_contact(session: Session, alert: StaffAlert, now: datetime) -> None:
    """The person chose not to leave contact details: the alert says so (and forgets any sent before)."""
    alert.contact_choice, alert.contact_name, alert.contact_phone, alert.contact_time = "declined", None, None, None
    alert.contact_at = now
    session.flush()


# --- Completion and screenings ------------------------------------------------------------


def complete_draft(
    session: Session,
    draft: Draft,
    *,
    record: VersionRecord,
    now: datetime,
    urgent_rule_ids: Sequence[str] = (),
) -> Screening:
    """Turn the draft into a completed screening, once: a second call returns the same screening.

    The draft's alerts are attached to the screening; an URGENT_HELP result with no alert yet gets
    one (listing ``urgent_rule_ids``). The draft's answers are cleared: the version holds them now.
    """
    _lock(session, draft)
    if draft.screening_id is not None:
        return session.scalars(select(Screening).where(Screening.id == draft.screening_id)).one()
    urgent = record.outcome == URGENT_HELP
    screening, _version = new_screening(session, record, now)
    alerts = session.scalars(select(StaffAlert).where(StaffAlert.draft_id == draft.id)).all()
    for alert in alerts:
        alert.screening_id = screening.id
    if urgent and not alerts:
        session.add(
            StaffAlert(
                kind=URGENT_ALERT,
                draft_id=draft.id,
                screening_id=screening.id,
                rule_ids=merged_ids([], urgent_rule_ids),
                created_at=now,
            )
        )
    draft.screening_id = screening.id
    draft.answers = {}
    draft.resume_code_hash = None
    draft.resume_expires_at = None
    draft.updated_at = now
    session.flush()
    return screening


def new_screening(session: Session, record: VersionRecord, now: datetime) -> tuple[Screening, ScreeningVersion]:
    """A completed screening with a unique reference code, and ``record`` as its version 1."""

    def use(code: str) -> Screening:
        screening = Screening(
            reference_code=_shown(code),
            status=COMPLETED,
            current_version=1,
            outcome=record.outcome,
            urgent=record.outcome == URGENT_HELP,
            has_review_flags=bool(record.review_flags),
            priority=record.priority,
            created_at=now,
            updated_at=now,
        )
        session.add(screening)
        session.flush()  # inside the savepoint: a colliding code fails here and is drawn again
        return screening

    screening = _with_unique_code(session, REFERENCE_CODE_LENGTH, use)
    version = new_version(screening, 1, record, now)
    session.add(version)
    return screening, version


def new_version(screening: Screening, number: int, record: VersionRecord, now: datetime) -> ScreeningVersion:
    return ScreeningVersion(
        screening_id=screening.id,
        number=number,
        author_role=record.author_role,
        author_id=record.author_id,
        source=record.source,
        answers=plain_json(record.answers),
        discarded=plain_json(record.discarded),
        outcome=record.outcome,
        underlying_outcome=record.underlying_outcome,
        warnings=plain_json(record.warnings),
        language=record.language,
        clinician_notes=plain_json(record.clinician_notes),
        fired_rules=plain_json(record.fired_rules),
        review_flags=plain_json(record.review_flags),
        priority=record.priority,
        ruleset_version=record.ruleset_version,
        ruleset_hash=record.ruleset_hash,
        jurisdiction=record.jurisdiction,
        config=plain_json(record.config),
        created_at=now,
    )


def find_screening_for_token(session: Session, token: str) -> Screening | None:
    """The screening completed from this session token's draft: a repeated submit finds it."""
    return session.scalars(
        select(Screening).join(Draft, Draft.screening_id == Screening.id).where(Draft.token_hash == secret_hash(token))
    ).one_or_none()


def get_screening(session: Session, screening_id: int) -> Screening | None:
    return session.get(Screening, screening_id)


def find_screening_by_reference(session: Session, code: str) -> Screening | None:
    """The screening of a reference code as a patient might type or read it out."""
    normalised = normalise_code(code)
    if not _is_code(normalised, REFERENCE_CODE_LENGTH):
        return None
    return session.scalars(select(Screening).where(Screening.reference_code == _shown(normalised))).one_or_none()


def current_version(session: Session, screening: Screening) -> ScreeningVersion:
    return session.scalars(
        select(ScreeningVersion).where(
            ScreeningVersion.screening_id == screening.id,
            ScreeningVersion.number == screening.current_version,
        )
    ).one()


def count_open_alerts(session: Session) -> int:
    """Urgent alerts no staff member has acknowledged yet (shown on every staff page).

    An alert grouped under another open one is acted on with it, so it is not counted on its own.
    """
    head = aliased(StaffAlert)
    open_head = select(head.id).where(head.id == StaffAlert.grouped_into_id, head.acknowledged_at.is_(None)).exists()
    query = (
        select(func.count())
        .select_from(StaffAlert)
        .where(StaffAlert.acknowledged_at.is_(None), or_(StaffAlert.grouped_into_id.is_(None), ~open_head))
    )
    return int(session.scalar(query) or 0)
