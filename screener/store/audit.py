"""The audit trail: append-only and tamper-evident (HIPAA 164.312(b) and (c)(2)).

Each event's hash is an HMAC-SHA256, under the audit key, of its content and the previous event's
hash. Editing or deleting a row breaks the chain, and without the key nobody can rewrite a row and
compute the hashes again; ``verify`` reports every break. The database also refuses UPDATE, DELETE
on the trail: ``append_only_problems`` checks that those triggers are
still there, and ``verify`` reports them missing.

Deleting the newest rows leaves an intact, shorter chain. Checkpoints catch it: a checkpoint is a
signed (count, head hash) statement (``AuditCheckpoint``), written by ``screener audit checkpoint``
and by the audit page, and printed as a JSON line to keep off the machine. ``verify_checkpoint``
checks an exported one against the trail; ``verify`` checks every stored one.

The key is ``SCREENER_AUDIT_KEY`` (development: ``instance/audit.key``), never the session secret:
inside a Flask app it is the app's ``AUDIT_KEY``, elsewhere (the commands, the metrics exporter) it
is read from the environment as the app reads it. Events recorded before the chain was keyed have
plain SHA-256 hashes; ``verify`` names them until ``rekey`` re-hashes the trail under the key.

Events hold identifiers and codes, never patient data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.orm import Session

from screener.models import AuditCheckpoint, AuditEvent, StaffUser

GENESIS = "0" * 64
#: Serialises appends on PostgreSQL (SQLite's BEGIN IMMEDIATE already does): one chain, no forks.
_CHAIN_LOCK = 0x5C12EE4E
#: Rows read per round trip when walking the chain.
_BATCH = 2000
#: How many of one kind of problem are listed before the rest are counted.
PROBLEMS_LISTED = 200
CHECKPOINT_TYPE = "screener-audit-checkpoint"


# --- The key ---------------------------------------------------------------------------------------


def key_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")


@lru_cache(maxsize=8)
def _environment_key(_cache_key: tuple[str | None, ...]) -> bytes:
    from screener.config import audit_key_from_environment

    return key_bytes(audit_key_from_environment())


def current_key() -> bytes:
    """The audit key in force: the Flask app's ``AUDIT_KEY`` inside one, else the environment's."""
    from flask import current_app, has_app_context

    if has_app_context():
        configured = current_app.config.get("AUDIT_KEY")
        if configured:
            return key_bytes(configured)
    import os

    names = ("SCREENER_ENV", "SCREENER_SECRET_KEY", "SCREENER_AUDIT_KEY")
    return _environment_key((*(os.environ.get(name) for name in names), os.getcwd()))


def key_id(key: bytes) -> str:
    """A fingerprint that tells keys apart without revealing them (stored with each checkpoint)."""
    return hmac.new(key, b"screener/audit-key-id/v1", hashlib.sha256).hexdigest()[:16]


# --- The chain -------------------------------------------------------------------------------------


#: The columns an event's hash covers, in the order ``_rows`` reads them after id, prev_hash and hash.
_CONTENT = (
    "occurred_at",
    "actor_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "remote_addr",
    "detail",
)
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _content_of(values: Sequence[Any]) -> str:
    """The canonical JSON of an event's content (``values`` in ``_CONTENT`` order)."""
    content = dict(zip(_CONTENT, values, strict=True))
    content["occurred_at"] = content["occurred_at"].isoformat()
    return _encode(content)


def _content(event: AuditEvent | Mapping[str, Any]) -> str:
    if isinstance(event, Mapping):
        return _content_of([event[name] for name in _CONTENT])
    return _content_of([getattr(event, name) for name in _CONTENT])


def _keyed_hash(key: bytes, prev_hash: str, content: str) -> str:
    return hmac.new(key, (prev_hash + content).encode("utf-8"), hashlib.sha256).hexdigest()


def _legacy_hash(prev_hash: str, content: str) -> str:
    """How events were hashed before the chain was keyed (anyone could compute it)."""
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


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
    key: bytes | None = None,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's write transaction)."""
    key = key or current_key()
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
    event.hash = _keyed_hash(key, event.prev_hash, _content(event))
    session.add(event)
    session.flush()
    return event


