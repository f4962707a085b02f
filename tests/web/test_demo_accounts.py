"""`make run` in development creates demo staff accounts once; production never does (S-22)."""

from __future__ import annotations

from flask import Flask

from screener.app import create_app
from screener.cli import create_demo_accounts
from screener.store import staff as staff_store
from tests.web.conftest import StaffBrowser


def test_development_creates_one_demo_account_per_role_once(app: Flask) -> None:
    created = create_demo_accounts(app)
    assert [(role, username) for role, username, _ in created] == [
        ("nurse", "nurse.demo"),
        ("clinician", "clinician.demo"),
        ("admin", "admin.demo"),
    ]
    assert create_demo_accounts(app) == []  # a database with staff gets none
    role, username, password = created[1]
    browser = StaffBrowser(app.test_client(), username, role)
    assert browser.sign_in(password).status_code == 302


def test_production_never_creates_demo_accounts(database_url: str) -> None:
    production = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "k" * 40,
            "SINGLE_PROCESS": True,
            "AUDIT_KEY": "a" * 40,
            "DATABASE_URL": database_url,
        }
    )
    try:
        assert create_demo_accounts(production) == []
        with production.extensions["screener.db"].read() as session:
            assert staff_store.count_users(session) == 0
    finally:
        production.extensions["screener.db"].dispose()
