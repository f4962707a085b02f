"""Browser tests: the real app under gunicorn on 127.0.0.1, driven by the system Chromium.

- ``live_server`` (session): ``screener db upgrade`` on a fresh SQLite file in a temporary directory,
  then ``gunicorn -w 2`` on a free port with a random 40-character secret key (both workers must sign
  cookies alike), waited for on ``/healthz`` and terminated at the end. One server for the whole suite.
- ``browser`` (session): Chromium from ``SCREENER_CHROMIUM`` (default ``/usr/bin/chromium``), headless;
  defined in ``chromium.py`` and shared with tests/live (one Playwright per run). Without the executable
  every browser test is skipped with a loud reason, unless ``SCREENER_REQUIRE_BROWSER=1`` (CI): then they fail.
- ``context`` / ``page``: a fresh browser context per test, so cookies never leak between tests;
  ``new_context(...)`` makes more (e.g. with JavaScript off). Every request any page of a test's
  contexts makes is recorded in ``request_log``; ``assert_same_origin`` checks them.
- ``staff_accounts`` (session): a nurse, a clinician and an admin (``STAFF_ACCOUNTS``) in the live
  server's database, their authenticator apps set up with a known TOTP secret (``ui.AUTHENTICATOR``).
  ``signed_in(role)`` signs each in once through the sign-in form and the code page and keeps its
  cookies; ``staff_page(role)`` opens a page already signed in, recorded in ``request_log``.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    StorageState,
    expect,
)

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_SECONDS = 15.0
#: Playwright waits this long (ms) for an element or a navigation before failing: fail fast, not at 30 s.
ACTION_TIMEOUT_MS = 10_000


# --- The live server ----------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash; also the app's origin
    log: Path

    @property
    def origin(self) -> str:
        return self.url

    @property
    def database_url(self) -> str:
        """The SQLite database ``live_server`` prepared (beside its log): for putting data in before tests."""
        return f"sqlite:///{self.log.with_name('b.db')}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        return response.status == 200 and b'"ok"' in response.read()
    except OSError:
        return False
    finally:
        connection.close()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _server_environment(database: Path, **settings: str) -> dict[str, str]:
    """The process environment without inherited SCREENER_* settings, plus this server's."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SCREENER_")}
    environment.update(
        {
            "SCREENER_ENV": "development",  # cookies without Secure, so they work over http://
            "SCREENER_SECRET_KEY": secrets.token_urlsafe(30),  # 40 characters, shared by both workers
            "SCREENER_DATABASE_URL": f"sqlite:///{database}",
            **{f"SCREENER_{name}": value for name, value in settings.items()},
        }
    )
    return environment


def _gunicorn_supports(option: str) -> bool:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    shown = subprocess.run([gunicorn, "--help"], capture_output=True, text=True, timeout=30, check=False)
    return option in shown.stdout


@pytest.fixture(scope="session")
def live_server(chromium_executable: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app under gunicorn (depends on the browser check: no server when the tests skip)."""
    directory = tmp_path_factory.mktemp("live-server")
    # Every browser test comes from 127.0.0.1: one address raising many urgent alerts is the test, not a flood.
    environment = _server_environment(directory / "b.db", JURISDICTION="US", ALERT_ADDRESS_LIMIT="1000")
    bin_dir = Path(sys.executable).parent
    prepared = subprocess.run(
        [bin_dir / "screener", "db", "upgrade"],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert prepared.returncode == 0, f"screener db upgrade failed:\n{prepared.stdout}\n{prepared.stderr}"

    port = _free_port()
    log = directory / "gunicorn.log"
    command: list[str | Path] = [bin_dir / "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
    if _gunicorn_supports("--no-control-socket"):
        command.append("--no-control-socket")  # gunicorn 27 would otherwise open ~/.gunicorn/gunicorn.ctl
    command.append("screener.app:create_app()")
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(port):
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with status {process.returncode}:\n{_tail(log)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer /healthz within {SERVER_START_SECONDS:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield LiveServer(url=f"http://127.0.0.1:{port}", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- The browser: chromium_executable, playwright and browser are in chromium.py (one per run) ---


@dataclass
class RequestLog:
    """Every URL the pages of one test requested, in order."""

    urls: list[str] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.urls.append(request.url)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self.record)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def assert_same_origin(urls: Sequence[str], origin: str) -> None:
    """Every request went to the app itself: no CDN, font host, analytics or any other host.

    ``data:`` URLs (allowed by the CSP for images) are no request to any host and are accepted.
    """
    assert urls, "no requests were recorded: the request log is not attached"
    foreign = [url for url in urls if not url.startswith("data:") and origin_of(url) != origin]
    assert not foreign, f"requests to hosts other than {origin}:\n" + "\n".join(foreign)


ContextFactory = Callable[..., BrowserContext]


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


def open_context(browser: Browser, server: LiveServer, **options: Any) -> BrowserContext:
    context = browser.new_context(**{"base_url": server.url, "locale": "en-US", **options})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return context


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer, request_log: RequestLog) -> Iterator[ContextFactory]:
    """Make fresh contexts on the live server (cookies isolated), recorded in ``request_log``."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = open_context(browser, live_server, **options)
        request_log.attach(context)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context: ContextFactory) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


