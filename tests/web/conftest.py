from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from screener.app import create_app


@pytest.fixture
def app() -> Flask:
    # CSRF stays on: tests run the production configuration's protections.
    return create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
