"""Every setting and its default. Environment variables ``SCREENER_<NAME>`` override them.

Development is the default so that ``make run`` works on a fresh machine; production
(``SCREENER_ENV=production``) refuses to start without a real secret key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

#: Settings read from the environment: name -> (default, type).
DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "SECRET_KEY": "",
    "MAX_CONTENT_LENGTH": 64 * 1024,  # a full answer set is about 2 KB
    "MAX_FORM_PARTS": 200,
}

#: Secret keys that must never reach production.
WEAK_SECRET_KEYS = frozenset({"", "dev", "changeme", "secret", "development"})
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration is unsafe or invalid; the app refuses to start."""


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then ``SCREENER_*`` environment variables, then explicit overrides (tests)."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = environ.get(f"SCREENER_{name}")
        if raw is None:
            continue
        try:
            settings[name] = int(raw) if isinstance(default, int) else raw
        except ValueError as error:
            raise ConfigError(f"SCREENER_{name} must be a whole number") from error
    settings.update(overrides or {})
    production = settings["ENV"] == "production"
    key = settings["SECRET_KEY"]
    if production and (key in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH):
        raise ConfigError(
            f"SCREENER_SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters in production"
        )
    if not key:
        settings["SECRET_KEY"] = secrets.token_urlsafe(32)  # development: fresh per process
    settings["TESTING"] = settings.get("TESTING", False)
    settings["SESSION_COOKIE_HTTPONLY"] = True
    settings["SESSION_COOKIE_SAMESITE"] = "Lax"
    settings["SESSION_COOKIE_SECURE"] = production
    return settings
