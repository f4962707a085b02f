"""The audit key (``SCREENER_AUDIT_KEY``): its own secret, required in production (issue 9, item 4)."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from screener import config

STRONG = {"SCREENER_ENV": "production", "SCREENER_SECRET_KEY": "s" * 40, "SCREENER_SINGLE_PROCESS": "true"}


@pytest.mark.parametrize("key", ["", "dev", "changeme", "x" * 31])
def test_production_refuses_a_missing_or_weak_audit_key(key: str) -> None:
    with pytest.raises(config.ConfigError, match="SCREENER_AUDIT_KEY must be set"):
        config.load({**STRONG, "SCREENER_AUDIT_KEY": key})


def test_production_refuses_the_session_secret_as_the_audit_key() -> None:
    with pytest.raises(config.ConfigError, match="must not be the same as SCREENER_SECRET_KEY"):
        config.load({**STRONG, "SCREENER_AUDIT_KEY": "s" * 40})


def test_production_takes_a_strong_audit_key_of_its_own(tmp_path: Path) -> None:
    settings = config.load({**STRONG, "SCREENER_AUDIT_KEY": "a" * 40})
    assert config.audit_key(settings, tmp_path) == "a" * 40
    assert not (tmp_path / config.AUDIT_KEY_FILE).exists()  # production never makes one up


def test_development_makes_one_key_per_instance_and_keeps_it(tmp_path: Path) -> None:
    settings = config.load({})
    first = config.audit_key(settings, tmp_path / "instance")
    assert len(first) >= 32
    path = tmp_path / "instance" / config.AUDIT_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # readable by its owner only
    assert config.audit_key(config.load({}), tmp_path / "instance") == first  # the next run: the same key
    assert config.audit_key(settings, tmp_path / "another") != first


def test_processes_starting_together_agree_on_the_development_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _n: config.instance_audit_key(tmp_path), range(32)))
    assert len(keys) == 1


def test_an_explicit_development_key_wins(tmp_path: Path) -> None:
    settings = config.load({"SCREENER_AUDIT_KEY": "my-development-audit-key"})
    assert config.audit_key(settings, tmp_path) == "my-development-audit-key"


def test_the_commands_read_the_key_as_the_app_does(tmp_path: Path) -> None:
    assert config.audit_key_from_environment({"SCREENER_AUDIT_KEY": "k" * 40}, str(tmp_path)) == "k" * 40
    made = config.audit_key_from_environment({}, str(tmp_path))
    assert made == (tmp_path / config.AUDIT_KEY_FILE).read_text(encoding="ascii").strip()
    with pytest.raises(config.ConfigError):
        config.audit_key_from_environment({"SCREENER_ENV": "production", "SCREENER_SECRET_KEY": "s" * 40})


def test_the_alert_limit_per_address_is_a_setting() -> None:
    assert config.load({})["ALERT_ADDRESS_LIMIT"] == 3
    assert config.load({"SCREENER_ALERT_ADDRESS_LIMIT": "10"})["ALERT_ADDRESS_LIMIT"] == 10
    with pytest.raises(config.ConfigError, match="SCREENER_ALERT_ADDRESS_LIMIT"):
        config.load({"SCREENER_ALERT_ADDRESS_LIMIT": "many"})
