"""Staff journeys in a real browser: a nurse's intake, a clinician's review, an urgent alert, signing out.

Each role signs in once for the whole session (``signed_in`` in conftest.py, through the sign-in form);
the sign-out journey signs in afresh, so ending its server session leaves the others signed in. Every
journey checks that its pages asked nothing of any host but the app itself.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import Locator, expect

from screener.rules import RULES, URGENT_RULE_IDS, Outcome
from screener.rules.questions import SECTIONS_BY_ID
from screener.rules.sources import SOURCES
from tests.browser.conftest import (
    STAFF_ACCOUNTS,
    ContextFactory,
    LiveServer,
    RequestLog,
    StaffAccount,
    StaffPage,
    assert_same_origin,
)
from tests.browser.ui import (
    ADULT_PAGES,
    INTAKE_ANSWERS,
    SCREENING_URL,
    Words,
    alert_banner,
    answers_of,
    complete_with_urgent_mood,
    decision_of,
    enter_intake,
    expect_heading,
    expect_result,
    follow_staff_link,
    open_alert_count,
    particular,
    press,
    reference_code,
    sign_in,
)

RULES_BY_ID = {rule.id: rule for rule in RULES}
UTC_TIME = r"\d{2} [A-Z][a-z]{2} \d{4} at \d{2}:\d{2} UTC"  # the alerts page: 29 Nov 2026 at 09:30 UTC
#: The queue's table, named by its caption: the order it keeps ("Screenings, urgent first, then ...").
QUEUE_TABLE = re.compile(r"^Screenings, urgent first\b")
NURSE, CLINICIAN = STAFF_ACCOUNTS["nurse"], STAFF_ACCOUNTS["clinician"]
EN = Words("en")


def outcome_option(outcome: Outcome) -> str:
    """How the queue's outcome filter names an outcome."""
    return f"{outcome.label} ({outcome.value})"


def cells(row: Locator) -> Locator:
    return row.locator(":scope > th, :scope > td")