@dataclass
class ChainWalk:
    """What walking (part of) the chain found."""

    problems: list[str] = field(default_factory=list)
    #: Events walked, and the newest one's id and hash (the head the walk ended on).
    events: int = 0
    head_id: int | None = None
    head_hash: str = GENESIS
    #: Ids of events recorded before the chain was keyed (plain SHA-256), oldest first.
    legacy: list[int] = field(default_factory=list)
    #: A keyed event came before a legacy one: legacy rows were added later, by hand.
    legacy_after_keyed: bool = False

    def note(self, problem: str) -> None:
        if len(self.problems) < PROBLEMS_LISTED:
            self.problems.append(problem)
        elif len(self.problems) == PROBLEMS_LISTED:
            self.problems.append("... and more problems: the list stops here")


def _rows(session: Session, after_id: int | None) -> Iterator[Sequence[Any]]:
    """Every event after ``after_id`` in id order, as (id, prev_hash, hash, *content), a batch at a time
    (keyset, never OFFSET)."""
    table = AuditEvent.__table__
    columns = [table.c.id, table.c.prev_hash, table.c.hash, *(table.c[name] for name in _CONTENT)]
    last = after_id
    while True:
        query = select(*columns).order_by(table.c.id).limit(_BATCH)
        if last is not None:
            query = query.where(table.c.id > last)
        batch = session.execute(query).all()
        yield from batch
        if len(batch) < _BATCH:
            return
        last = batch[-1][0]


def walk(
    session: Session,
    key: bytes,
    *,
    after_id: int | None = None,
    prev_hash: str = GENESIS,
    checkpoints: Mapping[int, AuditCheckpoint] | None = None,
    counted_before: int = 0,
) -> ChainWalk:
    """Check every event after ``after_id`` (all of them by default), chained from ``prev_hash``.

    ``checkpoints`` (by head id) are checked on the way: when the walk reaches a checkpoint's head,
    the events counted so far and that event's hash must be what the checkpoint says.
    """
    found = ChainWalk(head_id=after_id, head_hash=prev_hash)
    expected_prev = prev_hash
    count = counted_before
    seen_keyed = False
    for row in _rows(session, after_id):
        count += 1
        event_id, prev_hash, event_hash = row[0], row[1], row[2]
        if prev_hash != expected_prev:
            found.note(f"event {event_id}: the event before it was changed or deleted")
        content = _content_of(row[3:])
        if hmac.compare_digest(_keyed_hash(key, prev_hash, content), event_hash):
            seen_keyed = True
        elif _legacy_hash(prev_hash, content) == event_hash:
            found.legacy.append(event_id)
            found.legacy_after_keyed = found.legacy_after_keyed or seen_keyed
        else:
            found.note(f"event {event_id}: its content was changed after it was recorded (or the audit key changed)")
        if checkpoints and event_id in checkpoints:
            _check_checkpoint_head(found, checkpoints[event_id], count, event_hash)
        expected_prev = event_hash
        found.head_id, found.head_hash = event_id, event_hash
    found.events = count - counted_before
    if found.legacy:
        first, last = found.legacy[0], found.legacy[-1]
        found.note(
            f"events {first} to {last} ({len(found.legacy)} events) were recorded before the audit trail was keyed: "
            "anyone could rewrite them undetected. Run `screener audit rekey`"
        )
    return found


def _check_checkpoint_head(found: ChainWalk, checkpoint: AuditCheckpoint, count: int, head_hash: str) -> None:
    if checkpoint.head_hash != head_hash:
        found.note(
            f"checkpoint {checkpoint.id}: event {checkpoint.head_id} is not the one it recorded: "
            "the trail was rewritten"
        )
    if checkpoint.event_count != count:
        found.note(
            f"checkpoint {checkpoint.id}: it counted {checkpoint.event_count} events up to event "
            f"{checkpoint.head_id}, the trail now has {count}: events were deleted or added"
        )


def verify(session: Session, *, key: bytes | None = None) -> list[str]:
    """Every problem with the whole trail, in words (empty when it is intact).

    The append-only triggers, every event's hash and link, and every stored checkpoint: its signature,
    and the count and head hash it recorded.
    """
    return verify_trail(session, key=key).problems


