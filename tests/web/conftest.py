"""Web tests run the real app with CSRF on, against each test database (SQLite, PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from screener.app import create_app
from screener.web.limits import limiter

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Override in a test module to configure the clinic (e.g. the UK)."""
    return {}


@pytest.fixture
def app(database_url: str, app_settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, **app_settings})
    limiter.reset()
    yield application
    application.extensions["screener.db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Patient:
    """A person using the site: keeps cookies, sends each form with the page's CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(path, **kwargs)
        found = CSRF_META.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: Mapping[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        if not self.token:
            self.get("/")
        response = self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)
        found = CSRF_META.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def start(self) -> TestResponse:
        self.get("/")
        return self.post("/start")

    def answer(self, section: str, answers: Mapping[str, Any], **kwargs: Any) -> TestResponse:
        self.get(f"/questions/{section}")
        return self.post(f"/questions/{section}", {"action": "continue", **answers}, **kwargs)


@pytest.fixture
def patient(client: FlaskClient) -> Patient:
    return Patient(client)


STAFF_PASSWORD = "correct horse battery staple 42"
#: The second factor's pages.
VERIFY_PATH = "/staff/mfa"
ENROL_PATH = "/staff/mfa/enrol"
TOTP_SECRET_SHOWN = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
RECOVERY_CODE_SHOWN = re.compile(r'<li class="code">([0-9a-z-]+)</li>')


def test_totp_secret(username: str) -> str:
    """The known TOTP secret of a test account created enrolled (base32, 160 bits), from its username."""
    return base64.b32encode(hashlib.sha256(username.encode()).digest()[:20]).decode()


test_totp_secret.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test

#: The last TOTP step each account used, per app: like a phone, never the same code twice.
_last_steps: dict[tuple[int, str], int] = {}


class StaffBrowser(Patient):
    """A staff member's browser (same CSRF handling as a patient's), with their authenticator app.

    ``secret`` is the TOTP secret their app holds: an account from ``create_staff`` has
    ``test_totp_secret(username)``; ``enrol()`` reads a new one from the enrolment page, as a person
    scanning the QR code would.
    """

    def __init__(self, client: FlaskClient, username: str, role: str, secret: str | None = None) -> None:
        super().__init__(client)
        self.username = username
        self.role = role
        self.secret = secret if secret is not None else test_totp_secret(username)
        self.recovery_codes: list[str] = []

    def totp(self) -> str:
        """The code the app shows now; the next step's if this one was used already (within the drift window)."""
        from screener.auth import totp_code, totp_step
        from screener.clock import utcnow

        key = (id(self.client.application), self.username)
        now = totp_step(utcnow())
        step = max(now, _last_steps.get(key, now - 1) + 1)
        assert step <= now + 1, "a third sign-in within one 30-second step: move the clock on"
        _last_steps[key] = step
        return totp_code(self.secret, step)

    def sign_in(self, password: str = STAFF_PASSWORD, *, second_factor: bool = True) -> TestResponse:
        """Password, then (when asked for) a code from the app: the answer to the last step.

        302 to the staff pages when signed in; 302 to the password or enrolment step when the account
        must do that first; 400 when the password was refused.
        """
        self.get("/staff/login")
        response = self.post("/staff/login", {"username": self.username, "password": password})
        if response.status_code == 302 and response.headers["Location"] == VERIFY_PATH and second_factor:
            self.get(VERIFY_PATH)
            response = self.post(VERIFY_PATH, {"code": self.totp()})
        if response.status_code == 302:
            self.get(response.headers["Location"])  # as a browser would: the next form's CSRF token
        return response

    def enrol(self) -> TestResponse:
        """On the enrolment step: read the key shown for manual entry, confirm with a code, keep the recovery codes."""
        page = self.get(ENROL_PATH)
        found = TOTP_SECRET_SHOWN.search(page.get_data(as_text=True))
        assert found, page.get_data(as_text=True)[:2000]
        self.secret = found.group(1).replace(" ", "")
        _last_steps.pop((id(self.client.application), self.username), None)  # a new secret: no code used yet
        response = self.post(ENROL_PATH, {"code": self.totp()})
        self.recovery_codes = RECOVERY_CODE_SHOWN.findall(response.get_data(as_text=True))
        return response


def create_staff(
    app: Flask, username: str, role: str, *, password: str = STAFF_PASSWORD, enrolled: bool = True, **extra: Any
) -> int:
    """An account made as admins and ``screener users create`` make them; ``enrolled``: its authenticator
    app is already set up with ``test_totp_secret(username)`` (else it enrols at its first sign-in)."""
    from screener.auth import create_account
    from screener.clock import utcnow
    from screener.store import staff as staff_store

    with app.extensions["screener.db"].write() as session:
        user = create_account(
            session,
            username=username,
            display_name=username.replace(".", " ").title(),
            role=role,
            password=password,
            now=utcnow(),
            actor_label="test",
            **extra,
        )
        if enrolled:
            staff_store.propose_totp_secret(session, user, test_totp_secret(user.username), now=utcnow())
            staff_store.confirm_totp(session, user, None, now=utcnow())
        return int(user.id)


@pytest.fixture
def staff(app: Flask) -> Callable[[str], StaffBrowser]:
    """``staff("clinician")``: a new account of that role, fully signed in (password and TOTP), in its own browser."""

    def signed_in(role: str, username: str | None = None) -> StaffBrowser:
        name = username or f"{role}.{len(created) + 1}"
        create_staff(app, name, role)
        created.append(name)
        browser = StaffBrowser(app.test_client(), name, role)
        response = browser.sign_in()
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert response.headers["Location"] == "/staff/", response.headers["Location"]
        return browser

    created: list[str] = []
    return signed_in
