"""Staff sign-in, sessions and passwords (security-reliability.md S-8 to S-13, S-18)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from screener.models import AuditEvent
from screener.store import audit as audit_store
from tests.web.conftest import STAFF_PASSWORD, Patient, StaffBrowser, create_staff

Staff = Callable[..., StaffBrowser]


def events(app: Flask) -> list[tuple[str, str, str]]:
    with app.extensions["screener.db"].read() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(row.action, row.actor, row.outcome) for row in rows]


def test_sign_in_rotates_the_session_and_is_audited(app: Flask, staff: Staff) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    browser.get("/staff/login")
    before = browser.client.get_cookie("screener")
    assert before is not None
    response = browser.post("/staff/login", {"username": "Nurse.Ada", "password": STAFF_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    after = browser.client.get_cookie("screener")
    assert after is not None
    assert after.value != before.value
    assert ("login", "nurse.ada", "success") in events(app)
    assert browser.get("/staff/").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"), [("nurse.ada", "wrong password entirely"), ("nobody", STAFF_PASSWORD)]
)
def test_a_failed_sign_in_gives_one_generic_error_and_is_audited(app: Flask, username: str, password: str) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), username, "nurse")
    response = browser.sign_in(password)
    assert response.status_code == 400
    assert "The username or password is not right" in response.get_data(as_text=True)
    assert ("login", username, "failure") in events(app)


def test_sign_in_is_throttled_per_account_before_any_hashing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    browser.get("/staff/login")
    statuses = [
        browser.post("/staff/login", {"username": "nurse.ada", "password": "nope"}).status_code for _ in range(5)
    ]
    assert statuses == [400] * 5
    import screener.web.auth as auth_views

    calls: list[str] = []

    def counting_verify(*_args: str) -> bool:
        calls.append("kdf")
        return False

    monkeypatch.setattr(auth_views, "verify_password", counting_verify)
    throttled = browser.post("/staff/login", {"username": "nurse.ada", "password": STAFF_PASSWORD})
    assert throttled.status_code == 429
    assert calls == []  # a refused attempt costs no password hashing


def test_sign_out_really_ends_the_session_on_the_server(app: Flask, staff: Staff) -> None:
    browser = staff("clinician")
    cookie = browser.client.get_cookie("screener")
    assert cookie is not None
    assert browser.post("/staff/logout").headers["Location"] == "/staff/login"
    replay = app.test_client()
    replay.set_cookie(cookie.key, cookie.value)  # a captured cookie, replayed after sign-out (S-9)
    response = replay.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert ("logout", browser.username, "success") in events(app)


def test_staff_sessions_end_after_15_minutes_idle_and_12_hours_in_all(app: Flask, staff: Staff) -> None:
    with time_machine.travel("2026-11-29 08:00:00+00:00", tick=False) as clock:
        browser = staff("nurse")
        clock.shift(timedelta(minutes=14))
        assert browser.get("/staff/").status_code == 200
        clock.shift(timedelta(minutes=16))
        assert browser.get("/staff/").status_code == 302  # idle too long
        browser.sign_in()
        active = timedelta()
        while browser.get("/staff/").status_code == 200 and active < timedelta(hours=13):
            clock.shift(timedelta(minutes=14))  # busy all day: never idle for 15 minutes
            active += timedelta(minutes=14)
        assert timedelta(hours=12) <= active < timedelta(hours=12, minutes=14)  # 12 hours in all


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil"])
def test_next_only_leads_to_this_site(app: Flask, target: str) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    browser.get("/staff/login")
    response = browser.post("/staff/login", {"username": "nurse.ada", "password": STAFF_PASSWORD, "next": target})
    assert response.headers["Location"] == "/staff/"


def test_next_leads_back_to_the_page_asked_for(app: Flask) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    asked = browser.get("/staff/password")
    assert asked.headers["Location"] == "/staff/login?next=/staff/password"
    browser.get("/staff/login")
    response = browser.post(
        "/staff/login", {"username": "nurse.ada", "password": STAFF_PASSWORD, "next": "/staff/password"}
    )
    assert response.headers["Location"] == "/staff/password"


def test_a_reset_password_must_be_changed_at_the_next_sign_in(app: Flask) -> None:
    create_staff(app, "nurse.ada", "nurse", must_change_password=True)
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert browser.sign_in().headers["Location"] == "/staff/password"
    assert browser.get("/staff/").headers["Location"] == "/staff/password"  # nothing else until changed
    weak = browser.post(
        "/staff/password", {"current": STAFF_PASSWORD, "new": "password12345678", "confirm": "password12345678"}
    )
    assert weak.status_code == 400
    new = "lantern orchard velvet kettle"
    changed = browser.post("/staff/password", {"current": STAFF_PASSWORD, "new": new, "confirm": new})
    assert changed.headers["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200
    assert ("password.change", "nurse.ada", "success") in events(app)


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("short pass", False),  # under 15 characters
        ("password12345678", False),  # common
        ("aaaaaaaaaaaaaaaaaaaa", False),  # easily guessed
        ("nurse.ada is the best", False),  # contains the username
        ("lantern orchard velvet kettle", True),
        ("x7$" + "quiet meadow " * 6, True),  # 81 characters
        ("🦔 hedgehog lantern 🌙 orchard", True),  # emoji and spaces, no composition rules
    ],
)
def test_password_policy(password: str, accepted: bool) -> None:
    from screener.auth import password_problems

    assert (password_problems(password, "nurse.ada") == []) is accepted


def test_patients_never_reach_staff_pages(patient: Patient) -> None:
    patient.start()
    response = patient.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_the_audit_trail_verifies_until_a_row_is_edited(app: Flask, staff: Staff) -> None:
    staff("nurse")
    database = app.extensions["screener.db"]
    with database.read() as session:
        assert audit_store.verify(session) == []
    with database.engine.begin() as connection:  # an attacker with database access
        if database.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        connection.exec_driver_sql("UPDATE audit_event SET actor = 'someone.else' WHERE action = 'login'")
        if database.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    with database.read() as session:
        problems = audit_store.verify(session)
    assert any("changed after it was recorded" in problem for problem in problems)


def test_the_database_refuses_to_edit_or_delete_audit_rows(app: Flask, staff: Staff) -> None:
    staff("nurse")
    database = app.extensions["screener.db"]
    for statement in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), database.engine.begin() as connection:
            connection.exec_driver_sql(statement)
