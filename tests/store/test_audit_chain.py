"""The audit chain against someone who can write to the database (issue 9, item 4; S-20).

Before: the chain was plain SHA-256, so a row could be rewritten and every hash after it computed
again; deleting the newest rows left a valid, shorter chain; dropping the append-only triggers went
unnoticed. Now the chain is an HMAC under the audit key, signed checkpoints record (count, head
hash), and the triggers are checked. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from screener import metrics
from screener.db import Database
from screener.models import AuditCheckpoint, AuditEvent
from screener.store import audit
from tests.store.factories import NOW

KEY = b"k" * 40
OTHER_KEY = b"o" * 40


def postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def without_triggers(session: Session) -> None:
    """What the database's owner can do: lift the append-only triggers (this transaction only on PG)."""
    if postgresql(session):
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        session.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_append_only"))
    else:
        for _table, _name, _verb, _create, drop in audit.SQLITE_TRIGGERS:
            session.execute(text(drop))


def restore_triggers(session: Session) -> None:
    assert audit.repair_triggers(session) or True


def events(database: Database, count: int, *, key: bytes = KEY, start: int = 0) -> None:
    with database.write() as session:
        for number in range(start, start + count):
            audit.record(
                session,
                action="test.event",
                now=NOW + timedelta(seconds=number),
                actor_label="tester",
                object_type="thing",
                object_id=number,
                key=key,
            )


def checkpoint(database: Database, *, key: bytes = KEY) -> str:
    with database.write() as session:
        walked = audit.verify_trail(session, key=key)
        assert walked.problems == []
        written = audit.write_checkpoint(
            session,
            now=NOW,
            event_count=walked.events,
            head_id=walked.head_id,
            head_hash=walked.head_hash,
            actor="tester",
            key=key,
        )
        return audit.checkpoint_json(written)


def problems(database: Database, *, key: bytes = KEY) -> list[str]:
    with database.read() as session:
        return audit.verify(session, key=key)


def test_an_intact_keyed_trail_verifies(database: Database) -> None:
    events(database, 5)
    assert problems(database) == []
    exported = checkpoint(database)
    events(database, 3, start=5)
    assert problems(database) == []
    with database.read() as session:
        assert audit.verify_checkpoint(session, json.loads(exported), key=KEY) == []


def test_the_hashes_are_keyed(database: Database) -> None:
    events(database, 2)
    assert problems(database, key=OTHER_KEY) == [
        "event 1: its content was changed after it was recorded (or the audit key changed)",
        "event 2: its content was changed after it was recorded (or the audit key changed)",
    ]


def recompute_every_hash(session: Session, hasher: Callable[[str, str], str]) -> None:
    """The attack the unkeyed chain could not see: rewrite a row, then hash every row again."""
    rows = session.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).mappings().all()
    prev = audit.GENESIS
    for row in rows:
        new_hash = hasher(prev, audit._content(dict(row)))
        session.execute(
            text("UPDATE audit_event SET prev_hash = :prev, hash = :hash WHERE id = :id"),
            {"prev": prev, "hash": new_hash, "id": row["id"]},
        )
        prev = new_hash


def test_a_rewritten_row_with_every_hash_recomputed_without_the_key_is_caught(database: Database) -> None:
    events(database, 4)
    with database.write() as session:
        without_triggers(session)
        session.execute(text("UPDATE audit_event SET actor = 'someone.else' WHERE id = 2"))
        recompute_every_hash(session, lambda prev, content: hashlib.sha256((prev + content).encode()).hexdigest())
        restore_triggers(session)
    found = problems(database)
    assert found == [
        "events 1 to 4 (4 events) were recorded before the audit trail was keyed: anyone could rewrite them "
        "undetected. Run `screener audit rekey`"
    ]


def test_a_trail_rewritten_with_the_key_is_caught_by_a_checkpoint_kept_elsewhere(database: Database) -> None:
    events(database, 4)
    exported = json.loads(checkpoint(database))
    with database.write() as session:
        without_triggers(session)
        session.execute(text("UPDATE audit_event SET actor = 'someone.else' WHERE id = 2"))
        recompute_every_hash(session, lambda prev, content: audit._keyed_hash(KEY, prev, content))
        session.execute(text("DELETE FROM audit_checkpoint"))  # and the stored checkpoints with it
        restore_triggers(session)
    assert problems(database) == []  # whoever holds the key can forge a consistent trail ...
    with database.read() as session:  # ... but not the checkpoint kept off the machine
        assert audit.verify_checkpoint(session, exported, key=KEY) == [
            "event 4 is not the one the checkpoint recorded: the trail was rewritten"
        ]