# --- Staff accounts, signed in once per role ------------------------------------------------

#: As the password policy asks; the same for every test account.
STAFF_PASSWORD = "lantern orchard velvet kettle"


@dataclass(frozen=True)
class StaffAccount:
    username: str
    display_name: str
    role: str
    password: str = STAFF_PASSWORD

    @property
    def totp_secret(self) -> str:
        """The TOTP secret of the account's authenticator app (known: the account is created enrolled)."""
        from tests.web.conftest import test_totp_secret

        return test_totp_secret(self.username)


#: One account per role, created in the live server's database before the first staff test.
STAFF_ACCOUNTS = {
    "nurse": StaffAccount("nurse.browser", "Nadia Okafor", "nurse"),
    "clinician": StaffAccount("clinician.browser", "Clara Reyes", "clinician"),
    "admin": StaffAccount("admin.browser", "Adam Ibsen", "admin"),
}


@pytest.fixture(scope="session")
def staff_accounts(live_server: LiveServer) -> dict[str, StaffAccount]:
    """``STAFF_ACCOUNTS``, created with ``create_account`` (what ``screener users create`` calls), by role,
    with their authenticator apps already set up (the store's enrolment, with a known secret)."""
    from screener.auth import create_account
    from screener.clock import utcnow
    from screener.db import Database
    from screener.store import staff as staff_store
    from tests.browser.ui import AUTHENTICATOR

    database = Database(live_server.database_url)
    try:
        with database.write() as session:
            for account in STAFF_ACCOUNTS.values():
                user = create_account(
                    session,
                    username=account.username,
                    display_name=account.display_name,
                    role=account.role,
                    password=account.password,
                    now=utcnow(),
                    actor_label="system:browser-tests",
                )
                staff_store.propose_totp_secret(session, user, account.totp_secret, now=utcnow())
                staff_store.confirm_totp(session, user, None, now=utcnow())
                AUTHENTICATOR[account.username] = account.totp_secret
    finally:
        database.dispose()
    return dict(STAFF_ACCOUNTS)


StaffState = Callable[[str], StorageState]


@pytest.fixture(scope="session")
def signed_in(browser: Browser, live_server: LiveServer, staff_accounts: dict[str, StaffAccount]) -> StaffState:
    """A role's cookies after it signed in through the sign-in form and the code page, once per role for the
    whole session.

    Contexts made with ``storage_state=signed_in(role)`` share that server session: no test may end it
    (sign out, change the password, or reset or disable the account) -- sign in afresh for that.
    """
    from tests.browser.ui import sign_in

    states: dict[str, StorageState] = {}

    def state_of(role: str) -> StorageState:
        if role not in states:
            account = staff_accounts[role]
            context = open_context(browser, live_server)
            try:
                page = context.new_page()
                page.goto("/staff/login")
                sign_in(page, account.username, account.password)
                expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {account.display_name}")
                states[role] = context.storage_state()
            finally:
                context.close()
        return states[role]

    return state_of


StaffPage = Callable[[str], Page]


@pytest.fixture
def staff_page(new_context: ContextFactory, signed_in: StaffState) -> StaffPage:
    """``staff_page("nurse")``: a page in a new context, already signed in, recorded in ``request_log``."""

    def open_as(role: str) -> Page:
        return new_context(storage_state=signed_in(role)).new_page()

    return open_as
