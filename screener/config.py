"""Every setting and its default. Environment variables ``SCREENER_<NAME>`` override them.

Development is the default so that ``make run`` works on a fresh machine; production
(``SCREENER_ENV=production``) refuses to start without a real secret key. The clinic's rule
settings (jurisdiction, PHQ cutoffs, triglyceride threshold) are validated by the rules
module itself, so a bad value stops the app with the same message the API would give.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from screener.rules import ClinicConfig, InvalidInput, parse_config


class ConfigError(RuntimeError):
    """The configuration is unsafe or invalid; the app refuses to start."""


def _text(raw: str) -> str:
    return raw


def _whole(raw: str) -> int:
    return int(raw)


def _flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _optional_whole(raw: str) -> int | None:
    return int(raw) if raw.strip() else None


#: What each parser accepts, in words for the error message.
EXPECTED: dict[Callable[[str], Any], str] = {
    _text: "text",
    _whole: "a whole number",
    _optional_whole: "a whole number, or empty for none",
    _flag: "true or false",
}


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str


SETTINGS = (
    Setting("ENV", "development", _text, "development or production"),
    Setting("SECRET_KEY", "", _text, "at least 32 random characters in production"),
    Setting(
        "AUDIT_KEY",
        "",
        _text,
        "the audit trail's HMAC key: at least 32 random characters, not the secret key; required in production "
        "(development: made once in instance/audit.key)",
    ),
    Setting("DATABASE_URL", "", _text, "SQLAlchemy URL; default: SQLite in instance/screener.db"),
    Setting("MAX_CONTENT_LENGTH", 64 * 1024, _whole, "request body cap in bytes (413 above it)"),
    Setting("MAX_FORM_PARTS", 200, _whole, "form field cap (413 above it)"),
    # The clinic
    Setting("CLINIC_NAME", "Acne clinic", _text, "shown on every page"),
    Setting("CLINIC_PHONE", "", _text, "the clinic's phone number, shown with what happens next"),
    Setting("JURISDICTION", "US", _text, "US or UK: warning wording, crisis contacts, clinician notes"),
    Setting("PHQ2_CUTOFF", 3, _whole, "PHQ-2 score at which PHQ-9 items 3-8 are asked"),
    Setting("PHQ9_REVIEW_CUTOFF", 10, _whole, "PHQ-9 total that triggers clinician review"),
    Setting("UK_UNDER18_SECOND_PRESCRIBER", False, _flag, "UK: keep the second-prescriber note for 12-17"),
    Setting("TG_REVIEW_THRESHOLD_MG_DL", None, _optional_whole, "triglycerides (mg/dL) that trigger review"),
    # Patients on shared devices
    Setting("PATIENT_IDLE_MINUTES", 10, _whole, "patient pages clear after this long without activity"),
    Setting("IDLE_WARNING_SECONDS", 120, _whole, "how long before the idle timeout the warning appears"),
    Setting("RESUME_HOURS", 72, _whole, "how long a 'save and come back later' code stays valid"),
    # Staff
    Setting("ALERT_OVERDUE_MINUTES", 60, _whole, "an urgent alert not acknowledged after this long is marked overdue"),
    Setting(
        "ALERT_ADDRESS_LIMIT",
        3,
        _whole,
        "urgent alerts one client address raises on their own within 10 minutes; more are grouped under its open alert",
    ),
    Setting("PROXY_COUNT", 0, _whole, "trusted reverse proxies in front (nginx: 1) for client address and HTTPS"),
    Setting("RATELIMIT_STORAGE_URI", "memory://", _text, "Flask-Limiter storage; redis://... with several servers"),
    Setting(
        "SINGLE_PROCESS",
        False,
        _flag,
        "production: the app runs as one process (one gunicorn worker on one server), so memory:// throttling "
        "is allowed",
    ),
)
SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}
#: The settings the rules read (rules.md section 2), which ``clinic_config()`` turns into a ClinicConfig.
CLINIC_SETTINGS = tuple(
    SETTINGS_BY_NAME[name]
    for name in (
        "JURISDICTION",
        "PHQ2_CUTOFF",
        "PHQ9_REVIEW_CUTOFF",
        "UK_UNDER18_SECOND_PRESCRIBER",
        "TG_REVIEW_THRESHOLD_MG_DL",
    )
)

#: Secret keys that must never reach production.
WEAK_SECRET_KEYS = frozenset({"", "dev", "changeme", "secret", "development"})
MIN_SECRET_KEY_LENGTH = 32


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then ``SCREENER_*`` environment variables, then explicit overrides (tests)."""
    settings = _read(SETTINGS, environ)
    settings.update(overrides or {})
    _check_secret_key(settings)
    _check_audit_key(settings)
    _check_rate_limit_storage(settings)
    settings["CLINIC_CONFIG"] = clinic_config(settings)
    settings.update(_derived_flask_settings(settings))
    return settings