def test_deleting_the_newest_events_is_caught_by_the_stored_and_the_exported_checkpoint(
    database: Database,
) -> None:
    events(database, 6)
    exported = json.loads(checkpoint(database))
    with database.write() as session:
        without_triggers(session)
        session.execute(text("DELETE FROM audit_event WHERE id > 3"))
        restore_triggers(session)
    assert problems(database) == [
        "checkpoint 1: event 6, the newest it recorded, is missing: events were deleted from the end of the trail"
    ]
    with database.read() as session:
        assert audit.verify_checkpoint(session, exported, key=KEY) == [
            "event 6, the newest when the checkpoint was written, is missing: "
            "events were deleted from the end of the trail"
        ]


def test_deleting_the_newest_events_and_appending_new_ones_is_caught(database: Database) -> None:
    """SQLite reuses the ids of deleted newest rows: the checkpoint's head is then another event."""
    events(database, 6)
    exported = json.loads(checkpoint(database))
    with database.write() as session:
        without_triggers(session)
        session.execute(text("DELETE FROM audit_event WHERE id > 3"))
        restore_triggers(session)
    events(database, 3, start=100)
    with database.read() as session:
        found = audit.verify_checkpoint(session, exported, key=KEY)
    assert found, "the shortened trail must not pass"


def test_a_forged_or_foreign_checkpoint_is_refused(database: Database) -> None:
    events(database, 3)
    exported = json.loads(checkpoint(database))
    with database.read() as session:
        assert audit.verify_checkpoint(session, {**exported, "event_count": 2}, key=KEY) == [
            "the checkpoint is not valid: its signature does not match: it was forged or altered"
        ]
        assert audit.verify_checkpoint(session, exported, key=OTHER_KEY) == [
            "the checkpoint is not valid: it was signed with another audit key"
        ]
        assert audit.verify_checkpoint(session, {"hello": 1}, key=KEY) == [
            "this is not a checkpoint written by `screener audit checkpoint`"
        ]


def test_a_stored_checkpoint_altered_in_the_database_is_named(database: Database) -> None:
    events(database, 3)
    checkpoint(database)
    with database.write() as session:
        without_triggers(session)
        session.execute(text("UPDATE audit_checkpoint SET event_count = 2"))
        restore_triggers(session)
    assert problems(database) == ["checkpoint 1: its signature does not match: it was forged or altered"]


def test_checkpoints_are_append_only(database: Database) -> None:
    events(database, 1)
    checkpoint(database)
    for statement in ("UPDATE audit_checkpoint SET event_count = 5", "DELETE FROM audit_checkpoint"):
        with pytest.raises(Exception, match="append-only"), database.write() as session:
            session.execute(text(statement))


def test_dropped_or_disabled_triggers_are_named_and_can_be_put_back(database: Database) -> None:
    events(database, 2)
    with database.write() as session:
        if postgresql(session):
            session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
            session.execute(text("DROP TRIGGER audit_checkpoint_append_only ON audit_checkpoint"))
            expected = [
                "trigger audit_event_append_only is disabled: UPDATE and DELETE on audit_event are no longer refused",
                "trigger audit_checkpoint_append_only is missing: UPDATE and DELETE on audit_checkpoint are no "
                "longer refused",
            ]
        else:
            session.execute(text("DROP TRIGGER audit_event_no_delete"))
            session.execute(text("DROP TRIGGER audit_checkpoint_no_update"))
            session.execute(
                text("CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint BEGIN SELECT 1; END")
            )
            expected = [
                "trigger audit_event_no_delete is missing: DELETE on audit_event is no longer refused",
                "trigger audit_checkpoint_no_update was altered: UPDATE on audit_checkpoint may no longer be refused",
            ]
    assert problems(database) == expected
    with database.write() as session:
        assert audit.repair_triggers(session) == expected
    assert problems(database) == []
    with pytest.raises(Exception, match="append-only"), database.write() as session:
        session.execute(text("DELETE FROM audit_event"))


