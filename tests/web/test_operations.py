"""Operations (issue 9 item 7; security-reliability S-16, S-19): the request id, one JSON log line
per request with no patient data, /readyz, and the Prometheus metrics of `screener metrics`."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from werkzeug.test import TestResponse

from screener import metrics, observability
from screener.app import create_app
from screener.db import Database
from screener.web import access
from tests.web.conftest import Patient, StaffBrowser
from tests.web.test_intake import INTAKE, SUBJECT, post_intake, screening_id_of
from tests.web.test_patient import ADULT, complete

REQUEST_ID = re.compile(r"[0-9a-f]{32}")
SHOWN_REFERENCE = re.compile(r"Reference:\s*<strong>([^<]+)</strong>")
#: Marker strings a patient or a member of staff types; none may reach a log.
MARKERS = {
    "name": "Zebedee Quuxington",
    "mrn": "MRN-QX-77123",
    "answer": "ANSWER-MARKER-5150",
    "query": "QUERY-MARKER-8675309",
    "username": "user.marker.31337",
    "password": "hunter2-PASSWORD-MARKER",
    "code": "CODEMARKER",
    "exception": "EXCEPTION-MARKER-4242",
    "api": "API-MARKER-1729",
}


def shown_reference(response: TestResponse) -> str:
    found = SHOWN_REFERENCE.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:2000]
    return found.group(1)


@pytest.fixture
def failing_route(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    """GET /boom raises an error whose message quotes what was typed (as int("...") does)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(access, "PUBLIC_ENDPOINTS", access.PUBLIC_ENDPOINTS | {"boom"})

    @app.get("/boom")
    def boom() -> str:
        raise ValueError(f"invalid literal for int() with base 10: {MARKERS['exception']!r}\nsecond line")

    return "/boom"


# --- The request id -------------------------------------------------------------------------


def test_every_response_carries_a_new_request_id(client: FlaskClient) -> None:
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/no/such/page").headers["X-Request-ID"]
    assert REQUEST_ID.fullmatch(first)
    assert REQUEST_ID.fullmatch(second)
    assert first != second


def test_a_client_cannot_choose_its_request_id_without_a_proxy(client: FlaskClient) -> None:
    sent = "0123456789abcdef0123456789abcdef"
    assert client.get("/", headers={"X-Request-ID": sent}).headers["X-Request-ID"] != sent


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
        ("3f2504e0-4f89-41d3-9a0c-0305e82c3301", True),  # a UUID
        ("Zebedee Quuxington", False),
        ("0123456789abcdef;forged=1", False),
        ("0123456789abcdef 0123", False),
        ("abc", False),
        ("a" * 65, False),
    ],
)
def test_behind_a_proxy_a_well_formed_request_id_is_kept(database_url: str, sent: str, kept: bool) -> None:
    proxied = create_app({"TESTING": True, "DATABASE_URL": database_url, "PROXY_COUNT": 1})
    try:
        answered = proxied.test_client().get("/", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    finally:
        proxied.extensions["screener.db"].dispose()
    assert (answered == sent) is kept
    assert REQUEST_ID.fullmatch(answered) or kept


def test_every_error_page_shows_the_request_id(app: Flask, client: FlaskClient, failing_route: str) -> None:
    not_found = client.get("/no/such/page")
    wrong_method = client.post("/")
    expired = client.post("/start")  # no CSRF token
    crashed = client.get(failing_route)
    for response, status in ((not_found, 404), (wrong_method, 405), (expired, 400), (crashed, 500)):
        assert response.status_code == status
        assert shown_reference(response) == response.headers["X-Request-ID"], status
    assert "tell a member of staff this reference" in crashed.get_data(as_text=True)


def test_the_busy_page_shows_the_request_id(tmp_path: Path) -> None:
    broken = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'screener.db'}",
            "WTF_CSRF_ENABLED": False,
        }
    )
    try:
        response = broken.test_client().post("/start")
    finally:
        broken.extensions["screener.db"].dispose()
    assert response.status_code == 503
    assert shown_reference(response) == response.headers["X-Request-ID"]


def test_the_api_gives_the_request_id_in_its_header_only(client: FlaskClient) -> None:
    response = client.post("/api/v1/evaluate", data="not json", content_type="text/plain")
    assert response.status_code == 415
    assert REQUEST_ID.fullmatch(response.headers["X-Request-ID"])
    assert set(response.get_json()) == {"errors"}


# --- One JSON line per request, no patient data ----------------------------------------------


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Callable[[], tuple[str, str]]:
    """Everything production would log: the screener loggers at INFO, every other at WARNING.

    Returns what was written to standard error (where the app's handler writes), and every record
    any logger emitted, formatted as the app formats them and raw.
    """
    caplog.set_level(logging.INFO, logger="screener")
    capsys.readouterr()

    def read() -> tuple[str, str]:
        formatter = observability.JsonFormatter()
        records = [formatter.format(record) for record in caplog.records]
        raw = [f"{record.msg} {record.args} {record.__dict__}" for record in caplog.records]
        return capsys.readouterr().err, "\n".join(records + raw)

    return read