def verify_trail(session: Session, *, key: bytes | None = None) -> ChainWalk:
    """``verify``, with the head the walk ended on (what a checkpoint of the verified trail records)."""
    key = key or current_key()
    problems = append_only_problems(session)
    stored = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
    usable: dict[int, AuditCheckpoint] = {}
    for checkpoint in stored:
        problem = checkpoint_signature_problem(checkpoint_fields(checkpoint), checkpoint.signature, key)
        if problem:
            problems.append(f"checkpoint {checkpoint.id}: {problem}")
        elif checkpoint.head_id is not None:
            usable[checkpoint.head_id] = checkpoint
    walked = walk(session, key, checkpoints=usable)
    problems += walked.problems
    reached = {head_id for head_id in usable if walked.head_id is not None and head_id <= walked.head_id}
    present = set(session.scalars(select(AuditEvent.id).where(AuditEvent.id.in_(reached)))) if reached else set()
    for head_id, checkpoint in usable.items():
        if head_id not in present:
            problems.append(
                f"checkpoint {checkpoint.id}: event {head_id}, the newest it recorded, is missing: "
                "events were deleted from the end of the trail"
            )
    walked.problems = problems
    return walked


# --- Append-only triggers -------------------------------------------------------------------------

#: SQLite: (table, trigger, statement it refuses, the trigger's CREATE, its DROP). Written out in full:
#: no SQL here is formatted at run time (tests/test_sql_safety.py).
SQLITE_TRIGGERS = (
    (
        "audit_event",
        "audit_event_no_update",
        "UPDATE",
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
        "DROP TRIGGER IF EXISTS audit_event_no_update",
    ),
    (
        "audit_event",
        "audit_event_no_delete",
        "DELETE",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
        "DROP TRIGGER IF EXISTS audit_event_no_delete",
    ),
    (
        "audit_checkpoint",
        "audit_checkpoint_no_update",
        "UPDATE",
        "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
        "DROP TRIGGER IF EXISTS audit_checkpoint_no_update",
    ),
    (
        "audit_checkpoint",
        "audit_checkpoint_no_delete",
        "DELETE",
        "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
        "DROP TRIGGER IF EXISTS audit_checkpoint_no_delete",
    ),
)
#: PostgreSQL: (table, trigger, function, its DROP, its CREATE). Each must be a BEFORE ... FOR EACH ROW
#: trigger on UPDATE and DELETE: pg_trigger.tgtype bits ROW 1, BEFORE 2, DELETE 8, UPDATE 16. (TRUNCATE
#: skips row triggers; a truncated trail is caught by the checkpoints' counts.)
POSTGRESQL_TRIGGERS = (
    (
        "audit_event",
        "audit_event_append_only",
        "audit_event_append_only",
        "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    ),
    (
        "audit_checkpoint",
        "audit_checkpoint_append_only",
        "screener_append_only",
        "DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint",
        "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint "
        "FOR EACH ROW EXECUTE FUNCTION screener_append_only()",
    ),
)
_ROW_BEFORE_UPDATE_DELETE = 1 | 2 | 8 | 16


def append_only_problems(session: Session) -> list[str]:
    """The append-only triggers that are missing, disabled or altered (empty: all in place)."""
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql_trigger_problems(session)
    rows = session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    found: dict[str, str | None] = {str(row[0]): row[1] for row in rows}
    problems = []
    for table, name, verb, create, _drop in SQLITE_TRIGGERS:
        sql = " ".join(str(found.get(name) or "").split())
        if not sql:
            problems.append(f"trigger {name} is missing: {verb} on {table} is no longer refused")
        elif sql != create:
            problems.append(f"trigger {name} was altered: {verb} on {table} may no longer be refused")
    return problems


def _postgresql_trigger_problems(session: Session) -> list[str]:
    rows = session.execute(
        text(
            "SELECT t.tgname, t.tgtype, t.tgenabled, p.proname, p.prosrc, c.relname"
            " FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgrelid IN (to_regclass('audit_event'), to_regclass('audit_checkpoint'))"
            " AND NOT t.tgisinternal"
        )
    ).all()
    found = {(row.relname, row.tgname): row for row in rows}
    problems = []
    for table, name, function, _drop, _create in POSTGRESQL_TRIGGERS:
        row = found.get((table, name))
        bits = _ROW_BEFORE_UPDATE_DELETE
        if row is None:
            problems.append(f"trigger {name} is missing: UPDATE and DELETE on {table} are no longer refused")
        elif row.tgenabled == "D":
            problems.append(f"trigger {name} is disabled: UPDATE and DELETE on {table} are no longer refused")
        elif int(row.tgtype) & bits != bits or row.proname != function or "RAISE EXCEPTION" not in row.prosrc:
            problems.append(f"trigger {name} was altered: UPDATE and DELETE on {table} may no longer be refused")
    return problems


def repair_triggers(session: Session) -> list[str]:
    """Put back every missing, disabled or altered append-only trigger; what was wrong, in words."""
    problems = append_only_problems(session)
    if not problems:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$"
            )
        )
        session.execute(
            text(
                "CREATE OR REPLACE FUNCTION screener_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
            )
        )
        for _table, _name, _function, drop, create in POSTGRESQL_TRIGGERS:
            session.execute(text(drop))
            session.execute(text(create))
    else:
        for _table, _name, _verb, create, drop in SQLITE_TRIGGERS:
            session.execute(text(drop))
            session.execute(text(create))
    return problems


