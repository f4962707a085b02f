"""In Chromium, over HTTPS through the shipped nginx, on two app servers and PostgreSQL: a patient's
journey to a result, then a clinician who finds it in the queue and signs it off.

The steps are the browser tests' own (tests/browser/ui.py); only the place differs: the production
stack of tests/live, where every request reaches one of two gunicorn servers through nginx, cookies
are ``__Host-`` and ``Secure``, and static files come from nginx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from screener.db import Database
from screener.models import Review, Screening
from screener.rules import Outcome
from tests.browser.conftest import LiveServer, RequestLog, assert_same_origin, open_context
from tests.browser.ui import REFERENCE_CODE, Words, complete, expect_heading, expect_result, press, sign_in
from tests.live.conftest import CLINICIAN, Account
from tests.live.stack import Stack

EN = Words("en")


def browser_sign_in(page: Page, account: Account) -> None:
    """Staff sign-in in the browser, every step of it (a second factor, when it comes, goes here)."""
    page.goto("/staff/login")
    sign_in(page, account.username, account.password)
    expect_heading(page, f"Hello, {account.display_name}")


@pytest.fixture
def contexts(browser: Browser, stack: Stack) -> Iterator[tuple[list[BrowserContext], RequestLog]]:
    """Fresh contexts on the stack's HTTPS origin (the test certificate is self-signed), requests recorded."""
    log = RequestLog()
    made: list[BrowserContext] = []
    yield made, log
    for context in made:
        context.close()


def new_page(browser: Browser, stack: Stack, made: list[BrowserContext], log: RequestLog) -> Page:
    server = LiveServer(url=stack.origin, log=stack.nginx.access_log)
    context = open_context(browser, server, ignore_https_errors=True)
    log.attach(context)
    made.append(context)
    return context.new_page()


def test_a_patient_journey_and_a_clinician_sign_off_through_nginx(
    browser: Browser, stack: Stack, contexts: tuple[list[BrowserContext], RequestLog]
) -> None:
    made, log = contexts
    patient = new_page(browser, stack, made, log)
    complete(patient, EN)
    expect_result(patient, EN, Outcome.DISCUSSION_APPROPRIATE.label)
    code = patient.locator(".reference-code").inner_text().strip()
    assert REFERENCE_CODE.match(code)
    cookies = {cookie["name"]: cookie for cookie in patient.context.cookies()}
    assert cookies["__Host-screener"]["secure"] is True  # production cookies, over HTTPS

    page = new_page(browser, stack, made, log)
    browser_sign_in(page, CLINICIAN)
    page.goto("/staff/queue")
    expect_heading(page, "Review queue")
    queue = page.get_by_role("table", name=re.compile(r"^Screenings, urgent first"))
    rows = queue.locator("tbody tr")
    row = rows.filter(has_text=code)
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Screening {code}")
    page.get_by_role("group", name="Do you agree with the outcome").get_by_label("Agree", exact=True).check()
    press(page, "Record sign-off")
    expect(page).to_have_url(re.compile(r"/staff/screenings/\d+#history$"))
    expect(page.get_by_role("status")).to_have_text("Your review has been recorded.")

    database = Database(stack.database_url)
    try:
        with database.read() as session:
            screening = session.scalars(select(Screening).where(Screening.reference_code == code)).one()
            reviews = session.scalars(select(Review).where(Review.screening_id == screening.id)).all()
    finally:
        database.dispose()
    assert [review.decision for review in reviews] == ["agree"]
    assert screening.outcome == Outcome.DISCUSSION_APPROPRIATE.value
    # Every request went to the stack's own origin, the stylesheet and script included (served by nginx).
    assert_same_origin(log.urls, stack.origin)
    assert f"{stack.origin}/static/css/screener.css" in log.urls
