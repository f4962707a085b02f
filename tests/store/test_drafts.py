"""Drafts: session tokens, answers, resume codes. Only hashes of secrets reach the database."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from screener import store
from screener.db import Database
from screener.models import Base, Draft, StaffAlert
from screener.store import screenings
from tests.store.factories import LIFETIME, NOW, count, new_draft, record

RESUME_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
DAY = timedelta(hours=24)


# --- Tokens -------------------------------------------------------------------------------


def test_a_new_draft_is_found_by_its_token_only(database: Database) -> None:
    with database.write() as session:
        draft, token = new_draft(session)
        other, _other_token = new_draft(session)
    assert len(token) >= 43  # 32 random bytes
    with database.read() as session:
        found = store.find_draft(session, token, NOW)
        assert found is not None
        assert found.id == draft.id != other.id
        assert (found.answers, found.urgent_shown, found.language, found.jurisdiction) == ({}, [], "en", "US")
        assert found.expires_at == NOW + LIFETIME
        assert store.find_draft(session, token + "x", NOW) is None


def test_a_draft_expires_after_its_lifetime(database: Database) -> None:
    with database.write() as session:
        _draft, token = new_draft(session)
    with database.read() as session:
        assert store.find_draft(session, token, NOW + LIFETIME - timedelta(seconds=1)) is not None
        assert store.find_draft(session, token, NOW + LIFETIME) is None


def test_a_completed_draft_is_not_found(database: Database) -> None:
    with database.write() as session:
        draft, token = new_draft(session)
        store.complete_draft(session, draft, record=record(), now=NOW)
    with database.read() as session:
        assert store.find_draft(session, token, NOW) is None


def test_secrets_are_stored_only_as_sha256(database: Database) -> None:
    with database.write() as session:
        draft, token = new_draft(session)
        code = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
    with database.read() as session:
        stored = session.scalars(select(Draft)).one()
        rows = [repr(row) for table in Base.metadata.sorted_tables for row in session.execute(select(table))]
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.resume_code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    everything = "\n".join(rows)
    assert stored.token_hash in everything  # the scan does see the draft's columns
    for secret in (token, code, code.replace("-", "")):
        assert secret not in everything


# --- Answers and locks --------------------------------------------------------------------


def test_save_answers_replaces_the_whole_set(database: Database) -> None:
    later = NOW + timedelta(minutes=5)
    with database.write() as session:
        draft, token = new_draft(session)
        store.save_answers(session, draft, {"age_years": 22, "acne_treatments": ["topical_retinoid"]}, NOW)
        store.save_answers(session, draft, {"age_years": 23}, later)
    with database.read() as session:
        found = store.find_draft(session, token, NOW)
        assert found is not None
        assert found.answers == {"age_years": 23}
        assert found.updated_at == later


def test_answers_must_be_plain_json(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        with pytest.raises(TypeError):
            store.save_answers(session, draft, {"when": NOW}, NOW)
        with pytest.raises(ValueError, match="JSON"):
            store.save_answers(session, draft, {"weight": float("nan")}, NOW)


def test_saved_answers_do_not_share_the_callers_lists(database: Database) -> None:
    treatments = ["topical_retinoid"]
    with database.write() as session:
        draft, token = new_draft(session)
        store.save_answers(session, draft, {"acne_treatments": treatments}, NOW)
        treatments.append("oral_antibiotic")
    with database.read() as session:
        found = store.find_draft(session, token, NOW)
        assert found is not None
        assert found.answers == {"acne_treatments": ["topical_retinoid"]}


def test_urgent_rules_shown_accumulate_without_repeats(database: Database) -> None:
    with database.write() as session:
        draft, token = new_draft(session)
        store.mark_urgent_shown(session, draft, ["R-U02"], NOW)
        store.mark_urgent_shown(session, draft, ["R-U02", "R-U01"], NOW)
    with database.read() as session:
        found = store.find_draft(session, token, NOW)
        assert found is not None
        assert found.urgent_shown == ["R-U02", "R-U01"]


def test_lock_draft_rereads_the_draft(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
    with database.write() as session:
        locked = store.lock_draft(session, draft.id)
        assert locked is not None
        assert locked.id == draft.id
        assert store.lock_draft(session, draft.id + 1000) is None


def test_delete_draft_keeps_its_alert_without_the_link(database: Database) -> None:
    with database.write() as session:
        draft, token = new_draft(session)
        store.record_urgent_alert(session, draft=draft, rule_ids=["R-U01"], now=NOW)
        store.delete_draft(session, draft)
    with database.read() as session:
        assert store.find_draft(session, token, NOW) is None
        assert count(session, Draft) == 0
        alert = session.scalars(select(StaffAlert)).one()
        assert (alert.draft_id, alert.rule_ids) == (None, ["R-U01"])


# --- Codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("ABCD-EFGH-JKMN", "ABCDEFGHJKMN"),
        ("abcd efgh jkmn", "ABCDEFGHJKMN"),
        (" 0O1I-lL23 ", "00111123"),
        ("ab\tcd-\nef", "ABCDEF"),
    ],
)
def test_normalise_code(typed: str, normalised: str) -> None:
    assert store.normalise_code(typed) == normalised


def test_resume_codes_are_twelve_crockford_symbols_in_groups(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        codes = {store.issue_resume_code(session, draft, now=NOW, valid_for=DAY) for _ in range(20)}
    assert len(codes) == 20
    assert all(RESUME_CODE.fullmatch(code) for code in codes)


def test_a_resume_code_typed_sloppily_still_resumes(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenings, "_new_code", lambda length: "0123456789AB"[:length])
    with database.write() as session:
        draft, _token = new_draft(session)
        assert store.issue_resume_code(session, draft, now=NOW, valid_for=DAY) == "0123-4567-89AB"
    with database.write() as session:
        assert store.resume_draft(session, "oI23 4567 89ab", NOW) is not None
        assert store.resume_draft(session, "OL23-4567-89AB", NOW) is not None


def test_resuming_gives_a_new_token_and_ends_the_old_one(database: Database) -> None:
    with database.write() as session:
        draft, old_token = new_draft(session)
        store.save_answers(session, draft, {"age_years": 22}, NOW)
        code = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
    with database.write() as session:
        resumed = store.resume_draft(session, code, NOW + timedelta(hours=1))
        assert resumed is not None
        found, new_token = resumed
        assert found.id == draft.id
        assert found.answers == {"age_years": 22}
    with database.read() as session:
        assert new_token != old_token
        assert store.find_draft(session, old_token, NOW) is None
        assert store.find_draft(session, new_token, NOW) is not None


def test_a_resume_code_works_until_it_expires(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        code = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
    with database.write() as session:
        assert store.resume_draft(session, code, NOW + DAY - timedelta(seconds=1)) is not None
        assert store.resume_draft(session, code, NOW + DAY - timedelta(seconds=1)) is not None  # reusable
        assert store.resume_draft(session, code, NOW + DAY) is None


def test_a_resume_code_keeps_its_draft_alive(database: Database) -> None:
    """The draft's lifetime (2 h) would end before the code's (24 h): the draft is kept for the code."""
    with database.write() as session:
        draft, _token = new_draft(session)
        code = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
    later = NOW + LIFETIME + timedelta(hours=1)
    with database.write() as session:
        assert store.purge_expired_drafts(session, later) == 0
        assert store.resume_draft(session, code, later) is not None


def test_a_new_resume_code_replaces_the_old_one(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        first = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
        second = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
    with database.write() as session:
        assert store.resume_draft(session, first, NOW) is None
        assert store.resume_draft(session, second, NOW) is not None


def test_a_completed_draft_cannot_be_resumed(database: Database) -> None:
    with database.write() as session:
        draft, _token = new_draft(session)
        code = store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
        store.complete_draft(session, draft, record=record(), now=NOW)
    with database.write() as session:
        assert store.resume_draft(session, code, NOW) is None


def test_only_the_whole_code_resumes(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenings, "_new_code", lambda length: "ABCDEFGHJKMN"[:length])
    with database.write() as session:
        draft, _token = new_draft(session)
        store.issue_resume_code(session, draft, now=NOW, valid_for=DAY)
    with database.write() as session:
        for near_miss in ("", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD-EFGH-JKM!", "ABCD-EFGH"):
            assert store.resume_draft(session, near_miss, NOW) is None, near_miss
        assert store.resume_draft(session, "ABCD-EFGH-JKMN", NOW) is not None