# --- Checkpoints -----------------------------------------------------------------------------------


def checkpoint_fields(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """What a checkpoint's signature covers."""
    return {
        "created_at": checkpoint.created_at.isoformat(),
        "event_count": checkpoint.event_count,
        "head_id": checkpoint.head_id,
        "head_hash": checkpoint.head_hash,
        "key_id": checkpoint.key_id,
    }


def _signature(fields: Mapping[str, Any], key: bytes) -> str:
    message = json.dumps({"type": CHECKPOINT_TYPE, **fields}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_signature_problem(fields: Mapping[str, Any], signature: object, key: bytes) -> str | None:
    """Why a checkpoint's signature does not hold under ``key`` (None: it does)."""
    if fields.get("key_id") != key_id(key):
        return "it was signed with another audit key"
    if not isinstance(signature, str) or not hmac.compare_digest(_signature(fields, key), signature):
        return "its signature does not match: it was forged or altered"
    return None


def write_checkpoint(
    session: Session, *, now: datetime, event_count: int, head_id: int | None, head_hash: str, actor: str, key: bytes
) -> AuditCheckpoint:
    """Record a signed checkpoint of a head the caller has verified."""
    checkpoint = AuditCheckpoint(
        created_at=now,
        event_count=event_count,
        head_id=head_id,
        head_hash=head_hash,
        key_id=key_id(key),
        actor=actor[:64],
        signature="",
    )
    checkpoint.signature = _signature(checkpoint_fields(checkpoint), key)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def checkpoint_json(checkpoint: AuditCheckpoint) -> str:
    """One JSON line to keep off the machine (``screener audit verify --checkpoint FILE`` reads it)."""
    document = {"type": CHECKPOINT_TYPE, "id": checkpoint.id, **checkpoint_fields(checkpoint)}
    document["signature"] = checkpoint.signature
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()


def count_up_to(session: Session, head_id: int | None) -> int:
    if head_id is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= head_id)) or 0)


def verify_checkpoint(session: Session, document: Mapping[str, Any], *, key: bytes | None = None) -> list[str]:
    """Check a checkpoint kept off the machine against the trail: what no longer matches, in words."""
    key = key or current_key()
    names = ("created_at", "event_count", "head_id", "head_hash", "key_id")
    if document.get("type") != CHECKPOINT_TYPE or any(name not in document for name in names):
        return ["this is not a checkpoint written by `screener audit checkpoint`"]
    fields = {name: document[name] for name in names}
    problem = checkpoint_signature_problem(fields, document.get("signature"), key)
    if problem:
        return [f"the checkpoint is not valid: {problem}"]
    head_id, count = fields["head_id"], fields["event_count"]
    if head_id is None:
        return []
    if not isinstance(head_id, int) or not isinstance(count, int):
        return ["the checkpoint is not valid: its head or count is not a number"]
    head_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == head_id))
    if head_hash is None:
        return [
            f"event {head_id}, the newest when the checkpoint was written, is missing: "
            "events were deleted from the end of the trail"
        ]
    problems = []
    if head_hash != fields["head_hash"]:
        problems.append(f"event {head_id} is not the one the checkpoint recorded: the trail was rewritten")
    now_counted = count_up_to(session, head_id)
    if now_counted != count:
        problems.append(
            f"the checkpoint counted {count} events up to event {head_id}, the trail now has {now_counted}: "
            "events were deleted or added"
        )
    return problems