def load_clinic_config(environ: Mapping[str, str] | None = None) -> ClinicConfig:
    """The clinic's rule settings alone, read exactly as ``load()`` reads them for the app.

    For the ``screener evaluate`` command, which needs no secret key, database or Flask.
    """
    return clinic_config(_read(CLINIC_SETTINGS, environ))


def _read(settings: Iterable[Setting], environ: Mapping[str, str] | None) -> dict[str, Any]:
    """Each setting's default, or its ``SCREENER_*`` environment variable parsed."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in settings:
        raw = environ.get(f"SCREENER_{setting.name}")
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"SCREENER_{setting.name} must be {EXPECTED[setting.parse]} ({setting.help})") from error
    return values


def _check_secret_key(settings: dict[str, Any]) -> None:
    key = settings["SECRET_KEY"]
    if settings["ENV"] == "production" and (key in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH):
        raise ConfigError(
            f"SCREENER_SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters in production"
        )
    if not key:
        settings["SECRET_KEY"] = secrets.token_urlsafe(32)  # development: fresh per process


def _check_audit_key(settings: Mapping[str, Any]) -> None:
    """Production needs its own strong audit key: the chain is only as tamper-evident as the key is secret.

    Not the session secret: that one is in every app server's memory for every request, and rotating it
    (signing everyone out) must not invalidate the audit trail.
    """
    key = settings["AUDIT_KEY"]
    if settings["ENV"] != "production":
        return
    if key in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SCREENER_AUDIT_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} characters in "
            "production (the audit trail's HMAC key; keep a copy off the machine to verify exported checkpoints)"
        )
    if hmac.compare_digest(key.encode("utf-8"), str(settings["SECRET_KEY"]).encode("utf-8")):
        raise ConfigError("SCREENER_AUDIT_KEY must not be the same as SCREENER_SECRET_KEY")


#: The development audit key's file in the instance folder, made once (mode 0600) and kept.
AUDIT_KEY_FILE = "audit.key"


def instance_audit_key(instance_path: str | os.PathLike[str]) -> str:
    """Development: this instance's audit key, made on first use and kept in the instance folder.

    Kept (not random per process like the development secret key) so that the trail written by one run
    still verifies in the next. Two processes racing to make it agree: the file is created exclusively.
    """
    path = Path(instance_path) / AUDIT_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key + "\n")
    return key


def audit_key(settings: Mapping[str, Any], instance_path: str | os.PathLike[str]) -> str:
    """The audit key in force: ``SCREENER_AUDIT_KEY``, else (development only) the instance's own."""
    _check_audit_key(settings)
    key = str(settings["AUDIT_KEY"])
    if key:
        return key
    return instance_audit_key(instance_path)


def audit_key_from_environment(environ: Mapping[str, str] | None = None, instance_path: str | None = None) -> str:
    """For the commands (``screener audit ...``, ``users create``): the key as the app would read it."""
    environ = os.environ if environ is None else environ
    settings = _read([SETTINGS_BY_NAME[name] for name in ("ENV", "SECRET_KEY", "AUDIT_KEY")], environ)
    if instance_path is None:
        from screener.db import default_instance_path  # not at import: `screener evaluate` needs no database

        instance_path = default_instance_path()
    return audit_key(settings, instance_path)


