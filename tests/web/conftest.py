"""Web tests run the real app with CSRF on, against each test database (SQLite, PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
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
