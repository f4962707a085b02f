"""Operations: a request id, one JSON log line per request, readiness checks, request metrics.

Logs (security-reliability S-16, S-19). Every record of the ``screener`` loggers is one line of
JSON on standard error (gunicorn and systemd pass it to the journal). A request's line holds its
method, route template and endpoint, status, duration, request id and client address (as
throttling sees it) and nothing else: never a query string, a form value, a name or a reference
code. An unhandled error logs its exception type and stack frames, not its message, which may
quote what was typed. The request id is nginx's ``X-Request-ID`` when the app is behind a proxy
(``SCREENER_PROXY_COUNT``) and the header is well formed, else a new one; it is returned in the
``X-Request-ID`` response header and shown on every error page, so a quoted id finds the line.

Metrics (``prometheus-client``): request counts and latency by endpoint, recorded here in each
process. Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` to a folder shared by the workers (and
emptied at start: :func:`gunicorn_on_starting`); ``screener metrics`` serves the sum of every
worker's values, with the database's figures, on its own address (``screener.metrics``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import Counter, Histogram

REQUEST_ID_HEADER = "X-Request-ID"
#: nginx's $request_id (32 hex digits), a UUID: hex digits and dashes only, so nothing else rides in it.
WELL_FORMED_REQUEST_ID = re.compile(r"[0-9A-Fa-f-]{16,64}")
#: Route templates and endpoints of requests that matched no route.
UNMATCHED = "<unmatched>"

request_log = logging.getLogger("screener.request")

REQUESTS = Counter(
    "screener_http_requests",
    "HTTP requests answered, by endpoint, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "screener_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response is handed to the server), by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


# --- JSON lines -------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in values are escaped, S-19)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if "request_id" not in entry and has_request_context():
            entry["request_id"] = request_id()
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(exception_fields(record.exc_info[1]))
        return json.dumps(entry, ensure_ascii=True, separators=(",", ":"), default=str)


def exception_fields(error: BaseException) -> dict[str, Any]:
    """The exception's type (and its causes') and its stack frames: never its message or locals,
    which may hold what a patient typed (``int("...")`` quotes its input).

    Log an unexpected error with ``extra={"fields": exception_fields(error)}``, not ``exc_info``.
    """
    types: list[str] = []
    cause: BaseException | None = error
    while cause is not None and len(types) < 5:
        types.append(f"{type(cause).__module__}.{type(cause).__qualname__}")
        cause = cause.__cause__ or cause.__context__
    frames = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    return {"exception": types, "stack": frames[-30:]}


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (pytest swaps it per test)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on standard error for the ``screener`` loggers (once per process)."""
    logger = logging.getLogger("screener")
    if any(isinstance(handler, _StandardError) for handler in logger.handlers):
        return
    handler = _StandardError()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)


# --- Request id, request line, request metrics ------------------------------------------------


def request_id() -> str:
    """This request's id: nginx's (behind a proxy, when well formed) or a new one."""
    found = g.get("request_id")
    if found is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        trusted = bool(current_app.config.get("PROXY_COUNT"))
        found = incoming if trusted and WELL_FORMED_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_id = found
    return str(found)


def _started() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _answered(response: Response) -> Response:
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    rule = request.url_rule
    endpoint = request.endpoint or UNMATCHED
    response.headers[REQUEST_ID_HEADER] = request_id()
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    LATENCY.labels(endpoint).observe(seconds)
    request_log.info(
        "request",
        extra={
            "fields": {
                "method": request.method,
                # The route's template (/staff/screenings/<int:screening_id>), never the path asked
                # for nor its query string: those can hold codes and answers.
                "route": rule.rule if rule is not None else UNMATCHED,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request_id(),
                # As throttling and the audit trail record it (the client's, behind the proxy).
                "remote_addr": request.remote_addr,
            }
        },
    )
    return response


def init_app(app: Flask) -> None:
    """Call first in the factory: the request clock starts before any other before-request hook."""
    configure_logging()
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_answered)


# --- Readiness --------------------------------------------------------------------------------

READINESS_STORAGE = "screener.readiness.ratelimit_storage"


def readiness() -> dict[str, bool]:
    """Each dependency this app server needs, and whether it answers now."""
    checks = {"database": _database_ready()}
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    scheme = uri.split("://", 1)[0].lower()
    if scheme != "memory":
        name = "redis" if scheme.startswith(("redis", "valkey")) else scheme
        checks[name] = _storage_ready(uri)
    return checks


def _database_ready() -> bool:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from screener.db import DatabaseUnavailable, get_db

    try:
        with get_db().read() as session:
            session.execute(text("SELECT 1"))
    except (DatabaseUnavailable, SQLAlchemyError) as error:
        logging.getLogger(__name__).warning("readiness: database unavailable (%s)", type(error).__name__)
        return False
    return True


def _storage_ready(uri: str) -> bool:
    """The throttling storage answers a ping (a connection of its own, with short timeouts)."""
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string as limits_storage

    storage = current_app.extensions.get(READINESS_STORAGE)
    if storage is None:
        try:
            storage = limits_storage(uri, socket_connect_timeout=1, socket_timeout=1)
        except (ConfigurationError, ValueError) as error:  # e.g. the redis package is not installed
            logging.getLogger(__name__).warning("readiness: rate-limit storage unusable (%s)", type(error).__name__)
            return False
        current_app.extensions[READINESS_STORAGE] = storage
    ready = bool(storage.check())
    if not ready:
        logging.getLogger(__name__).warning("readiness: rate-limit storage does not answer")
    return ready


# --- gunicorn hooks (deploy/gunicorn.conf.py) --------------------------------------------------


def gunicorn_on_starting(_server: object) -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR when the gunicorn master starts: no figures of another run."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def gunicorn_child_exit(_server: object, worker: Any) -> None:
    """A worker ended: its counts stay in the sums; its live-gauge files are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