#: Throttling storage that each process keeps to itself: every limit is multiplied by the process count.
PER_PROCESS_STORAGE = "memory://"
#: Redis client options for shared throttling storage: an unreachable or stalled Redis costs a request at
#: most half a second (no retries) before Flask-Limiter falls back to per-process memory (web/limits.py).
REDIS_STORAGE_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": None}


def per_process_storage(settings: Mapping[str, Any]) -> bool:
    return str(settings["RATELIMIT_STORAGE_URI"]).startswith(PER_PROCESS_STORAGE)


def _redis_storage(settings: Mapping[str, Any]) -> bool:
    return str(settings["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://", "redis+unix://"))


def _check_rate_limit_storage(settings: Mapping[str, Any]) -> None:
    """Production throttles in shared storage, unless the operator states that the app is one process."""
    if settings["ENV"] == "production" and per_process_storage(settings) and not settings["SINGLE_PROCESS"]:
        raise ConfigError(
            "SCREENER_RATELIMIT_STORAGE_URI is memory:// in production: every worker and server would keep its "
            "own count, multiplying every sign-in limit. Set it to shared storage (redis://127.0.0.1:6379), or "
            "set SCREENER_SINGLE_PROCESS=true if the app really runs as one gunicorn worker on one server"
        )


def check_worker_count(settings: Mapping[str, Any], workers: int) -> None:
    """For the server (deploy/gunicorn.conf.py): memory:// throttling with several workers is refused.

    In production that is always a mistake; in development it is allowed (the limits are then per worker).
    """
    if settings["ENV"] == "production" and per_process_storage(settings) and workers > 1:
        raise ConfigError(
            f"{workers} gunicorn workers with SCREENER_RATELIMIT_STORAGE_URI=memory:// in production: every "
            "worker would keep its own count, multiplying every limit. Use shared storage "
            "(redis://127.0.0.1:6379), or run one worker (WEB_CONCURRENCY=1) with SCREENER_SINGLE_PROCESS=true"
        )


def clinic_config(settings: Mapping[str, Any]) -> ClinicConfig:
    """The rules' ClinicConfig for this clinic, validated by the rules module."""
    try:
        return parse_config(
            {
                "jurisdiction": settings["JURISDICTION"],
                "phq2_cutoff": settings["PHQ2_CUTOFF"],
                "phq9_review_cutoff": settings["PHQ9_REVIEW_CUTOFF"],
                "uk_under18_second_prescriber": settings["UK_UNDER18_SECOND_PRESCRIBER"],
                "tg_review_threshold_mg_dl": settings["TG_REVIEW_THRESHOLD_MG_DL"],
            }
        )
    except InvalidInput as invalid:
        problems = "; ".join(f"SCREENER_{e.field.removeprefix('config.').upper()} {e.message}" for e in invalid.errors)
        raise ConfigError(problems) from invalid


def _derived_flask_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    production = settings["ENV"] == "production"
    return {
        "TESTING": settings.get("TESTING", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # __Host- binds the cookie to this exact host over HTTPS (no Domain, Path=/).
        "SESSION_COOKIE_NAME": "__Host-screener" if production else "screener",
        # The server enforces the idle timeout (and says so); the cookie only needs to outlive it.
        "PERMANENT_SESSION_LIFETIME": timedelta(days=1),
        "SESSION_REFRESH_EACH_REQUEST": False,  # the idle clock in the session refreshes it often enough
        "RATELIMIT_STORAGE_URI": settings["RATELIMIT_STORAGE_URI"],
        "RATELIMIT_STORAGE_OPTIONS": dict(REDIS_STORAGE_OPTIONS) if _redis_storage(settings) else {},
        "RATELIMIT_HEADERS_ENABLED": False,
        "BABEL_DEFAULT_LOCALE": "en",
        # Our forms carry their own translated messages; Flask-WTF's would reload a catalogue per request.
        "WTF_I18N_ENABLED": False,
    }
