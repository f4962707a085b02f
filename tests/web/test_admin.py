"""Administration: staff accounts and the audit trail (security-reliability.md S-1, S-4, S-6, S-10,
S-15, S-16, S-19, S-20), on each test database, with CSRF on."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import func, select, text

from screener.auth import unknown_username_label
from screener.clock import utcnow
from screener.db import Database
from screener.models import AuditEvent, StaffSession, StaffUser
from screener.store import audit as audit_store
from tests.web.conftest import STAFF_PASSWORD, Patient, StaffBrowser, create_staff
from tests.web.test_security_headers import assert_hardened

Staff = Callable[..., StaffBrowser]

NEW_PASSWORD = "lantern orchard velvet kettle"
TEMPORARY_PASSWORD = re.compile(r'id="temporary-password">([^<]+)<')
EVENT_IDS = re.compile(r'<th scope="row">(\d+)</th>')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with its real parameters is tested in test_auth.py; here it would only be slow."""
    import screener.auth

    monkeypatch.setattr(screener.auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def db_of(app: Flask) -> Database:
    database: Database = app.extensions["screener.db"]
    return database


def user_named(app: Flask, username: str) -> StaffUser | None:
    with db_of(app).read() as session:
        return session.scalars(select(StaffUser).where(StaffUser.username == username)).first()


def user_count(app: Flask) -> int:
    with db_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(StaffUser)) or 0)


def audit_rows(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with db_of(app).read() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query).all())


def create_form(**changes: str) -> dict[str, str]:
    return {
        "username": "nurse.ada",
        "display_name": "Ada Lovelace",
        "role": "nurse",
        "password": NEW_PASSWORD,
        **changes,
    }


def live_sessions(app: Flask, user_id: int) -> int:
    with db_of(app).read() as session:
        query = select(func.count()).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        return int(session.scalar(query) or 0)


def tamper_with_the_audit_trail(app: Flask, statement: str, **params: Any) -> None:
    """What an attacker with database access could do: switch off the guard, edit a row."""
    engine = db_of(app).engine
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgresql:
            connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
        connection.execute(text(statement), params)
        if postgresql:
            connection.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


