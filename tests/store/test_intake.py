"""Staff intake and amendments (new versions, the old ones untouched), double submits, urgent alerts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import date, timedelta

from sqlalchemy import select

from screener import store
from screener.db import Database
from screener.models import Screening, ScreeningVersion, StaffAlert
from screener.store import audit
from screener.store import intake as intake_store
from screener.store import staff as staff_store
from screener.store.intake import Acknowledgement, Subject
from tests.store.factories import NOW, case_record, count, new_draft, record

THREADS = 8
ADA = Subject("Ada Lovelace", date(2001, 12, 10), "MRN-0042")
NOBODY = Subject(None, None, None)


def nurse_record(**changes: object) -> store.VersionRecord:
    return record(**({"author_role": "nurse", "author_id": 7, "source": "nurse"} | changes))


def urgent(rule_ids: list[str], **changes: object) -> store.VersionRecord:
    return nurse_record(outcome="URGENT_HELP", fired_rules=[*rule_ids, "R-R03"], **changes)


def _created(database: Database, given: store.VersionRecord | None = None, subject: Subject = ADA) -> int:
    given = given or nurse_record()
    with database.write() as session:
        screening = intake_store.create_screening(
            session, record=given, subject=subject, now=NOW, urgent_rule_ids=[r for r in given.fired_rules if "-U" in r]
        )
        return screening.id


def _amend(
    database: Database, screening_id: int, given: store.VersionRecord, subject: Subject = ADA, minutes: int = 5
) -> int:
    with database.write() as session:
        screening = intake_store.lock_screening(session, screening_id)
        assert screening is not None
        version = intake_store.amend_screening(
            session,
            screening,
            record=given,
            subject=subject,
            now=NOW + timedelta(minutes=minutes),
            urgent_rule_ids=[r for r in given.fired_rules if "-U" in r],
        )
        return version.number


def _alerts(database: Database) -> list[StaffAlert]:
    with database.read() as session:
        return list(session.scalars(select(StaffAlert).order_by(StaffAlert.id)).all())


# --- Intake -------------------------------------------------------------------------------


def test_an_intake_is_a_completed_screening_with_version_one(database: Database) -> None:
    given = nurse_record()
    screening_id = _created(database, given)
    with database.read() as session:
        screening = store.get_screening(session, screening_id)
        assert screening is not None
        assert (screening.status, screening.current_version, screening.outcome, screening.urgent) == (
            "completed",
            1,
            "CLINICIAN_REVIEW",
            False,
        )
        assert (screening.review_status, screening.created_at, screening.updated_at) == ("unreviewed", NOW, NOW)
        assert intake_store.subject_of(screening) == ADA
        assert store.find_screening_by_reference(session, screening.reference_code) is not None
        version = store.current_version(session, screening)
        assert {field: getattr(version, field) for field in asdict(given)} == asdict(given)
        assert (version.number, version.created_at) == (1, NOW)
    assert _alerts(database) == []


def test_an_urgent_intake_raises_one_alert_on_the_screening(database: Database) -> None:
    screening_id = _created(database, urgent(["R-U01"]))
    [alert] = _alerts(database)
    assert (alert.kind, alert.screening_id, alert.draft_id, alert.rule_ids) == ("urgent", screening_id, None, ["R-U01"])
    assert (alert.created_at, alert.acknowledged_at) == (NOW, None)


def test_intakes_get_distinct_reference_codes(database: Database) -> None:
    ids = [_created(database) for _ in range(5)]
    with database.read() as session:
        codes = {session.get(Screening, screening_id).reference_code for screening_id in ids}  # type: ignore[union-attr]
    assert len(codes) == 5


def test_an_intake_stores_the_review_flags_and_priority_and_the_queue_sees_them(database: Database) -> None:
    """TC72 entered by a nurse: OTHER_TREATMENTS_FIRST, yet R-R04 and R-R16 need a clinician, first."""
    given = case_record("TC72", author_role="nurse", source="nurse")
    screening_id = _created(database, given)
    with database.read() as session:
        screening = store.get_screening(session, screening_id)
        assert screening is not None
        version = store.current_version(session, screening)
        assert (version.outcome, version.review_flags, version.priority) == (
            "OTHER_TREATMENTS_FIRST",
            ["R-R04", "R-R16"],
            True,
        )
        assert (screening.outcome, screening.has_review_flags, screening.priority) == (
            "OTHER_TREATMENTS_FIRST",
            True,
            True,
        )


# --- Amendments ---------------------------------------------------------------------------


def test_an_amendment_sets_the_queue_flags_from_the_new_version(database: Database) -> None:
    """The queue follows the current version; each version keeps its own flags."""
    screening_id = _created(database, case_record("TC72", author_role="nurse", source="nurse"))
    _amend(database, screening_id, case_record("TC68", author_role="nurse", source="nurse"), minutes=5)
    with database.read() as session:
        screening = store.get_screening(session, screening_id)
        assert screening is not None
        assert (screening.has_review_flags, screening.priority) == (True, False)
    calm = nurse_record(fired_rules=["R-G01"], review_flags=[], priority=False, outcome="DISCUSSION_APPROPRIATE")
    _amend(database, screening_id, calm, minutes=10)
    with database.read() as session:
        screening = store.get_screening(session, screening_id)
        assert screening is not None
        assert (screening.has_review_flags, screening.priority) == (False, False)
        versions = session.scalars(
            select(ScreeningVersion)
            .where(ScreeningVersion.screening_id == screening_id)
            .order_by(ScreeningVersion.number)
        ).all()
        assert [(v.review_flags, v.priority) for v in versions] == [
            (["R-R04", "R-R16"], True),
            (["R-R04"], False),
            ([], False),
        ]


def test_an_amendment_adds_a_version_and_leaves_the_first_as_it_was(database: Database) -> None:
    first = nurse_record()
    screening_id = _created(database, first, NOBODY)
    with database.write() as session:
        screening = session.get(Screening, screening_id)
        assert screening is not None
        screening.review_status = "agreed"
    second = nurse_record(author_role="clinician", author_id=9, source="patient", outcome="DISCUSSION_APPROPRIATE")
    assert _amend(database, screening_id, second) == 2
    with database.read() as session:
        screening = session.get(Screening, screening_id)
        assert screening is not None
        assert (screening.current_version, screening.status, screening.outcome, screening.review_status) == (
            2,
            "amended",
            "DISCUSSION_APPROPRIATE",
            "unreviewed",
        )
        assert (screening.created_at, screening.updated_at) == (NOW, NOW + timedelta(minutes=5))
        assert intake_store.subject_of(screening) == ADA
        versions = session.scalars(
            select(ScreeningVersion)
            .where(ScreeningVersion.screening_id == screening_id)
            .order_by(ScreeningVersion.number)
        ).all()
        assert [v.number for v in versions] == [1, 2]
        assert {field: getattr(versions[0], field) for field in asdict(first)} == asdict(first)
        assert {field: getattr(versions[1], field) for field in asdict(second)} == asdict(second)
        assert versions[0].created_at == NOW
        # A correction of the patient details is part of the new version; the first keeps its own.
        subjects = [(v.subject_name, v.subject_birth_date, v.subject_mrn) for v in versions]
        assert subjects == [(None, None, None), ("Ada Lovelace", date(2001, 12, 10), "MRN-0042")]
        v1 = intake_store.version_of(session, screening, 1)
        assert v1 is not None
        assert v1.id == versions[0].id
        assert intake_store.version_of(session, screening, 3) is None


def test_an_amendment_that_becomes_urgent_raises_an_alert(database: Database) -> None:
    screening_id = _created(database)
    _amend(database, screening_id, urgent(["R-U02"]))
    [alert] = _alerts(database)
    assert (alert.screening_id, alert.rule_ids, alert.created_at) == (
        screening_id,
        ["R-U02"],
        NOW + timedelta(minutes=5),
    )
    with database.read() as session:
        assert session.get(Screening, screening_id).urgent is True  # type: ignore[union-attr]


def test_an_urgent_screening_amended_again_does_not_alert_twice_for_the_same_rules(database: Database) -> None:
    screening_id = _created(database, urgent(["R-U01"]))
    with database.write() as session:
        [alert] = session.scalars(select(StaffAlert)).all()
        intake_store.acknowledge_alert(session, alert.id, user_id=1, action_taken="Called", now=NOW)
    _amend(database, screening_id, urgent(["R-U01"]), minutes=10)  # e.g. the MRN filled in
    assert len(_alerts(database)) == 1
    _amend(database, screening_id, urgent(["R-U01", "R-U02"]), minutes=20)  # a new urgent finding
    alerts = _alerts(database)
    assert [(a.rule_ids, a.acknowledged_at is None) for a in alerts] == [(["R-U01"], False), (["R-U01", "R-U02"], True)]


def test_an_open_alert_collects_the_new_rules_of_an_amendment(database: Database) -> None:
    screening_id = _created(database, urgent(["R-U01"]))
    _amend(database, screening_id, urgent(["R-U03"]))
    [alert] = _alerts(database)
    assert alert.rule_ids == ["R-U01", "R-U03"]


def test_urgent_again_after_a_calm_version_alerts_again(database: Database) -> None:
    screening_id = _created(database, urgent(["R-U01"]))
    with database.write() as session:
        intake_store.acknowledge_alert(session, _alerts(database)[0].id, user_id=1, action_taken="Called", now=NOW)
    _amend(database, screening_id, nurse_record(), minutes=5)
    _amend(database, screening_id, urgent(["R-U01"]), minutes=10)
    assert [a.acknowledged_at is None for a in _alerts(database)] == [False, True]


def test_lock_screening_of_an_unknown_id_is_none(database: Database) -> None:
    with database.write() as session:
        assert intake_store.lock_screening(session, 404) is None


def test_concurrent_amendments_make_consecutive_versions(database: Database) -> None:
    """Two staff members saving at once: the row lock gives each its own number, none lost."""
    screening_id = _created(database)
    start = threading.Barrier(THREADS)

    def amend(number: int) -> int:
        start.wait(timeout=30)
        with database.write() as session:
            # Half lock first as the view does; half rely on amend_screening's own lock.
            screening = (
                intake_store.lock_screening(session, screening_id)
                if number % 2
                else session.get(Screening, screening_id)
            )
            assert screening is not None
            return intake_store.amend_screening(
                session, screening, record=nurse_record(), subject=ADA, now=NOW, urgent_rule_ids=[]
            ).number

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        numbers = sorted(pool.map(amend, range(THREADS)))
    assert numbers == list(range(2, THREADS + 2))
    with database.read() as session:
        assert count(session, ScreeningVersion) == THREADS + 1
        assert session.get(Screening, screening_id).current_version == THREADS + 1  # type: ignore[union-attr]


# --- Double submits -----------------------------------------------------------------------


def test_a_form_key_finds_the_screening_its_creator_made(database: Database) -> None:
    key_hash = intake_store.form_key_hash("a-one-time-form-key-123")
    assert key_hash == intake_store.form_key_hash("a-one-time-form-key-123")
    assert key_hash != intake_store.form_key_hash("another-form-key-4567")
    screening_id = _created(database)
    with database.write() as session:
        nurse = staff_store.create_user(
            session, username="nurse.ada", display_name="Ada", role="nurse", password_hash="x", now=NOW
        )
        other = staff_store.create_user(
            session, username="nurse.bob", display_name="Bob", role="nurse", password_hash="x", now=NOW
        )
        nurse_id, other_id = nurse.id, other.id
        intake_store.claim_form_key(session, key_hash)
        assert intake_store.form_screening(session, actor_id=nurse_id, key_hash=key_hash) is None
        audit.record(
            session,
            action=intake_store.CREATE_ACTION,
            now=NOW,
            actor=nurse,
            object_type="screening",
            object_id=screening_id,
            detail={"version": 1, "form": key_hash},
        )
    with database.write() as session:
        assert intake_store.form_screening(session, actor_id=nurse_id, key_hash=key_hash) == screening_id
        assert intake_store.form_screening(session, actor_id=other_id, key_hash=key_hash) is None
        other_key = intake_store.form_key_hash("another-form-key-4567")
        assert intake_store.form_screening(session, actor_id=nurse_id, key_hash=other_key) is None


# --- Alerts -------------------------------------------------------------------------------


def test_open_alerts_come_oldest_first_with_their_screening(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        store.record_urgent_alert(session, draft=draft, rule_ids=["R-U01"], now=NOW + timedelta(minutes=30))
    screening_id = _created(database, urgent(["R-U02"]))  # raised at NOW: older
    with database.read() as session:
        entries = intake_store.open_alerts(session)
        code = session.get(Screening, screening_id).reference_code  # type: ignore[union-attr]
    assert [(e.alert.rule_ids, e.reference_code, e.acknowledged_by_name) for e in entries] == [
        (["R-U02"], code, None),
        (["R-U01"], None, None),
    ]
    assert entries[1].alert.draft_id == draft.id


def test_acknowledging_records_who_when_and_what_once(database: Database) -> None:
    _created(database, urgent(["R-U01"]))
    with database.write() as session:
        nurse = staff_store.create_user(
            session, username="nurse.ada", display_name="Ada Nurse", role="nurse", password_hash="x", now=NOW
        )
        [alert] = session.scalars(select(StaffAlert)).all()
        result, acknowledged = intake_store.acknowledge_alert(
            session, alert.id, user_id=nurse.id, action_taken="Called; safe at home.", now=NOW + timedelta(hours=1)
        )
        assert result is Acknowledgement.DONE
        assert acknowledged is not None
        nurse_id, alert_id = nurse.id, alert.id
    with database.write() as session:
        result, again = intake_store.acknowledge_alert(
            session, alert_id, user_id=99, action_taken="Second try", now=NOW + timedelta(hours=2)
        )
        assert result is Acknowledgement.ALREADY
        assert again is not None
        assert intake_store.acknowledge_alert(session, 404, user_id=1, action_taken="x", now=NOW) == (
            Acknowledgement.NOT_FOUND,
            None,
        )
    [stored] = _alerts(database)
    assert (stored.acknowledged_at, stored.acknowledged_by, stored.action_taken) == (
        NOW + timedelta(hours=1),
        nurse_id,
        "Called; safe at home.",
    )
    with database.read() as session:
        assert intake_store.open_alerts(session) == []
        [entry] = intake_store.recent_acknowledged_alerts(session, now=NOW + timedelta(days=1))
        assert (entry.alert.id, entry.acknowledged_by_name) == (alert_id, "Ada Nurse")
        assert intake_store.recent_acknowledged_alerts(session, now=NOW + timedelta(days=8)) == []


def test_recently_acknowledged_alerts_come_newest_first(database: Database) -> None:
    for _ in range(3):
        _created(database, urgent(["R-U01"]))
    with database.write() as session:
        for minutes, alert in zip(
            (30, 10, 20), session.scalars(select(StaffAlert).order_by(StaffAlert.id)), strict=True
        ):
            intake_store.acknowledge_alert(
                session, alert.id, user_id=1, action_taken="Called", now=NOW + timedelta(minutes=minutes)
            )
    with database.read() as session:
        entries = intake_store.recent_acknowledged_alerts(session, now=NOW + timedelta(hours=1))
        assert [e.alert.id for e in entries] == [1, 3, 2]
        assert [e.acknowledged_by_name for e in entries] == [None, None, None]  # no such staff member
        assert len(intake_store.recent_acknowledged_alerts(session, now=NOW + timedelta(hours=1), limit=2)) == 2
