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
    settings = config.load(
        {
            "SCREENER_ENV": "production",
            "SCREENER_SECRET_KEY": "k" * 40,
            "SCREENER_SINGLE_PROCESS": "true",
            "SCREENER_AUDIT_KEY": "a" * 40,
        }
    )
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


def test_every_setting_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for setting in config.SETTINGS:
        assert f"`SCREENER_{setting.name}`" in readme


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"SCREENER_JURISDICTION": "FR"}, "SCREENER_JURISDICTION must be one of: US, UK"),
        ({"SCREENER_PHQ2_CUTOFF": "9"}, "SCREENER_PHQ2_CUTOFF must be a whole number from 0 to 6"),
        ({"SCREENER_PHQ9_REVIEW_CUTOFF": "x"}, "SCREENER_PHQ9_REVIEW_CUTOFF must be a whole number"),
        (
            {"SCREENER_UK_UNDER18_SECOND_PRESCRIBER": "maybe"},
            "SCREENER_UK_UNDER18_SECOND_PRESCRIBER must be true or false",
        ),
    ],
)
def test_invalid_clinic_settings_stop_the_app_with_a_clear_message(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(config.ConfigError, match=problem):
        config.load(environ)


def test_clinic_settings_reach_the_rules() -> None:
    settings = config.load({"SCREENER_JURISDICTION": "UK", "SCREENER_TG_REVIEW_THRESHOLD_MG_DL": "500"})
    assert settings["CLINIC_CONFIG"].jurisdiction.value == "UK"
    assert settings["CLINIC_CONFIG"].tg_review_threshold_mg_dl == 500


def test_the_command_line_reads_the_clinic_settings_as_the_app_does() -> None:
    environ = {
        "SCREENER_JURISDICTION": "UK",
        "SCREENER_PHQ2_CUTOFF": "2",
        "SCREENER_UK_UNDER18_SECOND_PRESCRIBER": "yes",
        "SCREENER_TG_REVIEW_THRESHOLD_MG_DL": "500",
    }
    assert config.load_clinic_config(environ) == config.load(environ)["CLINIC_CONFIG"]
    assert config.load_clinic_config({}) == config.load({})["CLINIC_CONFIG"]
    # Evaluating needs no secret key, even in production.
    production = {"SCREENER_ENV": "production", "SCREENER_JURISDICTION": "UK"}
    assert config.load_clinic_config(production).jurisdiction.value == "UK"


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"SCREENER_JURISDICTION": "FR"}, "SCREENER_JURISDICTION must be one of: US, UK"),
        ({"SCREENER_PHQ2_CUTOFF": "x"}, "SCREENER_PHQ2_CUTOFF must be a whole number"),
    ],
)
def test_the_command_lines_clinic_settings_are_checked_as_the_apps(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(config.ConfigError, match=problem):
        config.load_clinic_config(environ)