def request_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "screener.request"]


def test_each_request_logs_one_json_line(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    first = client.get("/")
    client.get("/questions/A?answer=1")
    client.get("/staff/screenings/123")
    client.get("/no/such/page")
    err = capsys.readouterr().err
    for line in err.splitlines():
        assert json.loads(line), line  # every line on standard error is one JSON object
    lines = request_lines(err)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/", 200),
        ("GET", "/questions/<section_id>", 302),
        ("GET", "/staff/screenings/<int:screening_id>", 302),
        ("GET", "<unmatched>", 404),
    ]
    entry = lines[0]
    assert set(entry) == {
        "time",
        "level",
        "logger",
        "message",
        "method",
        "route",
        "endpoint",
        "status",
        "duration_ms",
        "request_id",
        "remote_addr",
    }
    assert entry["endpoint"] == "patient.start"
    assert entry["request_id"] == first.headers["X-Request-ID"]
    assert entry["remote_addr"] == "127.0.0.1"
    assert isinstance(entry["duration_ms"], float)
    assert "answer=1" not in err


def test_behind_a_proxy_the_line_has_the_clients_address(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    proxied = create_app({"TESTING": True, "DATABASE_URL": database_url, "PROXY_COUNT": 1})
    try:
        capsys.readouterr()
        proxied.test_client().get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    finally:
        proxied.extensions["screener.db"].dispose()
    assert request_lines(capsys.readouterr().err)[-1]["remote_addr"] == "203.0.113.7"


def test_no_patient_data_reaches_the_logs(
    app: Flask,
    patient: Patient,
    staff: Callable[..., StaffBrowser],
    failing_route: str,
    logged: Callable[[], tuple[str, str]],
) -> None:
    # A patient: answers (one invalid, with a newline), a query string, a save-for-later code typed back.
    patient.start()
    patient.answer("A", {"completed_by": "self", "age_years": MARKERS["answer"] + "\r\nforged"})
    patient.get(f"/questions/A?note={MARKERS['query']}&age_years={MARKERS['answer']}")
    complete(Patient(app.test_client()))
    patient.post("/resume", {"code": MARKERS["code"]})
    patient.client.get(f"/resume?code={MARKERS['code']}")
    # The API, with an answer that fails validation.
    patient.client.post("/api/v1/evaluate", json={"answers": {"completed_by": "self", "age_years": MARKERS["api"]}})
    # Sign-in: a failed attempt with a password typed into the username box, and a throttled run.
    stranger = Patient(app.test_client())
    stranger.get("/staff/login")
    stranger.post("/staff/login", {"username": MARKERS["password"], "password": MARKERS["password"]})
    for _ in range(6):
        stranger.post("/staff/login", {"username": MARKERS["username"], "password": MARKERS["password"]})
    # A nurse: an intake with the patient's name and MRN, a search by code.
    nurse = staff("nurse")
    created = post_intake(nurse, INTAKE, {**SUBJECT, "subject_name": MARKERS["name"], "subject_mrn": MARKERS["mrn"]})
    nurse.get(f"/staff/screenings/{screening_id_of(created)}")
    nurse.get(f"/staff/find?code={MARKERS['code']}")
    # An unexpected error whose message quotes the input.
    assert app.test_client().get(failing_route).status_code == 500

    err, records = logged()
    for kind, marker in MARKERS.items():
        assert marker not in err, f"the {kind} reached the log"
        assert marker not in records, f"the {kind} reached a log record"
    assert "forged" not in err + records
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    unhandled = [entry for entry in map(json.loads, lines) if entry["message"] == "unhandled error"]
    assert unhandled[0]["exception"] == ["builtins.ValueError"]
    assert any("in boom" in frame for frame in unhandled[0]["stack"])
    statuses = {entry["status"] for entry in request_lines(err)}
    assert {200, 302, 400, 500} <= statuses


def test_the_formatter_keeps_every_record_on_one_line() -> None:
    record = logging.LogRecord("screener.x", logging.WARNING, __file__, 1, "a\nb\r\nc %s", ("\u2028d",), None)
    line = observability.JsonFormatter().format(record)
    assert "\n" not in line
    assert "\r" not in line
    assert "\u2028" not in line
    assert json.loads(line)["message"] == "a\nb\r\nc \u2028d"


# --- /readyz ---------------------------------------------------------------------------------


def test_ready_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}


def test_not_ready_without_the_database(tmp_path: Path) -> None:
    broken = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'screener.db'}"})
    try:
        response = broken.test_client().get("/readyz")
        alive = broken.test_client().get("/healthz")
    finally:
        broken.extensions["screener.db"].dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "failing"}, "failing": ["database"]}
    assert alive.status_code == 200, "liveness does not depend on the database"


@pytest.fixture
def redis_app(database_url: str) -> Iterator[Flask]:
    """Throttling configured on a Redis that is not there (nothing listens on port 9)."""
    application = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"}
    )
    yield application
    application.extensions["screener.db"].dispose()


