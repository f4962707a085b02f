"""The urgent routes of ruleset 2026.12-draft.2 in a real browser (rules.md 6.1, BT1, BT2, BT7), with axe.

- Possible acne fulminans (R-U03) on the acne page: the same-day medical contacts at once, never the
  crisis contacts (the crisis footer stays), then URGENT_HELP with the medical panel and its explanation.
- Fulminans, then a positive PHQ-9 item 9 (R-U02): both panels, the crisis contacts first, on the mood
  page and on the result, with both explanations in that order.
- A nurse's intake for a 10-year-old with a positive item 9: the age gate keeps item 9 and opens the
  "right now" question; the screening is URGENT_HELP (NOT_APPROPRIATE_NOW beneath) and raises an alert.

Every wording checked comes from the rule catalogue (``screener.rules``), not from copies here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from screener.rules import QUESTIONS_BY_ID, RULES, URGENT_RULE_IDS, Decision, Outcome, Panel, patient_texts
from tests.browser.conftest import LiveServer, RequestLog, StaffPage, assert_same_origin
from tests.browser.ui import (
    ADULT_PAGES,
    SCREENING_URL,
    STAFF,
    Words,
    alert_banner,
    answer,
    answer_page,
    answers_of,
    assert_accessible,
    decision_of,
    expect_crisis_footer,
    expect_heading,
    expect_result,
    expect_urgent_panels,
    fill_subject,
    follow_staff_link,
    open_alert_count,
    press,
    reference_code,
    result_explanation,
    section_title,
    send_answers,
    start,
    urgent_panel,
)

EN = Words("en")
URGENT = Outcome.URGENT_HELP
RULES_BY_ID = {rule.id: rule for rule in RULES}
#: Page C of the adult's journey with possible acne fulminans: R-U03.
FULMINANS_C = {**ADULT_PAGES["C"], "fulminans_flags": "yes"}
#: Page E with PHQ-9 item 9 "Several days", and then no thoughts of ending their life right now: R-U02.
ITEM9_E = {**ADULT_PAGES["E"], "phq9_q9": "1"}
SUICIDE_NOW_NO = {"suicide_now": "no"}


def stays_on(page: Page, section: str) -> None:
    """An urgent answer brings the same question page back (with its panels), not the next one."""
    expect(page).to_have_url(re.compile(rf"/questions/{section}$"))
    expect_heading(page, section_title(EN, section))


def expect_urgent_result(page: Page, decision: Decision) -> None:
    """The URGENT_HELP result: "What this means" chosen by the panels (6.1, crisis text first), the panels."""
    assert decision.outcome is URGENT
    expect_result(page, EN, URGENT.label)
    meaning = patient_texts.explanation(URGENT, decision.panels, decision.jurisdiction)
    assert result_explanation(page, EN) == [EN(text) for text in meaning]
    expect_urgent_panels(page, EN, decision)
    expect_crisis_footer(page, EN, decision.jurisdiction)


# --- 1. Possible acne fulminans ---------------------------------------------------------------


def test_possible_fulminans_shows_the_medical_contacts_never_the_crisis_panel(
    page: Page, live_server: LiveServer, request_log: RequestLog
) -> None:
    start(page, EN)
    for section in "AB":
        answer_page(page, section, ADULT_PAGES[section], EN)
    expect_heading(page, section_title(EN, "C"))
    answer(page, FULMINANS_C, EN)
    press(page, EN("Continue"))

    stays_on(page, "C")
    on_page_c = decision_of(answers_of({**ADULT_PAGES, "C": FULMINANS_C}))
    assert on_page_c.panels == (Panel.MEDICAL,)
    expect_urgent_panels(page, EN, on_page_c)  # the medical panel, focused; no crisis panel
    expect(urgent_panel(page, Panel.CRISIS)).to_have_count(0)
    expect_crisis_footer(page, EN, on_page_c.jurisdiction)  # still on the page, without the medical contacts
    assert_accessible(page, "page C with the same-day medical contacts")

    press(page, EN("Continue"))  # carry on: the answers on page C are kept
    for section in "DEFGH":
        answer_page(page, section, ADULT_PAGES[section], EN)
    send_answers(page, EN)

    decided = decision_of(answers_of({**ADULT_PAGES, "C": FULMINANS_C}))
    assert decided.fired_rules == on_page_c.fired_rules
    expect_urgent_result(page, decided)  # the medical panel and the R-U03 explanation
    expect(urgent_panel(page, Panel.CRISIS)).to_have_count(0)
    assert_accessible(page, "the URGENT_HELP result with the same-day medical contacts")
    assert_same_origin(request_log.urls, live_server.origin)


# --- 2. Fulminans, then thoughts of self-harm -------------------------------------------------


def test_fulminans_then_a_positive_item_9_shows_both_panels_crisis_first(page: Page) -> None:
    start(page, EN)
    for section in "AB":
        answer_page(page, section, ADULT_PAGES[section], EN)
    answer(page, FULMINANS_C, EN)
    press(page, EN("Continue"))
    stays_on(page, "C")
    expect(urgent_panel(page, Panel.MEDICAL)).to_be_focused()
    press(page, EN("Continue"))
    answer_page(page, "D", ADULT_PAGES["D"], EN)

    expect_heading(page, section_title(EN, "E"))
    answer(page, ITEM9_E, EN)
    press(page, EN("Continue"))
    stays_on(page, "E")
    on_page_e = decision_of(answers_of({**ADULT_PAGES, "C": FULMINANS_C, "E": ITEM9_E}))
    assert on_page_e.panels == (Panel.CRISIS, Panel.MEDICAL)
    expect_urgent_panels(page, EN, on_page_e)  # both, the crisis contacts first and focused
    suicide_now = page.get_by_role("group", name=EN(QUESTIONS_BY_ID["suicide_now"].text))
    expect(suicide_now).to_be_visible()
    expect_crisis_footer(page, EN, on_page_e.jurisdiction)
    assert_accessible(page, "page E with both urgent panels")

    answer(page, SUICIDE_NOW_NO, EN)
    press(page, EN("Continue"))
    for section in "FGH":
        answer_page(page, section, ADULT_PAGES[section], EN)
    send_answers(page, EN)

    decided = decision_of(answers_of({**ADULT_PAGES, "C": FULMINANS_C, "E": {**ITEM9_E, **SUICIDE_NOW_NO}}))
    assert {"R-U02", "R-U03"} <= set(decided.fired_rules)
    assert decided.panels == (Panel.CRISIS, Panel.MEDICAL)
    expect_urgent_result(page, decided)  # both panels and both explanations, the crisis ones first
    assert_accessible(page, "the URGENT_HELP result with both urgent panels")


# --- 3. A nurse's intake for a child under 12 (BT7) ----------------------------------------------

#: A 10-year-old, entered by the nurse, with PHQ-9 item 9 "Several days": the age gate closes the rest.
CHILD = {"completed_by": "nurse", "age_years": "10", "phq9_q9": "1"}


def test_a_nurse_intake_for_a_10_year_old_with_item_9_gives_urgent_help_and_an_alert(
    staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    page = staff_page("nurse")
    page.goto("/staff/")
    before = open_alert_count(page)
    follow_staff_link(page, "New intake")
    expect_heading(page, "New intake")
    fill_subject(page, "Ada Byron", date.today() - timedelta(days=10 * 365 + 100))  # aged 10
    answer(page, CHILD, STAFF)
    press(page, "Save intake")

    # The same page again: item 9 kept for the child, and the "right now" question it opened, marked.
    expect(page).to_have_url(re.compile(r"/staff/intake$"))
    expect(page.get_by_role("status")).to_contain_text("These answers open more questions.")
    suicide_now = page.get_by_role("group", name=STAFF(QUESTIONS_BY_ID["suicide_now"].text))
    expect(suicide_now).to_be_visible()
    expect(page.locator(".form-group--new")).to_have_count(1)
    expect(page.locator(".form-group--new")).to_contain_text(STAFF(QUESTIONS_BY_ID["suicide_now"].text))
    item_9 = page.get_by_role("group", name=STAFF(QUESTIONS_BY_ID["phq9_q9"].text))
    expect(item_9.get_by_label(STAFF(QUESTIONS_BY_ID["phq9_q9"].label_for("1")), exact=True)).to_be_checked()
    expect(page.get_by_role("group", name=STAFF(QUESTIONS_BY_ID["self_severity"].text))).to_have_count(0)
    assert_accessible(page, "the intake with the question item 9 opened for a 10-year-old")

    answer(page, SUICIDE_NOW_NO, STAFF)
    press(page, "Save intake")

    expect(page).to_have_url(SCREENING_URL)
    expect(page.get_by_role("status")).to_contain_text("An urgent alert was raised")
    code = reference_code(page)
    decided = decision_of({**CHILD, **SUICIDE_NOW_NO})
    assert (decided.outcome, decided.underlying_outcome) == (URGENT, Outcome.NOT_APPROPRIATE_NOW)
    outcome = page.locator(".outcome-summary")
    expect(outcome).to_contain_text(f"{URGENT.label} {URGENT.value}")
    expect(outcome).to_contain_text(f"{decided.underlying_outcome.label} {decided.underlying_outcome.value}")
    expect(alert_banner(page)).to_be_visible()
    assert open_alert_count(page) == before + 1

    follow_staff_link(page, "Urgent alerts")
    expect_heading(page, "Urgent alerts")
    raised = page.locator("li.intake-alert").filter(has_text=code)
    expect(raised).to_have_count(1)
    urgent_rules = [rule for rule in decided.fired_rules if rule in URGENT_RULE_IDS]
    assert urgent_rules == ["R-U02"]
    for rule_id in urgent_rules:
        expect(raised).to_contain_text(f"{rule_id} {RULES_BY_ID[rule_id].title}")
    assert_same_origin(request_log.urls, live_server.origin)
