"""One Chromium for the whole test run (session fixtures), shared by tests/browser and tests/live.

Registered for every test directory by ``tests/conftest.py`` (Playwright's sync API allows one
instance per thread, so the two groups cannot each start their own).

- ``chromium_executable``: ``SCREENER_CHROMIUM`` (default ``/usr/bin/chromium``). Without it every test
  that needs it is skipped with a loud reason, unless ``SCREENER_REQUIRE_BROWSER=1`` (CI): then they fail.
  Playwright never downloads a browser here.
- ``playwright``, ``browser``: Playwright and the headless Chromium it drives.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    path = Path(os.environ.get("SCREENER_CHROMIUM") or DEFAULT_CHROMIUM)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = (
        f"BROWSER TESTS NOT RUN: no Chromium executable at {path}. "
        "Install Debian's chromium or set SCREENER_CHROMIUM to its path (browsers are never downloaded)."
    )
    if os.environ.get("SCREENER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} SCREENER_REQUIRE_BROWSER=1, so this is a failure.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_executable: Path) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()
