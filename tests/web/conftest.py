"""Web tests run the real app with CSRF on, against each test database (SQLite, PostgreSQL)."""

from __future__ import annotations

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


class StaffBrowser(Patient):
    """A signed-in staff member's browser (same CSRF handling as a patient's)."""

    def __init__(self, client: FlaskClient, username: str, role: str) -> None:
        super().__init__(client)
        self.username = username
        self.role = role

    def sign_in(self, password: str = STAFF_PASSWORD) -> TestResponse:
        self.get("/staff/login")
        response = self.post("/staff/login", {"username": self.username, "password": password})
        if response.status_code == 302:
            self.get(response.headers["Location"])  # as a browser would: the next form's CSRF token
        return response


def create_staff(app: Flask, username: str, role: str, *, password: str = STAFF_PASSWORD, **extra: Any) -> int:
    from screener.auth import create_account
    from screener.clock import utcnow

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
        return int(user.id)


@pytest.fixture
def staff(app: Flask) -> Callable[[str], StaffBrowser]:
    """``staff("clinician")``: a new account of that role, signed in, in its own browser."""

    def signed_in(role: str, username: str | None = None) -> StaffBrowser:
        name = username or f"{role}.{len(created) + 1}"
        create_staff(app, name, role)
        created.append(name)
        browser = StaffBrowser(app.test_client(), name, role)
        response = browser.sign_in()
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return browser

    created: list[str] = []
    return signed_in