def test_still_ready_but_degraded_when_redis_does_not_answer(redis_app: Flask) -> None:
    """Without Redis the limiter falls back to per-process counts: the server still serves."""
    response = redis_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded", "checks": {"database": "ok", "redis": "degraded"}}


def test_ready_when_redis_answers(redis_app: Flask) -> None:
    class Answering:
        def check(self) -> bool:
            return True

    redis_app.extensions[observability.READINESS_STORAGE] = Answering()
    response = redis_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


# --- Metrics ---------------------------------------------------------------------------------


def sample(name: str, labels: dict[str, str], registry: CollectorRegistry = REGISTRY) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_and_timed_by_endpoint(client: FlaskClient) -> None:
    labels = {"endpoint": "patient.start", "method": "GET", "status": "200"}
    counted = sample("screener_http_requests_total", labels)
    timed = sample("screener_http_request_duration_seconds_count", {"endpoint": "patient.start"})
    missing = sample("screener_http_requests_total", {"endpoint": "<unmatched>", "method": "GET", "status": "404"})
    client.get("/")
    client.get("/")
    client.get("/no/such/page")
    assert sample("screener_http_requests_total", labels) == counted + 2
    assert sample("screener_http_request_duration_seconds_count", {"endpoint": "patient.start"}) == timed + 2
    assert (
        sample("screener_http_requests_total", {"endpoint": "<unmatched>", "method": "GET", "status": "404"})
        == missing + 1
    )


def test_the_app_itself_serves_no_metrics(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_the_database_figures(app: Flask, database_url: str) -> None:
    complete(Patient(app.test_client()))
    urgent = {**ADULT, "E": {**ADULT["E"], "phq9_q9": "1", "suicide_now": "no"}}
    person = Patient(app.test_client())
    person.start()
    for section, answers in urgent.items():
        if person.answer(section, answers).status_code == 200:  # the crisis panel, shown once
            person.answer(section, answers)
    person.get("/check")
    person.post("/submit")
    database = Database(database_url)
    try:
        registry = metrics.registry(database, None)
        assert sample("screener_database_up", {}, registry) == 1
        assert sample("screener_screenings_completed_total", {}, registry) == 2
        assert sample("screener_urgent_alerts_open", {}, registry) == 1
        text = generate_latest(registry).decode()
    finally:
        database.dispose()
    assert "screener_audit_checkpoint_age_seconds" not in text  # not wired until checkpoints exist


def test_the_newest_audit_event_age(app: Flask, database_url: str, staff: Callable[..., StaffBrowser]) -> None:
    staff("admin")  # creating and signing in are audited
    database = Database(database_url)
    try:
        age = sample("screener_audit_newest_event_age_seconds", {}, metrics.registry(database, None))
    finally:
        database.dispose()
    assert 0 <= age < 600


def test_a_database_that_cannot_be_read_gives_up_zero(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'missing' / 'screener.db'}")
    try:
        registry = metrics.registry(database, None)
        assert sample("screener_database_up", {}, registry) == 0
        assert registry.get_sample_value("screener_urgent_alerts_open") is None
    finally:
        database.dispose()


WORKER = textwrap.dedent(
    """
    import sys
    from screener.app import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1]})
    client = app.test_client()
    for _ in range(int(sys.argv[2])):
        assert client.get("/healthz").status_code == 200
    """
)


def test_the_figures_of_several_worker_processes_are_summed(sqlite_url: str, tmp_path: Path) -> None:
    """gunicorn's workers are processes: each writes to PROMETHEUS_MULTIPROC_DIR, the exporter sums."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, sqlite_url, str(count)], env=environment) for count in (3, 4)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    database = Database(sqlite_url)
    try:
        registry = metrics.registry(database, str(folder))
        labels = {"endpoint": "public.healthz", "method": "GET", "status": "200"}
        assert sample("screener_http_requests_total", labels, registry) == 7
        assert sample("screener_http_request_duration_seconds_count", {"endpoint": "public.healthz"}, registry) == 7
    finally:
        database.dispose()
    observability.gunicorn_on_starting(None)  # without the variable: nothing happens
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        observability.gunicorn_on_starting(None)
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert list(folder.iterdir()) == [], "a new gunicorn master starts from zero"


def test_screener_metrics_serves_on_its_own_address(sqlite_url: str) -> None:
    server, thread = metrics.serve(sqlite_url, "127.0.0.1:0", None)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert "screener_database_up 1.0" in body
    assert "screener_screenings_completed_total 0.0" in body


@pytest.mark.parametrize(
    ("bind", "expected"),
    [("127.0.0.1:9100", ("127.0.0.1", 9100)), ("[::1]:9100", ("::1", 9100)), ("localhost:0", ("localhost", 0))],
)
def test_the_bind_address(bind: str, expected: tuple[str, int]) -> None:
    assert metrics.parse_bind(bind) == expected


@pytest.mark.parametrize("bind", ["9100", ":9100", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_bad_bind_address_is_refused(bind: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        metrics.parse_bind(bind)