def as_utc(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- 1. A nurse's intake ------------------------------------------------------------------------


def test_a_nurse_enters_an_intake_with_section_n_and_lands_on_its_outcome(
    staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    page = staff_page("nurse")
    page.goto("/staff/")
    expect_heading(page, f"Hello, {NURSE.display_name}")
    follow_staff_link(page, "New intake")
    section_n = f"N. {SECTIONS_BY_ID['N'].title}"
    expect(page.get_by_role("heading", level=2, name=section_n)).to_be_visible()
    # Self-reported mild acne, examined as IGA 4 "severe": the examination is what the rules use.
    enter_intake(page, "Ada Lovelace", date(2001, 12, 10))

    expect(page).to_have_url(SCREENING_URL)
    notice = page.get_by_role("status")
    expect(notice).to_have_text(re.compile(r"^Saved\. Reference code [0-9A-Z]{4}-[0-9A-Z]{4}\.$"))
    code = reference_code(page)
    expect(notice).to_contain_text(code)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Screening {code}")
    expect(particular(page, "Name")).to_have_text("Ada Lovelace")
    expect(particular(page, "Date of birth")).to_have_text("2001-12-10")
    expect(particular(page, "Review status")).to_have_text("Not reviewed")
    expect(particular(page, "Version shown")).to_have_text("1 of 1, recorded by nurse, answered by nurse")

    expected = decision_of(INTAKE_ANSWERS)
    assert expected.outcome is Outcome.DISCUSSION_APPROPRIATE
    outcome = page.locator(".outcome-summary")
    expect(outcome).to_contain_text(expected.outcome.label)
    expect(outcome).to_contain_text(expected.outcome.value)
    examined = page.get_by_role("table", name="Self-report and examination")
    expect(cells(examined.get_by_role("row").filter(has_text="Severity"))).to_have_text(
        ["Severity", "Mild", "4 - severe"]
    )
    assert_same_origin(request_log.urls, live_server.origin)


# --- 2. A clinician's review --------------------------------------------------------------------


def test_a_clinician_finds_the_intake_in_the_queue_reads_why_and_disagrees(
    staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    nurse = staff_page("nurse")
    nurse.goto("/staff/intake")
    enter_intake(nurse, "Grace Hopper", date(1999, 3, 27))
    code = reference_code(nurse)
    expected = decision_of(INTAKE_ANSWERS)

    page = staff_page("clinician")
    page.goto("/staff/")
    follow_staff_link(page, "Review queue")
    expect_heading(page, "Review queue")
    page.get_by_label("Outcome", exact=True).select_option(label=outcome_option(expected.outcome))
    press(page, "Apply filters")
    expect(page).to_have_url(re.compile(rf"[?&]outcome={expected.outcome.value}(&|$)"))
    rows = page.get_by_role("table", name=QUEUE_TABLE).locator("tbody tr")
    expect(rows.filter(has_text=code)).to_have_count(1)
    expect(rows.filter(has_not_text=expected.outcome.value)).to_have_count(0)  # the filter holds
    row = rows.filter(has_text=code)
    for shown in ("Grace Hopper", "Born 1999-03-27", "Not reviewed"):
        expect(row).to_contain_text(shown)
    with page.expect_navigation():
        row.get_by_role("link", name=code).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Screening {code}")
    why = page.get_by_role("heading", level=2, name="Why it came out as it did")
    why.scroll_into_view_if_needed()
    expect(why).to_be_visible()
    fired = page.locator("ol.fired-rules > li")
    expect(fired).to_have_count(len(expected.fired_rules))
    # This person's rules first, then the universal ones (folded away), each in the ruleset's order.
    universal = [rule for rule in expected.fired_rules if RULES_BY_ID[rule].family.value == "universal"]
    in_page_order = [rule for rule in expected.fired_rules if rule not in universal] + universal
    assert [item.get_attribute("id") for item in fired.all()] == [f"fired-{rule}" for rule in in_page_order]
    page.locator("details").filter(has=page.locator(f"#fired-{universal[0]}")).locator("summary").click()
    for rule_id in expected.fired_rules:
        rule = RULES_BY_ID[rule_id]
        item = page.locator(f"#fired-{rule_id}")
        expect(item.get_by_role("heading", level=3)).to_have_text(f"{rule_id} {rule.title}")
        expect(item).to_contain_text(rule.when.description)
        expect(item.locator(".source-list > li")).to_have_text(
            [f"{source} {SOURCES[source].title}" for source in rule.sources]
        )
        expect(item).to_be_visible()

    # Disagree: another outcome, and the reason typed in.
    reason = "IGA 4 on examination, but scarring and mood need a consultant's view first."
    chosen = Outcome.CLINICIAN_REVIEW
    page.get_by_role("group", name="Do you agree with the outcome").get_by_label("Disagree", exact=True).check()
    outcomes = page.get_by_role("group", name="If you disagree: the outcome you think is right")
    outcomes.get_by_label(f"{chosen.label} {chosen.value}", exact=True).check()
    page.get_by_label("If you disagree: your reason").fill(reason)
    press(page, "Record sign-off")

    expect(page).to_have_url(re.compile(r"/staff/screenings/\d+#history$"))
    expect(page.get_by_role("status")).to_have_text("Your review has been recorded.")
    expect(particular(page, "Review status")).to_have_text("Disagreed")
    expect(page.locator(".outcome-summary")).to_contain_text(expected.outcome.value)  # the stored outcome stays
    reviews = page.get_by_role("table", name="Clinician reviews").locator("tbody tr")
    expect(reviews).to_have_count(1)
    expect(cells(reviews)).to_have_text(
        [
            re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$"),
            CLINICIAN.display_name,
            re.compile(r"^1 \S+$"),  # version 1, and its ruleset
            "Disagree",
            f"{chosen.label} {chosen.value}",
            reason,
            "",
        ]
    )
    assert_same_origin(request_log.urls, live_server.origin)


# --- 3. An urgent alert -------------------------------------------------------------------------


def test_an_urgent_self_screen_raises_an_alert_that_a_nurse_acknowledges(
    new_context: ContextFactory, staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    page = staff_page("nurse")
    page.goto("/staff/")
    before = open_alert_count(page)

    # A patient, on another device, answers PHQ-9 item 9 "Several days".
    patient = new_context().new_page()
    complete_with_urgent_mood(patient, EN)
    expect_result(patient, EN, Outcome.URGENT_HELP.label)
    code = patient.locator(".reference-code").inner_text().strip()
    answers = answers_of(ADULT_PAGES)
    urgent_rules = [
        rule
        for rule in decision_of({**answers, "phq9_q9": "1", "suicide_now": "no"}).fired_rules
        if rule in URGENT_RULE_IDS
    ]
    assert urgent_rules

    # The banner is on every staff page of the care team.
    page.reload()
    expect(alert_banner(page)).to_be_visible()
    assert open_alert_count(page) == before + 1
    follow_staff_link(page, "Review queue")
    expect(alert_banner(page)).to_be_visible()
    assert open_alert_count(page) == before + 1
    queued = page.locator("table.queue tbody tr").filter(has_text=code)
    expect(queued).to_contain_text("Urgent")
    with page.expect_navigation():
        alert_banner(page).get_by_role("link", name="See and acknowledge the alerts").click()

    expect_heading(page, "Urgent alerts")
    expect(page.get_by_role("heading", level=2, name=f"Open alerts ({before + 1})")).to_be_visible()
    pending = page.locator("li.intake-alert").filter(has_text=code)
    expect(pending).to_have_count(1)
    title = pending.get_by_role("heading", level=3)
    expect(title).to_have_text(re.compile(rf"^Alert \d+:\s+Screening {code}\s*$"))
    alert_id = int(re.findall(r"\d+", title.inner_text())[0])
    for rule_id in urgent_rules:
        expect(pending).to_contain_text(f"{rule_id} {RULES_BY_ID[rule_id].title}")
    action = "Called the patient at 10:05; safe, crisis plan agreed, seen by the doctor today."
    pending.get_by_label("What was done").fill(action)
    press(page, f"Acknowledge alert {alert_id}")

    expect(page).to_have_url(re.compile(r"/staff/alerts$"))
    expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    expect(page.locator("li.intake-alert").filter(has_text=code)).to_have_count(0)
    expect(page.get_by_role("heading", level=2, name=f"Open alerts ({before})")).to_be_visible()
    handled = page.get_by_role("table", name="Alerts acknowledged in the last 7 days, newest first")
    row = handled.locator("tbody tr").filter(has_text=code)
    expect(row).to_have_count(1)
    expect(cells(row)).to_have_text(
        [
            re.compile(rf"^{alert_id}:\s+Screening {code}\s*$"),
            re.compile(rf"^{UTC_TIME}$"),
            re.compile(re.escape(urgent_rules[0])),
            re.compile(rf"^{re.escape(NURSE.display_name)}, {UTC_TIME}$"),  # who, when
            action,  # what
        ]
    )
    acknowledged_at = as_utc(str(cells(row).nth(3).locator("time").get_attribute("datetime")))
    assert abs(datetime.now(UTC) - acknowledged_at) < timedelta(minutes=10), acknowledged_at
    # The banner counts one fewer (and is gone when none is left).
    assert open_alert_count(page) == before
    if before == 0:
        expect(alert_banner(page)).to_have_count(0)
    assert_same_origin(request_log.urls, live_server.origin)


# --- 4. Signing out -----------------------------------------------------------------------------


def test_signing_out_returns_to_sign_in_and_the_staff_pages_then_ask_to_sign_in(
    new_context: ContextFactory,
    staff_accounts: dict[str, StaffAccount],
    live_server: LiveServer,
    request_log: RequestLog,
) -> None:
    """Signs in afresh: signing out ends this server session only, not the one ``signed_in`` keeps."""
    nurse = staff_accounts["nurse"]
    page = new_context().new_page()
    page.goto("/staff/queue")  # not signed in: sent to sign in first, then on to the queue
    expect(page).to_have_url(re.compile(r"/staff/login\?next=(/|%2F)staff(/|%2F)queue$"))
    sign_in(page, nurse.username, nurse.password)
    expect(page).to_have_url(re.compile(r"/staff/queue$"))
    expect_heading(page, "Review queue")
    expect(page.get_by_text(f"{nurse.display_name} (nurse)")).to_be_visible()

    press(page, "Sign out")
    expect(page).to_have_url(re.compile(r"/staff/login$"))
    expect_heading(page, "Staff sign in")
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Staff")).to_have_count(0)
    # On a shared clinic computer, Back must not bring the queue (patients' names) back from a cache.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/staff/login(\?next=.*)?$"))
    expect_heading(page, "Staff sign in")

    for path in ("/staff/", "/staff/queue", "/staff/intake", "/staff/alerts", "/staff/rules", "/staff/password"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/staff/login(\?next=.*)?$"))
        expect_heading(page, "Staff sign in")
    assert_same_origin(request_log.urls, live_server.origin)