def test_the_recent_check_starts_at_the_newest_checkpoint(database: Database) -> None:
    events(database, 5)
    checkpoint(database)
    events(database, 2, start=5)
    with database.read() as session:
        recent = audit.verify_recent(session, key=KEY)
    assert recent.problems == []
    assert (recent.events_checked, recent.total_events, recent.head_id) == (2, 7, 7)
    assert recent.checkpoint is not None
    assert recent.checkpoint.head_id == 5

    with database.write() as session:  # a change after the checkpoint is seen at once
        without_triggers(session)
        session.execute(text("UPDATE audit_event SET actor = 'x' WHERE id = 6"))
        restore_triggers(session)
    with database.read() as session:
        assert audit.verify_recent(session, key=KEY).problems == [
            "event 6: its content was changed after it was recorded (or the audit key changed)"
        ]


def test_the_recent_check_sees_the_checkpoints_head_changed_or_gone(database: Database) -> None:
    events(database, 5)
    checkpoint(database)
    with database.write() as session:
        without_triggers(session)
        session.execute(text("DELETE FROM audit_event WHERE id = 5"))
        restore_triggers(session)
    with database.read() as session:
        assert audit.verify_recent(session, key=KEY).problems == [
            "checkpoint 1: event 5, the newest when the checkpoint was written, is missing: "
            "events were deleted from the end of the trail"
        ]


def legacy_events(database: Database, count: int, *, after: str = audit.GENESIS, start: int = 0) -> None:
    """Events as they were recorded before the chain was keyed (plain SHA-256)."""
    with database.write() as session:
        prev = after
        for number in range(start, start + count):
            event = AuditEvent(
                occurred_at=NOW + timedelta(seconds=number),
                actor_id=None,
                actor="old",
                action="test.legacy",
                object_type=None,
                object_id=str(number),
                outcome="success",
                remote_addr=None,
                detail={},
                prev_hash=prev,
            )
            event.hash = audit._legacy_hash(prev, audit._content(event))
            session.add(event)
            session.flush()
            prev = event.hash


def head_hash(database: Database) -> str:
    with database.read() as session:
        return str(session.scalars(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).one())


def test_events_from_before_the_key_are_named_until_rekeyed(database: Database) -> None:
    legacy_events(database, 3)
    events(database, 2, start=3)  # recorded after upgrading: keyed, chained from the old head
    assert problems(database) == [
        "events 1 to 3 (3 events) were recorded before the audit trail was keyed: anyone could rewrite them "
        "undetected. Run `screener audit rekey`"
    ]
    with database.write() as session:
        done = audit.rekey(session, key=KEY)
    assert (done.events, done.legacy) == (5, 3)
    assert problems(database) == []
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 5
    with database.write() as session:  # once is enough
        assert audit.rekey(session, key=KEY).legacy == 0
    with pytest.raises(Exception, match="append-only"), database.write() as session:
        session.execute(text("DELETE FROM audit_event"))


def test_rekey_refuses_a_trail_with_other_problems(database: Database) -> None:
    legacy_events(database, 3)
    with database.write() as session:
        without_triggers(session)
        session.execute(text("UPDATE audit_event SET actor = 'x' WHERE id = 2"))
        restore_triggers(session)
    with pytest.raises(audit.RekeyRefused) as refused, database.write() as session:
        audit.rekey(session, key=KEY)
    assert "event 2: its content was changed after it was recorded (or the audit key changed)" in (
        refused.value.problems
    )


def test_rekey_refuses_unkeyed_events_added_after_keyed_ones(database: Database) -> None:
    events(database, 2)
    legacy_events(database, 1, after=head_hash(database), start=2)  # a forged row appended by hand
    with pytest.raises(audit.RekeyRefused, match="added by hand"), database.write() as session:
        audit.rekey(session, key=KEY)


def test_the_metrics_give_the_newest_checkpoints_age(database: Database) -> None:
    with database.read() as session:
        assert metrics.audit_checkpoint_age(session, NOW) is None
    events(database, 1)
    checkpoint(database)  # written at NOW
    with database.read() as session:
        assert metrics.audit_checkpoint_age(session, NOW + timedelta(minutes=5)) == 300.0
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1