class Elements(HTMLParser):
    """The elements and attributes of a page, to show that typed text added none."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def assert_no_injected_markup(html: str) -> None:
    parser = Elements()
    parser.feed(html)
    assert all(script.get("src") for script in parser.scripts), parser.scripts  # only the self-hosted file
    assert parser.handlers == []
    assert "<script>alert(1)</script>" not in html


ADMIN_PAGES = ("/staff/admin/users", "/staff/admin/users/new", "/staff/admin/audit")


# --- Who may use the admin pages -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "clinician"])
def test_every_admin_page_and_action_is_refused_to_the_care_team(app: Flask, staff: Staff, role: str) -> None:
    target = create_staff(app, "target.user", "nurse")
    browser = staff(role)
    for path in ADMIN_PAGES:
        assert browser.get(path).status_code == 403, path
    before = user_count(app)
    assert browser.post("/staff/admin/users/new", create_form()).status_code == 403
    for action in ("disable", "enable", "reset"):
        assert browser.post(f"/staff/admin/users/{target}/{action}").status_code == 403, action
    assert user_count(app) == before
    assert audit_rows(app, "user.disable") == audit_rows(app, "user.reset") == []
    denied = [row for row in audit_rows(app, "access.denied") if row.actor == browser.username]
    assert {row.object_id for row in denied} >= {"admin.users", "admin.create_user", "admin.disable_user"}
    target_user = user_named(app, "target.user")
    assert target_user is not None
    assert target_user.active
    assert not target_user.must_change_password


def test_admins_see_the_admin_pages_in_the_navigation(staff: Staff) -> None:
    html = staff("admin").get("/staff/").get_data(as_text=True)
    assert 'href="/staff/admin/users"' in html
    assert 'href="/staff/admin/audit"' in html
    nurse = staff("nurse").get("/staff/").get_data(as_text=True)
    assert "/staff/admin/" not in nurse


# --- Accounts -----------------------------------------------------------------------------------


def test_the_account_list_shows_each_account(app: Flask, staff: Staff) -> None:
    create_staff(app, "clinician.bo", "clinician", must_change_password=True)
    admin = staff("admin")
    response = admin.get("/staff/admin/users")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for shown in ("clinician.bo", "Clinician Bo", "Clinician", admin.username, "Administrator", "Never", "(you)"):
        assert shown in html, shown
    row = html.split('id="user-')[1:]
    bo = next(part for part in row if "clinician.bo" in part.split("</tr>")[0]).split("</tr>")[0]
    assert "<td>Yes</td>" in bo  # must change password
    assert "Disable" in bo
    assert "Reset password" in bo
    mine = next(part for part in row if admin.username in part.split("</tr>")[0]).split("</tr>")[0]
    assert "Disable" not in mine  # no button to lock yourself out


def test_an_admin_creates_an_account_that_must_change_its_password(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    assert admin.get("/staff/admin/users/new").status_code == 200
    response = admin.post("/staff/admin/users/new", create_form(username=" Nurse.Ada "))
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/users"
    assert "Account nurse.ada created" in admin.get("/staff/admin/users").get_data(as_text=True)
    user = user_named(app, "nurse.ada")
    assert user is not None
    assert (user.display_name, user.role, user.active, user.must_change_password) == (
        "Ada Lovelace",
        "nurse",
        True,
        True,
    )
    (event,) = audit_rows(app, "user.create")[-1:]
    assert (event.actor, event.object_type, event.object_id, event.detail) == (
        admin.username,
        "staff_user",
        str(user.id),
        {"role": "nurse"},
    )
    assert event.remote_addr == "127.0.0.1"
    assert NEW_PASSWORD not in str(event.detail)
    newcomer = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert newcomer.sign_in(NEW_PASSWORD).headers["Location"] == "/staff/password"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "Ada Lovelace!"}, "username", "Use 2 to 63 letters"),
        ({"username": ""}, "username", "Use 2 to 63 letters"),
        ({"display_name": "   "}, "display_name", "Enter the person&#39;s name"),
        ({"display_name": "x" * 121}, "display_name", "Enter the person&#39;s name"),
        ({"role": "superuser"}, "role", "Choose nurse, clinician or admin"),
        ({"role": ""}, "role", "Choose nurse, clinician or admin"),
        ({"password": "short"}, "password", "Use at least 8 characters"),
        ({"password": "zxcvbnm,./"}, "password", "too easy to guess"),  # a keyboard walk
        ({"password": "qwertyuiop"}, "password", "too common"),
        ({"password": "password12345678"}, "password", "must not contain the word"),
        ({"password": "acne clinic lantern"}, "password", "must not contain the clinic"),
        ({"password": "nurse.ada is the best"}, "password", "must not contain your username"),
        ({"username": "existing.user"}, "username", "already exists"),
    ],
)
def test_a_new_account_with_a_problem_is_not_created(
    app: Flask, staff: Staff, changes: dict[str, str], field: str, message: str
) -> None:
    create_staff(app, "existing.user", "clinician")
    admin = staff("admin")
    before = (user_count(app), len(audit_rows(app, "user.create")))
    form = create_form(**changes)
    response = admin.post("/staff/admin/users/new", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    assert f'href="#{field}"' in html
    assert message in html
    assert f'id="{field}-error"' in html
    assert (user_count(app), len(audit_rows(app, "user.create"))) == before
    if len(form["username"]) < 64:  # what was typed is kept (not the password)
        assert f'value="{form["username"].strip()}"' in html
    assert form["password"] not in html


def test_several_problems_are_all_listed_and_what_was_typed_is_kept(staff: Staff) -> None:
    admin = staff("admin")
    response = admin.post(
        "/staff/admin/users/new",
        {"username": "no spaces allowed", "display_name": 'O"Brien <b>', "role": "wizard", "password": "short"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    assert summary.count("<li>") == 3
    assert 'value="no spaces allowed"' in html
    assert 'value="O&#34;Brien &lt;b&gt;"' in html
    assert 'aria-invalid="true"' in html


def test_disabling_an_account_ends_its_live_session_and_enabling_lets_it_back(app: Flask, staff: Staff) -> None:
    nurse = staff("nurse", "nurse.ada")
    assert nurse.get("/staff/").status_code == 200
    admin = staff("admin")
    user = user_named(app, "nurse.ada")
    assert user is not None
    response = admin.post(f"/staff/admin/users/{user.id}/disable")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/users"
    assert live_sessions(app, user.id) == 0
    signed_out = nurse.get("/staff/")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"].startswith("/staff/login")
    assert nurse.sign_in().status_code == 400  # a disabled account cannot sign in, same generic error
    (event,) = audit_rows(app, "user.disable")
    assert (event.actor, event.object_id, event.detail) == (admin.username, str(user.id), {"role": "nurse"})
    assert "Disabled" in admin.get("/staff/admin/users").get_data(as_text=True)

    assert admin.post(f"/staff/admin/users/{user.id}/enable").status_code == 302
    assert nurse.sign_in().status_code == 302
    assert nurse.get("/staff/").status_code == 200
    (enabled,) = audit_rows(app, "user.enable")
    assert (enabled.actor, enabled.object_id) == (admin.username, str(user.id))


def test_an_admin_cannot_disable_or_reset_their_own_account(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    me = user_named(app, admin.username)
    assert me is not None
    response = admin.post(f"/staff/admin/users/{me.id}/disable")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You cannot disable your own account" in html
    assert f'href="#user-{me.id}"' in html
    reset = admin.post(f"/staff/admin/users/{me.id}/reset")
    assert reset.status_code == 400
    assert "use Change password" in reset.get_data(as_text=True)
    still = user_named(app, admin.username)
    assert still is not None
    assert still.active
    assert not still.must_change_password
    assert audit_rows(app, "user.disable") == audit_rows(app, "user.reset") == []
    assert admin.get("/staff/admin/users").status_code == 200  # still signed in


@pytest.mark.parametrize("action", ["disable", "enable", "reset"])
def test_an_unknown_account_is_404(staff: Staff, action: str) -> None:
    assert staff("admin").post(f"/staff/admin/users/987654/{action}").status_code == 404


def test_a_reset_shows_a_temporary_password_once_and_forces_a_new_password_and_enrolment(
    app: Flask, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    nurse = staff("nurse", "nurse.ada")
    admin = staff("admin")
    user = user_named(app, "nurse.ada")
    assert user is not None
    response = admin.post(f"/staff/admin/users/{user.id}/reset")
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # shown in answer to the POST: not a redirect, not in a URL
    assert response.headers["Cache-Control"] == "no-store"
    assert "set up their authenticator app again" in html
    found = TEMPORARY_PASSWORD.search(html)
    assert found is not None
    temporary = found.group(1)
    assert len(temporary) >= 20
    assert temporary != STAFF_PASSWORD

    # The account's sessions ended, its second factor is gone; the old password no longer works.
    reset = user_named(app, "nurse.ada")
    assert reset is not None
    assert (reset.totp_secret, reset.mfa_enrolled_at, reset.must_change_password) == (None, None, True)
    assert reset.reset_at is not None
    when = f"{reset.reset_at:%Y-%m-%d at %H:%M} UTC"
    assert nurse.get("/staff/").headers["Location"].startswith("/staff/login")
    assert nurse.sign_in(STAFF_PASSWORD).status_code == 400
    # At the next sign-in: told who reset the account and when, then a new password, then enrol again.
    assert nurse.sign_in(temporary).headers["Location"] == "/staff/password"
    told = nurse.get("/staff/password").get_data(as_text=True)
    assert f"{admin.username.replace('.', ' ').title()} reset your account on {when}." in told
    assert nurse.get("/staff/").headers["Location"] == "/staff/password"
    changed = nurse.post("/staff/password", {"current": temporary, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.headers["Location"] == "/staff/mfa/enrol"
    assert f"reset your account on {when}" in nurse.get("/staff/mfa/enrol").get_data(as_text=True)
    assert nurse.get("/staff/").headers["Location"] == "/staff/mfa/enrol"
    old_secret = nurse.secret
    enrolled = nurse.enrol()
    assert enrolled.status_code == 200
    assert nurse.secret != old_secret
    assert f"An administrator reset your account on {when}." in enrolled.get_data(as_text=True)
    assert nurse.get("/staff/").status_code == 200

    # Shown once: not on the next page, not in the audit trail, not in a log.
    assert temporary not in admin.get("/staff/admin/users").get_data(as_text=True)
    (event,) = audit_rows(app, "user.reset")
    assert (event.actor, event.object_id, event.detail) == (admin.username, str(user.id), {"role": "nurse"})
    (cleared,) = audit_rows(app, "mfa.reset")
    assert (cleared.actor, cleared.object_id) == (admin.username, str(user.id))
    assert temporary not in admin.get("/staff/admin/audit").get_data(as_text=True)
    assert all(temporary not in record.getMessage() for record in caplog.records)


def test_an_admin_who_resets_a_clinician_cannot_reach_patient_data_as_them_unnoticed(app: Flask, staff: Staff) -> None:
    """Issue 9 item 4: "An admin can reach patient data by resetting a clinician's password and signing in as
    them". The temporary password alone now reaches nothing: the account must choose a new password and enrol
    an authenticator app (which locks its owner out, who then finds out), and the audit trail shows the chain."""
    staff("clinician", "clinician.bo")
    admin = staff("admin")
    target = user_named(app, "clinician.bo")
    assert target is not None
    found = TEMPORARY_PASSWORD.search(admin.post(f"/staff/admin/users/{target.id}/reset").get_data(as_text=True))
    assert found is not None
    temporary = found.group(1)
    impostor = StaffBrowser(admin.client, "clinician.bo", "clinician")  # the admin's own browser
    assert impostor.sign_in(temporary).headers["Location"] == "/staff/password"
    for path in ("/staff/queue", "/staff/alerts", "/staff/intake", "/staff/mfa", "/staff/mfa/enrol"):
        assert impostor.get(path).headers["Location"] == "/staff/password", path
    assert impostor.post("/staff/password", {"current": temporary, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    for path in ("/staff/queue", "/staff/alerts", "/staff/intake", "/staff/screenings/1"):
        assert impostor.get(path).headers["Location"] == "/staff/mfa/enrol", path
    assert impostor.enrol().status_code == 200  # only now, with an app of their own
    # Every step after the reset is in the trail, tied to the reset: who reset, then each step of the sign-in.
    chain = [
        (row.action, row.actor, row.object_id, row.outcome)
        for row in audit_rows(app)
        if row.object_id == str(target.id) and row.action != "user.create"
    ]
    assert chain[-5:] == [
        ("user.reset", admin.username, str(target.id), "success"),
        ("mfa.reset", admin.username, str(target.id), "success"),
        ("login", "clinician.bo", str(target.id), "success"),
        ("password.change", "clinician.bo", str(target.id), "success"),
        ("mfa.enrol", "clinician.bo", str(target.id), "success"),
    ]
    reset_at = user_named(app, "clinician.bo").reset_at  # type: ignore[union-attr]
    assert reset_at is not None
    assert audit_rows(app, "login")[-1].detail["after_reset_at"] == reset_at.isoformat()
    assert audit_rows(app, "mfa.enrol")[-1].detail["after_reset_at"] == reset_at.isoformat()
    # The clinician, whose own password and app no longer work, cannot sign in and asks why.
    assert StaffBrowser(app.test_client(), "clinician.bo", "clinician").sign_in().status_code == 400


def test_the_account_list_shows_who_has_set_up_an_app(app: Flask, staff: Staff) -> None:
    create_staff(app, "nurse.new", "nurse", enrolled=False)
    admin = staff("admin")
    html = admin.get("/staff/admin/users").get_data(as_text=True)
    rows = {part.split('"', 1)[0]: part.split("</tr>")[0] for part in html.split('id="user-')[1:]}
    new = next(row for row in rows.values() if "nurse.new" in row)
    mine = next(row for row in rows.values() if admin.username in row)
    assert "<td>Not set up yet</td>" in new
    assert "<td>Set up</td>" in mine


# --- The audit trail ----------------------------------------------------------------------------


def record_event(app: Flask, action: str, *, when: datetime | None = None, **fields: Any) -> int:
    with db_of(app).write() as session:
        return int(audit_store.record(session, action=action, now=when or utcnow(), **fields).id)


def shown_ids(html: str) -> list[int]:
    return [int(found) for found in EVENT_IDS.findall(html)]


def test_the_audit_page_shows_the_newest_events_and_the_chain_status(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    response = admin.get("/staff/admin/audit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The audit trail is intact" in html
    ids = shown_ids(html)
    assert ids == sorted(ids, reverse=True)  # newest first
    assert ids[0] == audit_rows(app)[-1].id  # this very view, audited before the list was read
    (view,) = audit_rows(app, "audit.view")
    assert (view.actor, view.detail) == (admin.username, {"filters": {}})
    assert "login" in html
    assert admin.username in html


def test_the_audit_trail_filters(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    create_staff(app, "nurse.ada", "nurse")
    old = record_event(app, "test.old", when=datetime(2026, 1, 15, 9, tzinfo=UTC), actor_label="system:test")
    nursed = record_event(app, "test.other", object_type="screening", object_id=42, actor_label="nurse.ada")

    def ids(**filters: str) -> list[int]:
        response = admin.get("/staff/admin/audit", query_string=filters)
        assert response.status_code == 200, response.get_data(as_text=True)[:1000]
        return shown_ids(response.get_data(as_text=True))

    assert ids(action="test.old") == [old]
    assert ids(actor="NURSE.ADA ") == [nursed]
    assert ids(object_type="screening", object_id="42") == [nursed]
    by_type = ids(object_type="staff_user", action="user.create")
    assert by_type == [row.id for row in reversed(audit_rows(app, "user.create"))]
    assert ids(since="2026-01-15", until="2026-01-15", action="test.old") == [old]  # the whole day, inclusive
    assert ids(since="2026-01-16", action="test.old") == []
    assert ids(until="2026-01-14", action="test.old") == []
    today = utcnow().date().isoformat()
    assert old not in ids(since=today)
    assert nursed in ids(since=today, until=today)
    views = audit_rows(app, "audit.view")
    assert views[-1].detail == {"filters": {"since": today, "until": today}}
    page = admin.get("/staff/admin/audit", query_string={"action": "test.old"}).get_data(as_text=True)
    assert '<option value="test.old" selected>' in page
    assert "No events match these filters" in admin.get(
        "/staff/admin/audit", query_string={"actor": "nobody.at.all"}
    ).get_data(as_text=True)


@pytest.mark.parametrize(
    ("filters", "field", "message"),
    [
        ({"since": "29/11/2026"}, "since", "Enter the start date as a date"),
        ({"until": "2026-02-30"}, "until", "Enter the end date as a date"),
        ({"since": "2026-11-29", "until": "2026-11-01"}, "until", "same as or after the start date"),
        ({"action": "no.such.action"}, "action", "Choose an action from the list"),
        ({"actor": "a" * 65}, "actor", "at most 64 characters"),
        ({"object_id": "9" * 100}, "object_id", "at most 64 characters"),
        ({"before_id": "abc"}, "before_id", "older events was not right"),
        ({"before_id": "-5"}, "before_id", "older events was not right"),
        ({"before_id": "9" * 40}, "before_id", "older events was not right"),
        # (A NUL character anywhere is refused before any view: tests/web/test_hostile_input.py.)
        ({"since": "'; DROP TABLE audit_event; --"}, "since", "Enter the start date as a date"),
    ],
)
def test_invalid_audit_filters_are_named_and_the_unfiltered_trail_is_shown(
    app: Flask, staff: Staff, filters: dict[str, str], field: str, message: str
) -> None:
    admin = staff("admin")
    response = admin.get("/staff/admin/audit", query_string={"actor": admin.username, **filters})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    assert f'href="#{field}"' in html
    assert f'id="{field}"' in html
    assert message in html
    assert "The filters were not applied" in html
    assert shown_ids(html)[0] == audit_rows(app)[-1].id
    assert len(shown_ids(html)) == len(audit_rows(app))  # the unfiltered trail (under one page here)
    assert audit_rows(app, "audit.view")[-1].detail == {"filters": {}}


def test_older_events_are_reached_page_by_page(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    with db_of(app).write() as session:
        for number in range(70):
            audit_store.record(session, action="test.bulk", now=utcnow(), object_type="n", object_id=number)
    first = admin.get("/staff/admin/audit", query_string={"action": "test.bulk"}).get_data(as_text=True)
    ids = shown_ids(first)
    assert len(ids) == 50
    found = re.search(r'<a href="([^"]+)">Older events</a>', first)
    assert found is not None
    link = found.group(1).replace("&amp;", "&")
    assert "action=test.bulk" in link
    assert f"before_id={ids[-1]}" in link
    second = admin.get(link).get_data(as_text=True)
    older = shown_ids(second)
    assert len(older) == 20
    assert max(older) < min(ids)
    assert "Older events" not in second
    assert "Newest events" in second
    all_bulk = [row.id for row in audit_rows(app, "test.bulk")]
    assert sorted(ids + older) == all_bulk


def test_the_audit_page_shows_tampering(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    create_staff(app, "nurse.ada", "nurse")
    assert "The audit trail is intact" in admin.get("/staff/admin/audit").get_data(as_text=True)
    (created,) = [row for row in audit_rows(app, "user.create") if row.object_id == str(user_id(app, "nurse.ada"))]
    tamper_with_the_audit_trail(
        app, "UPDATE audit_event SET detail = :detail WHERE id = :id", detail='{"role": "admin"}', id=created.id
    )
    response = admin.get("/staff/admin/audit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The audit trail has been tampered with" in html
    assert f"event {created.id}: its content was changed after it was recorded" in html
    assert "The audit trail is intact" not in html


def user_id(app: Flask, username: str) -> int:
    user = user_named(app, username)
    assert user is not None
    return int(user.id)


def test_a_deleted_audit_event_is_shown(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    create_staff(app, "nurse.ada", "nurse")
    first_id = audit_rows(app)[0].id
    tamper_with_the_audit_trail(app, "DELETE FROM audit_event WHERE id = :id", id=first_id)
    html = admin.get("/staff/admin/audit").get_data(as_text=True)
    assert f"event {first_id + 1}: the event before it was changed or deleted" in html


# --- Typed text is shown, never obeyed (S-4, S-6) -------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' onmouseover='alert(1)",
        "{{7*7}}",
        "{% raw %}{{ config }}{% endraw %}",
    ],
)
def test_a_display_name_is_escaped_and_shown_literally(app: Flask, staff: Staff, name: str) -> None:
    admin = staff("admin")
    created = admin.post("/staff/admin/users/new", create_form(display_name=name))
    assert created.status_code == 302
    newcomer = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert newcomer.sign_in(NEW_PASSWORD).status_code == 302  # its own events appear in the trail
    for path in ("/staff/admin/users", "/staff/admin/audit"):
        html = admin.get(path).get_data(as_text=True)
        assert_no_injected_markup(html)
        assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
        assert "onmouseover='alert" not in html
        if name == "{{7*7}}":
            assert "{{7*7}}" in html
            assert ">49<" not in html
        if name.startswith("{% raw %}"):
            assert "{% raw %}{{ config }}{% endraw %}" in html
            assert "SECRET_KEY" not in html
    user = user_named(app, "nurse.ada")
    assert user is not None
    assert user.display_name == name
    reset = admin.post(f"/staff/admin/users/{user.id}/reset").get_data(as_text=True)
    assert_no_injected_markup(reset)


def test_a_control_character_in_an_actor_is_shown_as_an_escape(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    record_event(app, "login", actor_label="mallory\r\nlogin admin success", outcome="failure")
    html = admin.get("/staff/admin/audit", query_string={"action": "login"}).get_data(as_text=True)
    assert "mallory\\r\\nlogin admin success" in html
    assert "mallory\r\n" not in html


# --- Headers, caching and secrets on every admin page ---------------------------------------------


def test_admin_pages_are_hardened_never_cached_and_never_show_a_password_hash(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    target = create_staff(app, "nurse.ada", "nurse")
    responses = [admin.get(path) for path in ADMIN_PAGES]
    responses.append(admin.get("/staff/admin/audit", query_string={"since": "nonsense"}))
    responses.append(admin.post("/staff/admin/users/new", create_form(password="short")))
    responses.append(admin.post(f"/staff/admin/users/{target}/reset"))
    responses.append(admin.post(f"/staff/admin/users/{target}/disable", follow_redirects=True))
    responses.append(admin.post(f"/staff/admin/users/{target}/enable", follow_redirects=True))
    me = user_named(app, admin.username)
    assert me is not None
    responses.append(admin.post(f"/staff/admin/users/{me.id}/disable"))
    hashes = [user.password_hash for user in (me, user_named(app, "nurse.ada")) if user]
    for response in responses:
        assert response.status_code in {200, 400}, response.request.path
        assert response.headers["Cache-Control"] == "no-store"
        assert_hardened(response.headers)
        body = response.get_data(as_text=True)
        assert "$argon2" not in body
        assert all(value not in body for value in hashes)
        assert "password_hash" not in body


# --- CSRF (S-1) ---------------------------------------------------------------------------------


def test_an_admin_post_without_a_csrf_token_is_refused_and_writes_nothing(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    target = create_staff(app, "nurse.ada", "nurse")
    before = (user_count(app), len(audit_rows(app)))
    missing = admin.client.post("/staff/admin/users/new", data=create_form(username="nurse.bob"))
    assert missing.status_code == 400
    assert "This page has expired" in missing.get_data(as_text=True)
    assert admin.client.post(f"/staff/admin/users/{target}/disable").status_code == 400
    assert admin.client.post(f"/staff/admin/users/{target}/reset", data={"csrf_token": ""}).status_code == 400
    assert (user_count(app), len(audit_rows(app))) == before
    user = user_named(app, "nurse.ada")
    assert user is not None
    assert user.active
    assert not user.must_change_password


def test_a_csrf_token_from_another_session_is_refused(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    other = staff("admin")  # another admin's browser: a valid token, but not for this session
    visitor = Patient(app.test_client())
    visitor.get("/staff/login")
    target = create_staff(app, "nurse.ada", "nurse")
    before = (user_count(app), len(audit_rows(app)))
    for token in (other.token, visitor.token):
        assert token
        assert token != admin.token
        form = {**create_form(username="nurse.bob"), "csrf_token": token}
        assert admin.client.post("/staff/admin/users/new", data=form).status_code == 400
        assert admin.client.post(f"/staff/admin/users/{target}/disable", data={"csrf_token": token}).status_code == 400
    assert (user_count(app), len(audit_rows(app))) == before


def test_an_expired_csrf_token_is_refused(app: Flask, staff: Staff) -> None:
    app.config["WTF_CSRF_TIME_LIMIT"] = 60
    admin = staff("admin")
    admin.get("/staff/admin/users/new")
    before = (user_count(app), len(audit_rows(app)))
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):  # the session is still live
        expired = admin.post("/staff/admin/users/new", create_form())
        assert expired.status_code == 400
        assert "This page has expired" in expired.get_data(as_text=True)
        assert (user_count(app), len(audit_rows(app))) == before
        admin.get("/staff/admin/users/new")  # a fresh form, a fresh token: it works
        assert admin.post("/staff/admin/users/new", create_form()).status_code == 302
    assert user_named(app, "nurse.ada") is not None


# --- Sessions, information leaks and logs (S-10, S-16, S-19) --------------------------------------


def test_an_admin_sign_in_starts_a_new_session(app: Flask) -> None:
    create_staff(app, "admin.ada", "admin")
    browser = StaffBrowser(app.test_client(), "admin.ada", "admin")
    browser.get("/staff/login")
    before = browser.client.get_cookie("screener")
    assert before is not None
    assert browser.post("/staff/login", {"username": "admin.ada", "password": STAFF_PASSWORD}).status_code == 302
    browser.get("/staff/mfa")  # the code page, with its form's CSRF token (the session was rotated)
    assert browser.post("/staff/mfa", {"code": browser.totp()}).headers["Location"] == "/staff/"
    after = browser.client.get_cookie("screener")
    assert after is not None
    assert after.value != before.value
    assert browser.get("/staff/admin/users").status_code == 200
    fixated = app.test_client()  # whoever planted or saw the cookie from before sign-in
    fixated.set_cookie("screener", before.value)
    response = fixated.get("/staff/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_no_server_version_and_no_debug_console(app: Flask, staff: Staff) -> None:
    admin = staff("admin")
    anonymous = app.test_client()
    for response in (admin.get("/staff/admin/users"), anonymous.get("/staff/admin/audit"), anonymous.get("/")):
        assert "Server" not in response.headers  # the app adds none (a dev server or proxy may, outside it)
        assert "X-Powered-By" not in response.headers
    for client in (anonymous, admin.client):
        console = client.get("/console")
        assert console.status_code == 404
        assert b"Werkzeug" not in console.data
        assert b"Traceback" not in console.data
    assert not app.debug


def test_a_forged_log_line_in_a_username_reaches_neither_the_trail_nor_the_log(
    app: Flask, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "Zebediah Quarterfield"  # stands for a person's name
    typed = "mallory\r\n2026-11-29 INFO login success admin"
    visitor = StaffBrowser(app.test_client(), typed, "nurse")
    assert visitor.sign_in("wrong password entirely").status_code == 400
    admin = staff("admin")
    assert admin.post("/staff/admin/users/new", create_form(display_name=marker)).status_code == 302
    html = admin.get("/staff/admin/audit", query_string={"action": "login"}).get_data(as_text=True)
    failures = [row for row in audit_rows(app, "login") if row.outcome == "failure"]
    # An unknown username is recorded as a keyed hash (it may be a password typed in the wrong box).
    assert [row.actor for row in failures] == [unknown_username_label(typed.strip().lower(), app.config["SECRET_KEY"])]
    assert failures[0].actor in html
    assert "mallory" not in html
    for record in caplog.records:
        message = record.getMessage()
        assert "\r" not in message
        assert "\n" not in message
        assert "mallory" not in message
        assert marker not in message
