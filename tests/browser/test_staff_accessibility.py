"""axe-core on every staff page, in the states staff see them: zero WCAG 2.2 A/AA violations.

One walk goes through the staff side as its people use it -- signed out, then a nurse, a clinician and
an administrator, each signed in once (``signed_in``) -- and audits each page on the way: forms empty,
with their error summaries, and filled in. One test per page reports its violations (rule id, impact,
help and every offending node's HTML); one more checks that no page asked another host for anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from playwright.sync_api import Browser, Error, Page, expect

from screener.rules import CURRENT_RULESET, Outcome
from tests.browser import axe
from tests.browser.conftest import (
    STAFF_ACCOUNTS,
    LiveServer,
    RequestLog,
    StaffState,
    assert_same_origin,
    open_context,
)
from tests.browser.ui import (
    INTAKE_ANSWERS,
    REFERENCE_CODE,
    SCREENING_URL,
    STAFF,
    answer,
    enrol,
    enter_code,
    expect_heading,
    fill_subject,
    follow_staff_link,
    leave_recovery_codes,
    press,
    screening_id_of,
    sign_in,
)

PAGES = (
    "sign-in",
    "sign-in error",
    "enter code",
    "enter code error",
    "choose password after a reset",
    "enrol",
    "enrol error",
    "recovery codes",
    "home",
    "change password",
    "change password error",
    "intake",
    "intake error summary",
    "intake follow-up questions",
    "screening just entered",
    "amend",
    "find",
    "find not found",
    "alerts",
    "alerts error",
    "alerts acknowledged",
    "queue",
    "queue filtered",
    "queue empty",
    "sign-off error",
    "screening with a review and a re-evaluation",
    "print view",
    "rule catalogue",
    "admin users",
    "admin create user",
    "admin create user error",
    "admin reset password result",
    "admin audit trail",
    "two-step verification",
)
#: Staff work at clinic desktops.
VIEWPORT = {"width": 1280, "height": 800}
#: The walk's intake: the tests/web intake, but able to get pregnant and with PHQ-9 item 9 "Several days",
#: so both sets of follow-up questions open, and the result is urgent (an alert to acknowledge).
OPENING = {**INTAKE_ANSWERS, "can_get_pregnant": "yes", "phq9_q9": "1"}
FOLLOW_UPS = {
    "pregnant_now": "no",
    "planning_pregnancy_6mo": "no",
    "contraception_methods": ["iud"],
    "willing_pregnancy_prevention": "yes",
    "suicide_now": "no",
}


@dataclass
class Walk:
    found: dict[str, list[axe.Violation]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    requests: RequestLog = field(default_factory=RequestLog)
    stopped: str | None = None
    #: The screening the nurse enters, which the clinician then reviews.
    screening_url: str = ""
    reference_code: str = ""
    #: The temporary password the admin's reset of temp.browser showed, for its next sign-in.
    temporary_password: str = ""

    def check(self, page: Page, name: str) -> None:
        assert name in PAGES, name
        expect(page.locator("html")).to_have_attribute("lang", "en")
        self.urls[name] = page.url
        self.found[name] = axe.violations(page)


def error_summary(page: Page, title: str = "There is a problem") -> None:
    """The page came back with its error summary, focused so that it is read first; each error links to
    an element on the page."""
    summary = page.locator(".error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading", level=2)).to_have_text(title)
    expect(summary).to_be_focused()
    links = summary.get_by_role("link").all()
    assert links, "an error summary without links to the fields"
    for link in links:
        target = str(link.get_attribute("href"))
        assert target.startswith("#"), target
        expect(page.locator(target), f"the error summary links to {target}").to_have_count(1)


def _signed_out(page: Page, walk: Walk) -> None:
    page.goto("/staff/login")
    walk.check(page, "sign-in")
    nurse = STAFF_ACCOUNTS["nurse"]
    sign_in(page, nurse.username, "not the password, though long enough")
    error_summary(page)
    expect(page.locator(".error-summary")).to_contain_text("The username or password is not right.")
    walk.check(page, "sign-in error")
    sign_in(page, nurse.username, nurse.password, second_factor=False)
    expect_heading(page, "Enter your code")
    walk.check(page, "enter code")
    enter_code(page, nurse.username, "000000")
    error_summary(page)
    walk.check(page, "enter code error")
    enter_code(page, nurse.username)
    expect_heading(page, f"Hello, {nurse.display_name}")


def _after_reset(page: Page, walk: Walk) -> None:
    """temp.browser, reset by the admin: told of the reset, a new password, then the app set up again."""
    page.goto("/staff/login")
    sign_in(page, "temp.browser", walk.temporary_password, second_factor=False)
    expect_heading(page, "Choose your password")
    expect(page.locator("#reset-notice")).to_contain_text("reset your account on")
    walk.check(page, "choose password after a reset")
    page.get_by_label("Current password", exact=True).fill(walk.temporary_password)
    page.get_by_label("New password", exact=True).fill("amber harbour piano willow")
    page.get_by_label("New password again", exact=True).fill("amber harbour piano willow")
    press(page, "Choose password")
    expect_heading(page, "Set up your authenticator app")
    walk.check(page, "enrol")
    page.get_by_label("Code from the app", exact=True).fill("000000")
    press(page, "Confirm and continue")
    error_summary(page)
    walk.check(page, "enrol error")
    enrol(page, "temp.browser")
    walk.check(page, "recovery codes")
    leave_recovery_codes(page)
    expect_heading(page, "Hello, Tess Temporary")


def _nurse(page: Page, walk: Walk) -> None:
    page.goto("/staff/")
    walk.check(page, "home")

    follow_staff_link(page, "Change password")
    walk.check(page, "change password")
    page.get_by_label("Current password", exact=True).fill("not my current password at all")
    page.get_by_label("New password", exact=True).fill("saffron glacier pocket drum")
    page.get_by_label("New password again", exact=True).fill("saffron glacier pocket drum")
    press(page, "Change password")
    error_summary(page)
    expect(page.locator("#current-error")).to_contain_text("Your current password is not right.")
    walk.check(page, "change password error")

    follow_staff_link(page, "New intake")
    walk.check(page, "intake")
    press(page, "Save intake")  # nothing filled in
    error_summary(page)
    walk.check(page, "intake error summary")
    fill_subject(page, "Mary Seacole", date(1985, 11, 23))
    answer(page, OPENING, STAFF)
    press(page, "Save intake")
    expect(page.get_by_text("These answers open more questions.")).to_be_visible()
    expect(page.locator(".form-group--new")).to_have_count(len(FOLLOW_UPS))
    walk.check(page, "intake follow-up questions")
    answer(page, FOLLOW_UPS, STAFF)
    press(page, "Save intake")
    expect(page).to_have_url(SCREENING_URL)
    expect(page.get_by_role("status")).to_contain_text("An urgent alert was raised")
    walk.screening_url = page.url
    walk.reference_code = page.locator(".summary-list .reference").inner_text().strip()
    assert REFERENCE_CODE.match(walk.reference_code), walk.reference_code
    walk.check(page, "screening just entered")

    # No page links to the amend page (see the report): a nurse has to know its address.
    page.goto(f"/staff/screenings/{screening_id_of(page)}/amend")
    expect_heading(page, "Check or amend a screening")
    walk.check(page, "amend")

    follow_staff_link(page, "Find a self-screen")
    walk.check(page, "find")
    page.get_by_label("Reference code").fill("ZZZZ-ZZZZ")
    press(page, "Find")
    error_summary(page)
    expect(page.locator(".error-summary")).to_contain_text("No screening has that reference code.")
    walk.check(page, "find not found")

    follow_staff_link(page, "Urgent alerts")
    pending = page.locator("li.intake-alert").filter(has_text=walk.reference_code)
    expect(pending).to_have_count(1)
    walk.check(page, "alerts")
    acknowledge = pending.get_by_role("button", name=re.compile(r"^Acknowledge alert \d+$"))
    button = str(acknowledge.text_content()).strip()
    press(page, button)  # without saying what was done
    error_summary(page)
    walk.check(page, "alerts error")
    page.locator("li.intake-alert").filter(has_text=walk.reference_code).get_by_label("What was done").fill(
        "Phoned the patient: safe today, crisis plan agreed."
    )
    press(page, button)
    expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    walk.check(page, "alerts acknowledged")


def _clinician(page: Page, walk: Walk) -> None:
    page.goto("/staff/")
    follow_staff_link(page, "Review queue")
    expect(page.locator("table.queue tbody tr").first).to_be_visible()
    walk.check(page, "queue")
    urgent = Outcome.URGENT_HELP
    page.get_by_label("Outcome", exact=True).select_option(label=f"{urgent.label} ({urgent.value})")
    press(page, "Apply filters")
    expect(page.locator("table.queue tbody tr").filter(has_text=walk.reference_code)).to_have_count(1)
    walk.check(page, "queue filtered")
    page.get_by_label("Created from").fill("2000-01-01")
    page.get_by_label("Created to").fill("2000-01-01")
    press(page, "Apply filters")
    expect(page.get_by_role("heading", name="No screenings match these filters")).to_be_visible()
    walk.check(page, "queue empty")

    page.goto(walk.screening_url)
    press(page, "Record sign-off")  # neither agreed nor disagreed
    error_summary(page, "There is a problem with your sign-off")
    walk.check(page, "sign-off error")
    page.get_by_role("group", name="Do you agree with the outcome").get_by_label("Disagree", exact=True).check()
    other = Outcome.CLINICIAN_REVIEW
    page.get_by_role("group", name="If you disagree: the outcome you think is right").get_by_label(
        f"{other.label} {other.value}", exact=True
    ).check()
    page.get_by_label("If you disagree: your reason").fill("Seen today: low risk, safety plan in place.")
    press(page, "Record sign-off")
    expect(page.get_by_role("status")).to_have_text("Your review has been recorded.")
    press(page, f"Re-evaluate under ruleset {CURRENT_RULESET.version}")
    expect(page.get_by_role("status")).to_contain_text("Re-evaluated under ruleset")
    expect(page.locator("section.difference")).to_have_count(1)
    walk.check(page, "screening with a review and a re-evaluation")

    with page.expect_navigation():
        page.get_by_role("link", name="Printable version").click()
    walk.check(page, "print view")

    follow_staff_link(page, "Rule catalogue")
    walk.check(page, "rule catalogue")


def _admin(page: Page, walk: Walk) -> None:
    page.goto("/staff/")
    follow_staff_link(page, "Staff accounts")
    walk.check(page, "admin users")
    with page.expect_navigation():
        page.get_by_role("link", name="Create an account").click()
    walk.check(page, "admin create user")
    page.get_by_label("Username").fill("temp.browser")
    page.get_by_label("Name", exact=True).fill("Tess Temporary")
    page.get_by_label("First password").fill("too short")  # and no role chosen
    press(page, "Create the account")
    error_summary(page)
    walk.check(page, "admin create user error")
    page.get_by_label("Role").select_option(label="Nurse")
    page.get_by_label("First password").fill("copper meadow lantern violin")
    press(page, "Create the account")
    expect(page.get_by_role("status")).to_contain_text("Account temp.browser created.")
    press(page, "Reset password of temp.browser")
    expect_heading(page, "Password reset for temp.browser")
    walk.temporary_password = page.locator("#temporary-password").inner_text().strip()
    walk.check(page, "admin reset password result")
    follow_staff_link(page, "Audit trail")
    walk.check(page, "admin audit trail")
    page.goto("/staff/mfa/recovery-codes")
    expect_heading(page, "Two-step verification")
    walk.check(page, "two-step verification")


ROLES: tuple[tuple[str | None, Callable[[Page, Walk], None]], ...] = (
    (None, _signed_out),
    ("nurse", _nurse),
    ("clinician", _clinician),
    ("admin", _admin),
    (None, _after_reset),
)


@pytest.fixture(scope="module")
def walk(browser: Browser, live_server: LiveServer, signed_in: StaffState) -> Walk:
    """Walk the staff side once, role after role; a step that fails stops the walk (reported per page)."""
    done = Walk()
    for role, steps in ROLES:
        state = {"storage_state": signed_in(role)} if role else {}
        context = open_context(browser, live_server, viewport=VIEWPORT, **state)
        done.requests.attach(context)
        try:
            steps(context.new_page(), done)
        except (Error, AssertionError) as stopped:  # Playwright errors include its timeouts
            done.stopped = f"{role or 'signed out'}: {type(stopped).__name__}: {stopped}"
            break
        finally:
            context.close()
    return done


@pytest.mark.parametrize("page_name", PAGES)
def test_no_axe_violations(walk: Walk, page_name: str) -> None:
    if page_name not in walk.found:
        pytest.fail(f"the staff walk stopped before the {page_name} page: {walk.stopped}", pytrace=False)
    found = walk.found[page_name]
    assert not found, axe.report(f"the staff {page_name} page ({walk.urls[page_name]})", found)


def test_every_staff_page_of_the_walk_stays_on_the_site(walk: Walk, live_server: LiveServer) -> None:
    assert walk.stopped is None, walk.stopped
    assert_same_origin(walk.requests.urls, live_server.origin)
