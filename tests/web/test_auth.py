"""Staff sign-in, the second factor, sessions and passwords (security-reliability.md S-8 to S-14, S-18, S-20;
issue 9 items 3 and 4)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from screener.auth import totp_code, totp_step, unknown_username_label
from screener.clock import utcnow
from screener.models import AuditEvent, StaffRecoveryCode, StaffSession, StaffUser
from screener.store import audit as audit_store
from tests.web.conftest import (
    ENROL_PATH,
    STAFF_PASSWORD,
    VERIFY_PATH,
    Patient,
    StaffBrowser,
    create_staff,
    test_totp_secret,
)

Staff = Callable[..., StaffBrowser]
NEW_PASSWORD = "lantern orchard velvet kettle"
WRONG_PASSWORD = "not the password at all"


def events(app: Flask) -> list[tuple[str, str, str]]:
    return [(row.action, row.actor, row.outcome) for row in audit_rows(app)]


def audit_rows(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with app.extensions["screener.db"].read() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query).all())


def user_named(app: Flask, username: str) -> StaffUser:
    with app.extensions["screener.db"].read() as session:
        user: StaffUser = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return user


def half_signed_in(app: Flask, username: str, role: str = "nurse", **extra: Any) -> StaffBrowser:
    """A browser past the password step only."""
    browser = StaffBrowser(app.test_client(), username, role)
    create_staff(app, username, role, **extra)
    response = browser.sign_in(second_factor=False)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return browser


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that sign many accounts in: they check throttling and codes, not password hashing."""
    import screener.auth

    monkeypatch.setattr(screener.auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- Signing in: password, then the second factor ---------------------------------------------------


def test_sign_in_rotates_the_session_at_each_step_and_is_audited(app: Flask) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    browser.get("/staff/login")
    before = browser.client.get_cookie("screener")
    assert before is not None
    response = browser.post("/staff/login", {"username": "Nurse.Ada", "password": STAFF_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == VERIFY_PATH
    half = browser.client.get_cookie("screener")
    assert half is not None
    assert half.value != before.value
    assert browser.get(VERIFY_PATH).status_code == 200
    response = browser.post(VERIFY_PATH, {"code": browser.totp()})
    assert response.headers["Location"] == "/staff/"
    after = browser.client.get_cookie("screener")
    assert after is not None
    assert after.value != half.value
    assert browser.get("/staff/").status_code == 200
    assert ("login", "nurse.ada", "success") in events(app)
    assert ("mfa.verify", "nurse.ada", "success") in events(app)
    (login,) = audit_rows(app, "login")
    assert login.detail == {"factor": "password", "next_step": "verify"}
    # The half-signed-in session was ended when the full one began: its cookie is worth nothing now.
    replay = app.test_client()
    replay.set_cookie("screener", half.value)
    assert replay.get(VERIFY_PATH).headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("role", ["nurse", "clinician", "admin"])
def test_every_role_needs_the_second_factor(app: Flask, role: str) -> None:
    """S-14 / issue 9 item 3: a password alone reaches nothing but the code page and sign-out."""
    browser = half_signed_in(app, f"{role}.ada", role)
    for path in ("/staff/", "/staff/queue", "/staff/intake", "/staff/alerts", "/staff/rules", "/staff/password"):
        response = browser.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == VERIFY_PATH, path
    for path in ("/staff/admin/users", "/staff/admin/audit", ENROL_PATH, "/staff/mfa/recovery-codes"):
        assert browser.get(path).headers["Location"] == VERIFY_PATH, path
    assert browser.post("/staff/admin/users/new", {"username": "x"}).headers["Location"] == VERIFY_PATH
    page = browser.get(VERIFY_PATH).get_data(as_text=True)
    assert 'aria-label="Staff"' not in page  # no staff navigation while half signed in
    assert "Cancel and sign out" in page
    with app.extensions["screener.db"].read() as session:
        live = session.scalars(select(StaffSession).where(StaffSession.ended_at.is_(None))).all()
        assert [row.mfa_verified_at for row in live] == [None]
        assert user_named(app, f"{role}.ada").last_login_at is None  # not signed in yet
    assert browser.post("/staff/logout").headers["Location"] == "/staff/login"  # the way out


@pytest.mark.parametrize(
    ("username", "password"), [("nurse.ada", "wrong password entirely"), ("nobody", STAFF_PASSWORD)]
)
def test_a_failed_sign_in_gives_one_generic_error_and_is_audited(app: Flask, username: str, password: str) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), username, "nurse")
    response = browser.sign_in(password)
    assert response.status_code == 400
    assert "The username or password is not right" in response.get_data(as_text=True)
    expected = username if username == "nurse.ada" else unknown_username_label(username, app.config["SECRET_KEY"])
    assert ("login", expected, "failure") in events(app)


def test_an_unknown_username_is_audited_as_a_keyed_hash_never_as_typed(app: Flask) -> None:
    """Issue 9 item 4: a password typed into the username box must not end up in the trail."""
    typed = "Lantern Orchard Velvet 42"  # someone's password, in the wrong box
    for _ in range(2):
        assert StaffBrowser(app.test_client(), typed, "nurse").sign_in("x").status_code == 400
    assert StaffBrowser(app.test_client(), "someone.else", "nurse").sign_in("x").status_code == 400
    failures = [row for row in audit_rows(app, "login") if row.outcome == "failure"]
    first, again, other = (row.actor for row in failures)
    assert first == again != other  # the same unknown name is recognisable as the same
    assert re.fullmatch(r"unknown:[0-9a-f]{32}", first)
    assert first == unknown_username_label("lantern orchard velvet 42", app.config["SECRET_KEY"])
    assert first != unknown_username_label("lantern orchard velvet 42", "another server's key")  # keyed
    for row in audit_rows(app):
        assert "lantern" not in f"{row.actor} {row.detail} {row.object_id}".lower()


def test_a_signed_in_browser_that_fails_a_sign_in_gets_the_normal_error_at_once(app: Flask, staff: Staff) -> None:
    """Issue 9 item 4: the sign-in view's write transaction used to load the browser's staff session through
    Flask-Login, whose loader opened a second write waiting on the first: 5 s stalled, then a 503."""
    browser = staff("nurse")
    assert browser.get("/staff/").status_code == 200
    started = time.monotonic()
    response = browser.post("/staff/login", {"username": browser.username, "password": WRONG_PASSWORD})
    took = time.monotonic() - started
    assert response.status_code == 400
    assert "The username or password is not right" in response.get_data(as_text=True)
    assert took < 2.0, f"{took:.1f} s"
    # The failure is the attempted account's, not the signed-in browser's; that session is untouched.
    assert audit_rows(app, "login")[-1].actor == browser.username
    assert browser.get("/staff/").status_code == 200


def test_sign_in_is_throttled_per_account_before_any_hashing_and_audited(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    browser.get("/staff/login")
    statuses = [
        browser.post("/staff/login", {"username": "nurse.ada", "password": "nope"}).status_code for _ in range(5)
    ]
    assert statuses == [400] * 5
    assert [row.outcome for row in audit_rows(app, "login")] == ["failure"] * 5
    import screener.web.auth as auth_views

    calls: list[str] = []

    def counting_verify(*_args: str) -> bool:
        calls.append("kdf")
        return False

    monkeypatch.setattr(auth_views, "verify_password", counting_verify)
    for _ in range(3):
        throttled = browser.post("/staff/login", {"username": "nurse.ada", "password": STAFF_PASSWORD})
        assert throttled.status_code == 429
    assert calls == []  # a refused attempt costs no password hashing
    # Audited (issue 9 item 4), once per account and minute: a flood does not become a flood of writes.
    (row,) = [row for row in audit_rows(app, "login") if row.outcome == "throttled"]
    assert (row.actor, row.object_id, row.detail, row.remote_addr) == (
        "nurse.ada",
        str(user_named(app, "nurse.ada").id),
        {"limit": "account"},
        "127.0.0.1",
    )


def test_a_throttled_unknown_username_is_audited_as_a_keyed_hash(app: Flask) -> None:
    browser = StaffBrowser(app.test_client(), "no.such.person", "nurse")
    statuses = [browser.sign_in("wrong").status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    (row,) = [row for row in audit_rows(app, "login") if row.outcome == "throttled"]
    assert row.actor == unknown_username_label("no.such.person", app.config["SECRET_KEY"])


# --- TOTP codes (S-14) ----------------------------------------------------------------------------


def test_a_totp_code_is_accepted_once_and_never_again(app: Flask) -> None:
    with time_machine.travel("2026-12-02 09:00:10+00:00", tick=False) as clock:
        browser = half_signed_in(app, "nurse.ada")
        secret = test_totp_secret("nurse.ada")
        code = totp_code(secret, totp_step(utcnow()))
        assert browser.post(VERIFY_PATH, {"code": code}).headers["Location"] == "/staff/"
        browser.post("/staff/logout")

        clock.shift(timedelta(seconds=5))  # still the same 30-second step: a replayed (shoulder-surfed) code
        browser.sign_in(second_factor=False)
        replay = browser.post(VERIFY_PATH, {"code": code})
        assert replay.status_code == 400
        assert "it was used already" in replay.get_data(as_text=True)
        older = totp_code(secret, totp_step(utcnow()) - 1)  # within the drift window, but before the used one
        assert browser.post(VERIFY_PATH, {"code": older}).status_code == 400
        following = totp_code(secret, totp_step(utcnow()) + 1)  # the phone's clock a little ahead
        assert browser.post(VERIFY_PATH, {"code": following}).headers["Location"] == "/staff/"
    failures = [row for row in audit_rows(app, "mfa.verify") if row.outcome == "failure"]
    assert [row.detail for row in failures] == [{"reason": "already used"}] * 2


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_only_codes_of_this_step_and_one_either_side_are_accepted(app: Flask, offset: int, accepted: bool) -> None:
    with time_machine.travel("2026-12-02 09:00:00+00:00", tick=False):
        browser = half_signed_in(app, "nurse.ada")
        code = totp_code(test_totp_secret("nurse.ada"), totp_step(utcnow()) + offset)
        response = browser.post(VERIFY_PATH, {"code": code})
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert audit_rows(app, "mfa.verify")[-1].detail == {"reason": "wrong"}


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６", "²²²²²²", "0" * 5000])
def test_malformed_codes_are_refused_with_the_error_page_not_a_crash(app: Flask, typed: str) -> None:
    browser = half_signed_in(app, "nurse.ada")
    response = browser.post(VERIFY_PATH, {"code": typed})
    assert response.status_code == 400
    assert "The code is not right" in response.get_data(as_text=True)


def test_wrong_codes_are_throttled_per_account_before_any_check_and_audited(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = half_signed_in(app, "nurse.ada")
    statuses = [browser.post(VERIFY_PATH, {"code": "000000"}).status_code for _ in range(5)]
    assert statuses == [400] * 5
    import screener.web.auth as auth_views

    checked: list[str] = []

    def counting(kind: str) -> Callable[..., None]:
        def check(*_args: object) -> None:
            checked.append(kind)

        return check

    monkeypatch.setattr(auth_views, "matching_totp_step", counting("totp"))
    monkeypatch.setattr(auth_views, "verify_recovery_code", counting("recovery"))
    assert browser.post(VERIFY_PATH, {"code": browser.totp()}).status_code == 429
    assert browser.post(VERIFY_PATH, {"code": "abcd-efgh-jkmn"}).status_code == 429
    assert checked == []  # refused before any code is checked
    rows = audit_rows(app, "mfa.verify")
    assert [row.outcome for row in rows] == ["failure"] * 5 + ["throttled"]
    assert rows[-1].detail == {"limit": "account"}
    assert rows[-1].actor == "nurse.ada"


@pytest.mark.usefixtures("cheap_password_hashing")
def test_wrong_codes_are_throttled_per_address_across_accounts(app: Flask) -> None:
    browsers = [half_signed_in(app, f"nurse.{number}") for number in range(5)]
    for browser in browsers[:4]:
        for _ in range(5):
            assert browser.post(VERIFY_PATH, {"code": "000000"}).status_code == 400
    last = browsers[4]
    assert last.post(VERIFY_PATH, {"code": last.totp()}).status_code == 429  # 20 failures from this address
    assert audit_rows(app, "mfa.verify")[-1].detail == {"limit": "address"}


def test_a_half_signed_in_session_lasts_30_minutes(app: Flask) -> None:
    with time_machine.travel("2026-12-02 09:00:00+00:00", tick=False) as clock:
        browser = half_signed_in(app, "nurse.ada")
        for _ in range(2):
            clock.shift(timedelta(minutes=14))  # never idle for 15 minutes
            assert browser.get(VERIFY_PATH).status_code == 200
        clock.shift(timedelta(minutes=3))  # 31 minutes after the password
        assert browser.get(VERIFY_PATH).headers["Location"].startswith("/staff/login")


# --- Enrolment at the first sign-in ----------------------------------------------------------------


def test_a_new_account_chooses_its_password_then_enrols_before_anything_else(app: Flask) -> None:
    create_staff(app, "nurse.ada", "nurse", must_change_password=True, enrolled=False)
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert browser.sign_in().headers["Location"] == "/staff/password"
    for path in ("/staff/", "/staff/queue", VERIFY_PATH, ENROL_PATH):
        assert browser.get(path).headers["Location"] == "/staff/password", path  # nothing else until changed
    page = browser.get("/staff/password").get_data(as_text=True)
    assert "Choose your password" in page
    assert "reset your account" not in page  # a new account, not a reset one
    weak = browser.post(
        "/staff/password", {"current": STAFF_PASSWORD, "new": "password12345678", "confirm": "password12345678"}
    )
    assert weak.status_code == 400
    changed = browser.post("/staff/password", {"current": STAFF_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.headers["Location"] == ENROL_PATH
    for path in ("/staff/", "/staff/password", VERIFY_PATH):
        assert browser.get(path).headers["Location"] == ENROL_PATH, path  # still not signed in
    enrolled = browser.enrol()
    assert enrolled.status_code == 200
    assert len(browser.recovery_codes) == 10
    assert browser.get("/staff/").status_code == 200
    assert [(action, outcome) for action, _actor, outcome in events(app)][-3:] == [
        ("login", "success"),
        ("password.change", "success"),
        ("mfa.enrol", "success"),
    ]
    assert audit_rows(app, "password.change")[-1].detail == {"forced": True}


def test_enrolment_shows_a_qr_code_drawn_here_and_the_key_as_text(app: Flask) -> None:
    browser = half_signed_in(app, "nurse.ada", enrolled=False)
    response = browser.get(ENROL_PATH)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'; style-src")
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    qr = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in qr
    assert "<title>QR code: scan it with your authenticator app" in qr
    assert "style" not in qr  # the CSP forbids inline styles
    assert "<script" not in qr
    assert "http" not in qr.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched from elsewhere
    assert "<script>" not in html
    secret = user_named(app, "nurse.ada").totp_secret
    assert secret is not None
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)  # 160 bits, base32
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert shown is not None
    assert shown.group(1) == " ".join(secret[start : start + 4] for start in range(0, 32, 4))
    assert browser.get(ENROL_PATH).get_data(as_text=True).count(shown.group(1)) == 1  # the same key again
    assert user_named(app, "nurse.ada").mfa_enrolled_at is None  # shown, not yet in force


def test_the_qr_code_holds_the_otpauth_uri_of_the_key_shown() -> None:
    import segno

    from screener.auth import totp_qr_svg, totp_uri

    uri = totp_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "nurse.ada", "Acne clinic")
    assert uri == (
        "otpauth://totp/Screener%20Acne%20clinic:nurse.ada?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        "&issuer=Screener%20Acne%20clinic"
    )
    expected = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    drawn = totp_qr_svg(uri, "t")
    assert re.findall(r' d="([^"]+)"', drawn) == re.findall(r' d="([^"]+)"', expected)


def test_a_wrong_enrolment_code_is_refused_audited_and_throttled(app: Flask) -> None:
    browser = half_signed_in(app, "nurse.ada", enrolled=False)
    browser.get(ENROL_PATH)
    for _ in range(5):
        wrong = browser.post(ENROL_PATH, {"code": "123456"})
        assert wrong.status_code == 400
        assert "The code is not right" in wrong.get_data(as_text=True)
        assert 'id="totp-secret"' in wrong.get_data(as_text=True)  # the same page, to try again
    assert browser.post(ENROL_PATH, {"code": "123456"}).status_code == 429
    assert [row.outcome for row in audit_rows(app, "mfa.enrol")] == ["failure"] * 5 + ["throttled"]
    assert user_named(app, "nurse.ada").mfa_enrolled_at is None


def test_each_sign_in_proposes_a_new_key_until_one_is_confirmed(app: Flask) -> None:
    """A key someone saw in an earlier session (over a shoulder, on a shared screen) is never the one enrolled."""
    browser = half_signed_in(app, "nurse.ada", enrolled=False)
    browser.get(ENROL_PATH)
    first = user_named(app, "nurse.ada").totp_secret
    browser.post("/staff/logout")
    browser.sign_in(second_factor=False)
    second = user_named(app, "nurse.ada").totp_secret
    assert first != second
    assert browser.enrol().status_code == 200
    assert browser.secret == second


def test_recovery_codes_are_shown_once_stored_hashed_and_work_once_each(app: Flask) -> None:
    browser = half_signed_in(app, "nurse.ada", enrolled=False)
    page = browser.enrol().get_data(as_text=True)
    codes = browser.recovery_codes
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}", c) for c in codes)
    assert "This is the only time they are shown" in page
    with app.extensions["screener.db"].read() as session:
        stored = session.scalars(select(StaffRecoveryCode)).all()
        assert len(stored) == 10
        for row in stored:
            assert row.code_hash.startswith("$argon2id$")
            assert all(code.replace("-", "") not in row.code_hash for code in codes)
    for path in ("/staff/", ENROL_PATH, "/staff/mfa/recovery-codes", "/staff/admin/audit"):
        assert all(code not in browser.get(path).get_data(as_text=True) for code in codes), path
    assert all(code not in str(row.detail) for row in audit_rows(app) for code in codes)

    browser.post("/staff/logout")
    browser.sign_in(second_factor=False)
    typed = codes[3].upper().replace("-", " ")  # as people type them
    used = browser.post(VERIFY_PATH, {"code": typed})
    assert used.headers["Location"] == "/staff/"
    assert "You have 9 left" in browser.get("/staff/").get_data(as_text=True)
    row = audit_rows(app, "mfa.recovery_code")[-1]
    assert (row.actor, row.outcome, row.detail) == ("nurse.ada", "success", {"recovery_codes_left": 9})

    browser.post("/staff/logout")
    browser.sign_in(second_factor=False)
    assert browser.post(VERIFY_PATH, {"code": codes[3]}).status_code == 400  # single use: no longer one of them
    assert browser.post(VERIFY_PATH, {"code": "zzzz-zzzz-zzzz"}).status_code == 400
    assert [(row.outcome, row.detail) for row in audit_rows(app, "mfa.recovery_code")[-2:]] == [
        ("failure", {"reason": "wrong"})
    ] * 2
    assert browser.post(VERIFY_PATH, {"code": codes[0]}).headers["Location"] == "/staff/"


def test_new_recovery_codes_replace_every_old_one(app: Flask, staff: Staff) -> None:
    browser = half_signed_in(app, "nurse.ada", enrolled=False)
    browser.enrol()
    old = browser.recovery_codes
    page = browser.get("/staff/mfa/recovery-codes").get_data(as_text=True)
    assert "You have 10 unused recovery codes." in page
    assert browser.post("/staff/mfa/recovery-codes", {"code": "000000"}).status_code == 400
    made = browser.post("/staff/mfa/recovery-codes", {"code": browser.totp()})
    assert made.status_code == 200
    new = re.findall(r'<li class="code">([0-9a-z-]+)</li>', made.get_data(as_text=True))
    assert len(new) == 10
    assert set(new).isdisjoint(old)
    assert [row.outcome for row in audit_rows(app, "mfa.recovery_codes")] == ["failure", "success"]
    browser.post("/staff/logout")
    browser.sign_in(second_factor=False)
    assert browser.post(VERIFY_PATH, {"code": old[0]}).status_code == 400
    assert browser.post(VERIFY_PATH, {"code": new[0]}).headers["Location"] == "/staff/"


# --- Sessions ----------------------------------------------------------------------------------


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
        assert browser.sign_in().headers["Location"] == "/staff/"
        active = timedelta()
        while browser.get("/staff/").status_code == 200 and active < timedelta(hours=13):
            clock.shift(timedelta(minutes=14))  # busy all day: never idle for 15 minutes
            active += timedelta(minutes=14)
        assert timedelta(hours=12) <= active < timedelta(hours=12, minutes=14)  # 12 hours in all


def sign_in_asking_for(browser: StaffBrowser, target: str) -> TestResponse:
    """Both steps, with ``next`` on the password form: the answer to the code, which goes on."""
    browser.get("/staff/login")
    response = browser.post("/staff/login", {"username": browser.username, "password": STAFF_PASSWORD, "next": target})
    assert response.headers["Location"] == VERIFY_PATH
    browser.get(VERIFY_PATH)
    return browser.post(VERIFY_PATH, {"code": browser.totp()})


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil"])
def test_next_only_leads_to_this_site(app: Flask, target: str) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert sign_in_asking_for(browser, target).headers["Location"] == "/staff/"


def test_next_leads_back_to_the_page_asked_for(app: Flask) -> None:
    create_staff(app, "nurse.ada", "nurse")
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    asked = browser.get("/staff/password")
    assert asked.headers["Location"] == "/staff/login?next=/staff/password"
    assert sign_in_asking_for(browser, "/staff/password").headers["Location"] == "/staff/password"


# --- Passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("short", False),  # under 8 characters
        ("k9#Rw!2", False),  # 7
        ("k9#Rw!2z", True),  # 8 random characters: enough with a second factor (800-63B)
        ("tulip bay", True),
        ("password12345678", False),  # common, and "password"
        ("my Password is long enough", False),  # "password", whatever the case
        ("the screener lantern orchard", False),  # "screener"
        ("acne clinic lantern orchard", False),  # the clinic's name
        ("AcneClinic lantern orchard", False),  # the clinic's name, without its space
        ("aaaaaaaaaaaaaaaaaaaa", False),  # easily guessed
        ("qwertyuiop", False),  # a keyboard walk
        ("monkey123", False),  # common word and digits
        ("nurse.ada is the best", False),  # contains the username
        ("lantern orchard velvet kettle", True),
        ("x7$" + "quiet meadow " * 6, True),  # 81 characters
        ("🦔 hedgehog lantern 🌙 orchard", True),  # emoji and spaces, no composition rules
    ],
)
def test_password_policy(password: str, accepted: bool) -> None:
    from screener.auth import password_problems

    assert (password_problems(password, "nurse.ada", "Acne clinic") == []) is accepted


def test_a_password_change_refuses_the_current_password(app: Flask, staff: Staff) -> None:
    """Issue 9 item 4: a forced change accepted the same password (the one the admin knows)."""
    create_staff(app, "nurse.ada", "nurse", must_change_password=True, enrolled=False)
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert browser.sign_in().headers["Location"] == "/staff/password"
    same = browser.post(
        "/staff/password", {"current": STAFF_PASSWORD, "new": STAFF_PASSWORD, "confirm": STAFF_PASSWORD}
    )
    assert same.status_code == 400
    assert "this is the one you have now" in same.get_data(as_text=True)
    assert user_named(app, "nurse.ada").must_change_password
    signed_in = staff("clinician")  # an ordinary change, too
    assert (
        signed_in.post(
            "/staff/password", {"current": STAFF_PASSWORD, "new": STAFF_PASSWORD, "confirm": STAFF_PASSWORD}
        ).status_code
        == 400
    )


def test_the_current_password_check_is_throttled_and_audited(
    app: Flask, staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 4: a stolen session could guess the current password without limit or trace."""
    browser = staff("nurse")
    form = {"current": WRONG_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(5):
        response = browser.post("/staff/password", form)
        assert response.status_code == 400
        assert "Your current password is not right." in response.get_data(as_text=True)
    failures = [row for row in audit_rows(app, "password.change") if row.outcome == "failure"]
    assert [(row.actor, row.object_id) for row in failures] == [
        (browser.username, str(user_named(app, browser.username).id))
    ] * 5
    import screener.web.auth as auth_views

    calls: list[str] = []

    def counting_verify(*_args: str) -> bool:
        calls.append("kdf")
        return True

    monkeypatch.setattr(auth_views, "verify_password", counting_verify)
    throttled = browser.post("/staff/password", {**form, "current": STAFF_PASSWORD})
    assert throttled.status_code == 429
    assert calls == []  # refused before any hashing
    assert audit_rows(app, "password.change")[-1].outcome == "throttled"
    assert browser.get("/staff/password").status_code == 200  # the page itself is not throttled


def test_a_right_current_password_does_not_count_toward_the_limit(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    for number in range(6):  # weak new passwords: refused, but the current password was right
        weak = f"short{number}"
        assert (
            browser.post("/staff/password", {"current": STAFF_PASSWORD, "new": weak, "confirm": weak}).status_code
            == 400
        )
    changed = browser.post("/staff/password", {"current": STAFF_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.headers["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200  # still fully signed in, in a new session


def test_patients_never_reach_staff_pages(patient: Patient) -> None:
    patient.start()
    for path in ("/staff/", VERIFY_PATH, ENROL_PATH, "/staff/mfa/recovery-codes"):
        response = patient.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login")


# --- The audit trail ---------------------------------------------------------------------------


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


def test_a_code_step_and_a_recovery_code_are_spent_once_even_by_racing_requests(app: Flask) -> None:
    """The check and the spending are one conditional UPDATE: of two requests with the same code, one wins."""
    from screener.store import staff as staff_store

    user_id = create_staff(app, "nurse.ada", "nurse")
    database = app.extensions["screener.db"]
    step = totp_step(utcnow())
    outcomes = []
    for _ in range(2):
        with database.write() as session:
            user = session.get(StaffUser, user_id)
            assert user is not None
            outcomes.append(staff_store.use_totp_step(session, user, step))
    assert outcomes == [True, False]
    with database.write() as session:
        user = session.get(StaffUser, user_id)
        assert user is not None
        staff_store.replace_recovery_codes(session, user, ["not-a-real-hash"], now=utcnow())
        (code,) = staff_store.unused_recovery_codes(session, user_id)
        code_id = code.id
    spent = []
    for _ in range(2):
        with database.write() as session:
            spent.append(staff_store.use_recovery_code(session, code_id, now=utcnow()))
    assert spent == [True, False]


def test_an_enrolled_account_whose_password_must_change_gives_its_code_first(app: Flask) -> None:
    """The second factor before anything else, the forced password change included."""
    create_staff(app, "nurse.ada", "nurse", must_change_password=True)
    browser = StaffBrowser(app.test_client(), "nurse.ada", "nurse")
    assert browser.sign_in(second_factor=False).headers["Location"] == VERIFY_PATH
    assert browser.get("/staff/password").headers["Location"] == VERIFY_PATH
    assert browser.post(VERIFY_PATH, {"code": browser.totp()}).status_code == 302
    assert browser.get("/staff/").headers["Location"] == "/staff/password"
    assert browser.get("/staff/password").status_code == 200
    changed = browser.post("/staff/password", {"current": STAFF_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.headers["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200
