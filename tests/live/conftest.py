"""The live deployment group: the shipped deploy/ files, started for real on 127.0.0.1.

- ``live_stack`` (session): ``deploy/nginx/screener.conf.in`` rendered by ``deploy/render.py`` with a
  self-signed certificate made now, in front of TWO gunicorn servers (``deploy/gunicorn.conf.py``, two
  workers each) in production mode, on a fresh schema of the PostgreSQL database ``test_live``
  (``screener db upgrade``), throttling in a throwaway Redis on a free port. A clinician and the first
  admin are created with ``screener users create`` as the README says.
- ``stack``: the same, checked before each test: a server, Redis or nginx that an earlier test left
  stopped is started again, so a failed test cannot take the next ones down with it.

Needs nginx, redis-server and openssl (and pg_createcluster, as root, for the PostgreSQL restart
test). Without them the tests are skipped with a loud reason, unless ``SCREENER_REQUIRE_LIVE=1``
(.ci/run sets it): then they fail. All traffic stays on 127.0.0.1 (clients use other loopback
addresses, 127.1.x.y, so that per-address limits see separate people); every wait is bounded.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import pytest

from tests.live.client import Client, Endpoint
from tests.live.stack import (
    AppServer,
    LiveDatabase,
    LiveSetupError,
    Stack,
    Unavailable,
    require_tools,
    screener_command,
    stack,
)

REQUIRE_LIVE = "SCREENER_REQUIRE_LIVE"
#: At least 15 characters, as the password policy asks (no second factor yet).
PASSWORD = "harbour lantern quietly folding"


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    password: str = PASSWORD


ADMIN = Account("live.admin", "Lina Admin", "admin")
CLINICIAN = Account("live.clinician", "Cora Clinician", "clinician")


def skip_or_fail(reason: str) -> NoReturn:
    message = f"LIVE DEPLOYMENT TESTS NOT RUN: {reason}. .ci/run installs what they need."
    if os.environ.get(REQUIRE_LIVE) == "1":
        pytest.fail(f"{message} {REQUIRE_LIVE}=1, so this is a failure.", pytrace=False)
    pytest.skip(message)


@contextmanager
def setting_up() -> Iterator[None]:
    """A missing tool or service skips (fails under SCREENER_REQUIRE_LIVE=1); a broken setup fails."""
    try:
        yield
    except Unavailable as missing:
        skip_or_fail(str(missing))
    except LiveSetupError as broken:
        pytest.fail(f"live stack setup failed: {broken}", pytrace=False)


@pytest.fixture(scope="session")
def live_tools() -> dict[str, str]:
    try:
        return require_tools("nginx", "redis-server", "openssl", why="the live deployment group")
    except Unavailable as missing:
        skip_or_fail(str(missing))


@pytest.fixture(scope="session")
def live_database(live_tools: dict[str, str]) -> Iterator[LiveDatabase]:
    database = LiveDatabase()
    with setting_up():
        database.create()
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="session")
def live_stack(live_database: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("live-stack")
    with setting_up(), stack(directory, live_database.url) as started:
        # The first admin as the README says; the other accounts as admins would make them (the store).
        screener_command(
            "users",
            "create",
            ADMIN.username,
            "--role",
            ADMIN.role,
            "--name",
            ADMIN.display_name,
            "--password-stdin",
            environment=started.environment,
            stdin=ADMIN.password + "\n",
        )
        create_staff(started, CLINICIAN)
        yield started


@pytest.fixture(name="stack")
def healthy_stack(live_stack: Stack) -> Stack:
    """The live stack with everything running (what an earlier failed test stopped is started again)."""
    with setting_up():
        if not live_stack.redis.answers():
            live_stack.redis.stop()
            live_stack.redis.start()
        for server in live_stack.servers:
            if server.process is None or server.process.poll() is not None:
                server.start()
            server.wait_ready()
        if live_stack.nginx.process is None or live_stack.nginx.process.poll() is not None:
            live_stack.nginx.start()
    return live_stack


def through_nginx(stack: Stack) -> Endpoint:
    return Endpoint(stack.nginx.https_port, stack.certificate.certificate, stack.nginx.https_port)


def straight_to(stack: Stack, server: AppServer) -> Endpoint:
    """One app server over plain HTTP, with the headers nginx would add."""
    return Endpoint(server.port, None, stack.nginx.https_port)


def new_client(stack: Stack, endpoint: Endpoint | None = None) -> Client:
    """A client on a loopback address of its own (its own per-address limits)."""
    return Client(endpoint or through_nginx(stack), stack.next_address())


def create_staff(stack: Stack, account: Account | None = None) -> Account:
    """The account (by default a fresh clinician, with per-account limits of its own), created in the store
    with the function ``screener users create`` calls."""
    from screener.auth import create_account
    from screener.clock import utcnow
    from screener.db import Database

    account = account or Account(f"live.clinician.{secrets.token_hex(3)}", "Test Person", "clinician")
    database = Database(stack.database_url)
    try:
        with database.write() as session:
            create_account(
                session,
                username=account.username,
                display_name=account.display_name,
                role=account.role,
                password=account.password,
                now=utcnow(),
                actor_label="system:live-tests",
            )
    finally:
        database.dispose()
    return account


@dataclass(frozen=True)
class Stored:
    """What the database holds of a set of acknowledged screenings, and its consistency."""

    missing: list[int]  # acknowledged, yet not in the database
    without_version: list[int]  # a screening row without its answers and decision (a partial write)
    drafts_to_nowhere: int  # completed drafts pointing at no screening
    screenings: int  # all screenings in the database


def stored(database_url: str, acknowledged: list[int]) -> Stored:
    from sqlalchemy import func, select

    from screener.db import Database
    from screener.models import Draft, Screening, ScreeningVersion

    database = Database(database_url)
    try:
        with database.read() as session:
            present = set(session.scalars(select(Screening.id).where(Screening.id.in_(acknowledged))))
            versioned = select(ScreeningVersion.screening_id)
            bare = list(session.scalars(select(Screening.id).where(Screening.id.not_in(versioned))))
            linked = select(Draft.id).where(
                Draft.screening_id.is_not(None), Draft.screening_id.not_in(select(Screening.id))
            )
            dangling = int(session.scalar(select(func.count()).select_from(linked.subquery())) or 0)
            total = int(session.scalar(select(func.count()).select_from(Screening)) or 0)
    finally:
        database.dispose()
    return Stored(sorted(set(acknowledged) - present), bare, dangling, total)


def figure(name: str, **values: object) -> None:
    """One line of measured figures (shown with ``pytest -s``; the README's figures come from such a run)."""
    shown = ", ".join(
        f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}" for key, value in values.items()
    )
    print(f"\nLIVE FIGURE {name}: {shown}")
