"""The audit trail: append-only and tamper-evident (HIPAA 164.312(b) and (c)(2)).

Each event's hash covers its content and the previous event's hash. Editing or deleting a row
breaks the chain, which ``verify`` reports; the database also refuses UPDATE and DELETE on the
table (a trigger on both backends). Events hold identifiers and codes, never patient data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from screener.models import AuditEvent, StaffUser

GENESIS = "0" * 64
#: Serialises appends on PostgreSQL (SQLite's BEGIN IMMEDIATE already does): one chain, no forks.
_CHAIN_LOCK = 0x5C12EE4E


def _content(event: AuditEvent) -> str:
    return json.dumps(
        {
            "occurred_at": event.occurred_at.isoformat(),
            "actor_id": event.actor_id,
            "actor": event.actor,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "outcome": event.outcome,
            "remote_addr": event.remote_addr,
            "detail": event.detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _content(event)).encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    now: datetime,
    actor: StaffUser | None = None,
    actor_label: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    outcome: str = "success",
    remote_addr: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's write transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    last = session.scalars(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    event = AuditEvent(
        occurred_at=now,
        actor_id=actor.id if actor else None,
        actor=actor.username if actor else (actor_label or "anonymous"),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
        remote_addr=remote_addr,
        detail=dict(detail or {}),
        prev_hash=last or GENESIS,
    )
    event.hash = _chain_hash(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> list[str]:
    """Every break in the chain, in words (empty when the trail is intact)."""
    problems: list[str] = []
    expected_prev = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)):
        if event.prev_hash != expected_prev:
            problems.append(f"event {event.id}: the event before it was changed or deleted")
        if _chain_hash(event.prev_hash, event) != event.hash:
            problems.append(f"event {event.id}: its content was changed after it was recorded")
        expected_prev = event.hash
    return problems


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_events(
    session: Session, where: EventFilter, *, before_id: int | None = None, limit: int = 50
) -> Sequence[AuditEvent]:
    """Newest first, one keyset page (``before_id``: the last id of the previous page)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if where.actor:
        query = query.where(AuditEvent.actor == where.actor.strip().lower())
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.object_type:
        query = query.where(AuditEvent.object_type == where.object_type)
    if where.object_id:
        query = query.where(AuditEvent.object_id == where.object_id)
    if where.since:
        query = query.where(AuditEvent.occurred_at >= where.since)
    if where.until:
        query = query.where(AuditEvent.occurred_at < where.until)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return session.scalars(query).all()


def actions(session: Session) -> Iterator[str]:
    """The actions recorded so far, for the filter's choices."""
    yield from session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
