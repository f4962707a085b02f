"""Throttling storage: production refuses per-process counts, Redis works, and a Redis outage is survivable.

Security review findings (issue 9, item 4): with the default ``memory://`` every worker kept its own
count, multiplying every limit by the number of workers; and ``SCREENER_RATELIMIT_STORAGE_URI=redis://``
could not start because the ``redis`` package was missing. Most of these run without the live stack
(the Flask test client, and gunicorn on its own); the Redis ones need a Redis on 6379 (.ci/run starts it).
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from screener import config
from screener.app import create_app
from tests.live.client import CSRF_INPUT, CSRF_META
from tests.live.conftest import skip_or_fail
from tests.live.stack import BIN, GUNICORN_CONF, AppServer, app_environment, free_port, secret_settings

STRONG_KEY = "k" * 40
#: The value the README and deploy/screener.env.example give, exactly.
DOCUMENTED_REDIS = "redis://127.0.0.1:6379"


def production(**extra: str) -> dict[str, str]:
    """Production settings with every key set (the secret key, and the audit key where there is one)."""
    keys = {f"SCREENER_{name}": value for name, value in secret_settings().items()}
    return {"SCREENER_ENV": "production", **keys, "SCREENER_SECRET_KEY": STRONG_KEY, **extra}


# --- The rule ----------------------------------------------------------------------------------


def test_production_refuses_per_process_throttling() -> None:
    with pytest.raises(config.ConfigError, match="SCREENER_RATELIMIT_STORAGE_URI is memory:// in production"):
        config.load(production())
    with pytest.raises(config.ConfigError, match="SCREENER_SINGLE_PROCESS"):
        config.load(production(SCREENER_RATELIMIT_STORAGE_URI="memory://"))


def test_production_accepts_shared_storage_or_a_declared_single_process() -> None:
    shared = config.load(production(SCREENER_RATELIMIT_STORAGE_URI=DOCUMENTED_REDIS))
    assert shared["RATELIMIT_STORAGE_URI"] == DOCUMENTED_REDIS
    # An unreachable or stalled Redis costs at most half a second, never a retry loop.
    assert shared["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": None}
    single = config.load(production(SCREENER_SINGLE_PROCESS="true"))
    assert single["RATELIMIT_STORAGE_URI"] == "memory://"
    assert single["RATELIMIT_STORAGE_OPTIONS"] == {}
    assert config.load({})["RATELIMIT_STORAGE_URI"] == "memory://"  # development: no Redis needed


def test_the_server_refuses_several_workers_counting_in_memory() -> None:
    single = config.load(production(SCREENER_SINGLE_PROCESS="true"))
    config.check_worker_count(single, 1)
    with pytest.raises(config.ConfigError, match="2 gunicorn workers with SCREENER_RATELIMIT_STORAGE_URI=memory://"):
        config.check_worker_count(single, 2)
    config.check_worker_count(config.load(production(SCREENER_RATELIMIT_STORAGE_URI=DOCUMENTED_REDIS)), 9)
    config.check_worker_count(config.load({}), 4)  # development: allowed (the log says the limits are per worker)


def gunicorn(workers: int, environment: dict[str, str], tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """gunicorn with the shipped settings, its output in tmp_path/gunicorn.log."""
    command = [str(BIN / "gunicorn"), "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}"]
    with (tmp_path / "gunicorn.log").open("wb") as log:
        return subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=environment,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("workers", "settings", "refusal"),
    [
        (2, {}, "SCREENER_RATELIMIT_STORAGE_URI is memory:// in production"),
        (2, {"SINGLE_PROCESS": "true"}, "2 gunicorn workers with SCREENER_RATELIMIT_STORAGE_URI=memory://"),
    ],
)
def test_gunicorn_with_the_shipped_settings_refuses_to_start(
    workers: int, settings: dict[str, str], refusal: str, tmp_path: Path
) -> None:
    environment = app_environment(ENV="production", **secret_settings(), **settings)
    process = gunicorn(workers, environment, tmp_path, free_port())
    try:
        process.wait(timeout=60)
    finally:
        stop(process)
    output = (tmp_path / "gunicorn.log").read_text()
    assert process.returncode == 1, output
    assert refusal in output
    assert "Booting worker" not in output  # refused by the master, before any worker


def test_gunicorn_starts_one_declared_worker_counting_in_memory(tmp_path: Path) -> None:
    environment = app_environment(
        ENV="production",
        **secret_settings(),
        SINGLE_PROCESS="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 's.db'}",
    )
    server = AppServer("single", environment, tmp_path, workers=1)
    server.process = gunicorn(1, environment, tmp_path, server.port)
    try:
        server.wait_ready()  # /healthz answers within 30 s, or the log is shown
    finally:
        stop(server.process)


# --- Redis, and a Redis outage (in one process, through the Flask test client) --------------------


def redis_on_6379() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            if connection.recv(16).startswith(b"+PONG"):
                return
    except OSError:
        pass
    skip_or_fail("no Redis answers on 127.0.0.1:6379 (apt-get install redis-server)")


@pytest.fixture
def app_on(sqlite_url: str) -> Iterator[Any]:
    made: list[Flask] = []

    def make(storage: str) -> Flask:
        app = create_app({"DATABASE_URL": sqlite_url, "RATELIMIT_STORAGE_URI": storage})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["screener.db"].dispose()


def sign_in_attempt(client: FlaskClient, username: str) -> int:
    page = client.get("/staff/login").get_data(as_text=True)
    found = CSRF_META.search(page) or CSRF_INPUT.search(page)
    assert found
    form = {"csrf_token": found.group(1), "username": username, "password": "wrong wrong wrong wrong"}
    return client.post("/staff/login", data=form).status_code


def test_the_documented_redis_storage_throttles(app_on: Any) -> None:
    redis_on_6379()
    import redis

    app = app_on(DOCUMENTED_REDIS)
    username = f"redis-check-{secrets.token_hex(4)}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    store = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2)
    try:
        statuses = [sign_in_attempt(client, username) for _ in range(6)]
        assert statuses == [400] * 5 + [429]
        keys = list(store.scan_iter(match=f"*{username}*"))
        assert keys, "nothing was counted in Redis"
    finally:
        for key in store.scan_iter(match=f"*{username}*"):
            store.delete(key)
        store.close()


def test_with_redis_down_patients_are_served_and_sign_in_stays_throttled(app_on: Any) -> None:
    closed = free_port()  # nothing listens there
    app = app_on(f"redis://127.0.0.1:{closed}")
    client = app.test_client()
    started = time.monotonic()
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token
    started_form = client.post("/start", data={"csrf_token": token.group(1)})  # a limited view: 60 a minute
    assert started_form.status_code == 302
    assert started_form.headers["Location"].endswith("/questions/A")
    assert time.monotonic() - started < 5
    username = f"down-{secrets.token_hex(4)}"
    statuses = [sign_in_attempt(client, username) for _ in range(7)]
    assert statuses == [400] * 5 + [429] * 2  # counted in this process's memory meanwhile
