"""The app refuses to start in production with a missing or weak secret key."""

from __future__ import annotations

import pytest

from screener import config
from screener.app import create_app


@pytest.mark.parametrize("key", ["", "dev", "changeme", "short-but-not-empty"])
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    with pytest.raises(config.ConfigError):
        config.load({"SCREENER_ENV": "production", "SCREENER_SECRET_KEY": key})


def test_production_with_a_strong_key_uses_secure_cookies() -> None:
    settings = config.load({"SCREENER_ENV": "production", "SCREENER_SECRET_KEY": "k" * 40})
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_generates_a_random_key_per_process() -> None:
    first, second = config.load({}), config.load({})
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] != second["SECRET_KEY"]


def test_a_non_numeric_limit_is_a_configuration_error() -> None:
    with pytest.raises(config.ConfigError, match="SCREENER_MAX_CONTENT_LENGTH"):
        config.load({"SCREENER_MAX_CONTENT_LENGTH": "lots"})


def test_create_app_in_production_without_a_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCREENER_ENV", "production")
    monkeypatch.delenv("SCREENER_SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError):
        create_app()