@dataclass(frozen=True)
class RecentCheck:
    """The audit page's check: the triggers, the newest checkpoint, and every event after it."""

    problems: list[str]
    checkpoint: AuditCheckpoint | None
    #: Events checked after the checkpoint (all of them when there is none).
    events_checked: int
    #: The newest event checked, and the number of events up to it: a head a new checkpoint may record.
    head_id: int | None
    head_hash: str
    total_events: int


def verify_recent(session: Session, *, key: bytes | None = None) -> RecentCheck:
    """Check the trail from its newest checkpoint on, not from the start (the audit page, at every view).

    The checkpoint itself must be signed with the key in force, its head event must still be there with
    the hash it recorded, and as many events as it counted must lie up to it. ``verify`` (the command)
    walks the whole trail.
    """
    key = key or current_key()
    problems = append_only_problems(session)
    checkpoint = latest_checkpoint(session)
    after_id, prev_hash, counted = None, GENESIS, 0
    if checkpoint is not None:
        problem = checkpoint_signature_problem(checkpoint_fields(checkpoint), checkpoint.signature, key)
        if problem:
            problems.append(f"checkpoint {checkpoint.id}: {problem}")
        else:
            problems += [
                f"checkpoint {checkpoint.id}: {found}"
                for found in verify_checkpoint(
                    session,
                    {"type": CHECKPOINT_TYPE, **checkpoint_fields(checkpoint), "signature": checkpoint.signature},
                    key=key,
                )
            ]
            after_id, prev_hash, counted = checkpoint.head_id, checkpoint.head_hash, checkpoint.event_count
    walked = walk(session, key, after_id=after_id, prev_hash=prev_hash)
    problems += walked.problems
    return RecentCheck(
        problems=problems,
        checkpoint=checkpoint,
        events_checked=walked.events,
        head_id=walked.head_id,
        head_hash=walked.head_hash,
        total_events=counted + walked.events,
    )


# --- Re-keying events recorded before the key ------------------------------------------------------


@dataclass(frozen=True)
class Rekeyed:
    events: int
    legacy: int


class RekeyRefused(RuntimeError):
    """The trail has problems besides unkeyed events: re-keying would hide them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def rekey(session: Session, *, key: bytes | None = None) -> Rekeyed:
    """Re-hash the whole trail under the key, once its only problem is events recorded before the key.

    Refused (nothing changed) when anything else is wrong, and when unkeyed events come after keyed
    ones (those were added by hand). The append-only triggers are lifted for this transaction only.
    """
    key = key or current_key()
    walked = walk(session, key)
    other = [problem for problem in walked.problems if "before the audit trail was keyed" not in problem]
    if walked.legacy_after_keyed:
        other.append("events without the key come after keyed ones: they were added by hand, not recorded")
    other += append_only_problems(session)
    if other:
        raise RekeyRefused(other)
    if not walked.legacy:
        return Rekeyed(walked.events, 0)
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        for _table, _name, _verb, _create, drop in SQLITE_TRIGGERS[:2]:
            session.execute(text(drop))
    table = cast(Table, AuditEvent.__table__)
    prev = GENESIS
    for row in list(_rows(session, None)):
        new_hash = _keyed_hash(key, prev, _content_of(row[3:]))
        session.execute(update(table).where(table.c.id == row[0]).values(prev_hash=prev, hash=new_hash))
        prev = new_hash
    if postgresql:
        session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    else:
        for _table, _name, _verb, create, _drop in SQLITE_TRIGGERS[:2]:
            session.execute(text(create))
    return Rekeyed(walked.events, len(walked.legacy))


# --- Reading the trail -----------------------------------------------------------------------------


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
