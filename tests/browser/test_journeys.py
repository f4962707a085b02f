"""Whole patient journeys in a real browser, as a person does them: labels, radios, buttons, the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import axe
from tests.browser.conftest import ContextFactory, LiveServer, RequestLog, assert_same_origin
from tests.browser.ui import (
    ADULT_PAGES,
    LANGUAGES,
    Words,
    answer,
    answer_page,
    assert_accessible,
    choose_language,
    complete,
    expect_heading,
    expect_result,
    press,
    section_title,
    send_answers,
    start,
)

EN = Words("en")
DISCUSSION = "It makes sense to talk with your doctor about isotretinoin"
NOT_NOW = "Isotretinoin is not an option right now"
URGENT = "Please get help today"
OTHER_FIRST = "Other treatments are usually tried first"


def test_adult_journey_reaches_a_discussion_and_a_reference_code(
    page: Page, live_server: LiveServer, request_log: RequestLog
) -> None:
    complete(page, EN)
    expect_result(page, EN, DISCUSSION)
    expect(page.get_by_role("button", name="Print this page")).to_be_visible()  # shown by screener.js
    assert_accessible(page, "the DISCUSSION_APPROPRIATE result")
    assert_same_origin(request_log.urls, live_server.origin)


def test_mild_acne_is_told_other_treatments_come_first(page: Page) -> None:
    mild = {
        **ADULT_PAGES,
        "C": {"self_severity": "mild", "nodules": "none"},
        "D": {"oral_abx": "never", "completed_courses": "none"},
    }
    complete(page, EN, mild)
    expect_result(page, EN, OTHER_FIRST)
    assert_accessible(page, "the OTHER_TREATMENTS_FIRST result")


PREGNANT_FOLLOW_UPS = {
    "pregnant_now": "yes",
    "planning_pregnancy_6mo": "no",
    "contraception_methods": ["none"],
    "willing_pregnancy_prevention": "yes",
}


def finish_pregnant_journey(page: Page, *, javascript: bool = True) -> None:
    for section in "CDEFGH":
        answer_page(page, section, ADULT_PAGES[section], EN)
    send_answers(page, EN)
    expect_result(page, EN, NOT_NOW)
    expect(page.get_by_role("heading", name="Why")).to_be_visible()  # the reason leads
    if javascript:  # axe runs as a script: with JavaScript off it never returns (the markup is the same)
        assert_accessible(page, "the NOT_APPROPRIATE_NOW result")


def test_someone_who_is_pregnant_is_told_isotretinoin_is_not_an_option(page: Page) -> None:
    """With JavaScript the follow-up questions appear as soon as "yes" is chosen, without a page load."""
    start(page, EN)
    answer_page(page, "A", ADULT_PAGES["A"], EN)
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    answer(page, {"can_get_pregnant": "yes", "breastfeeding": "no"}, EN)
    pregnant_now = page.get_by_role("group", name=re.compile("Are you pregnant now, or could you be?"))
    expect(pregnant_now).to_be_visible()
    expect(pregnant_now).to_contain_text("New question")
    expect(page.locator("[data-preview-status]")).to_contain_text("we need to ask a little more")
    assert loads == []  # no page load
    assert_accessible(page, "B with follow-up questions added in place")
    answer(page, PREGNANT_FOLLOW_UPS, EN)
    press(page, "Continue")
    expect_heading(page, section_title(EN, "C"))  # straight on: nothing came back
    finish_pregnant_journey(page)


def test_without_javascript_follow_up_questions_bring_the_page_back(new_context: ContextFactory) -> None:
    page = new_context(java_script_enabled=False).new_page()
    start(page, EN)
    answer_page(page, "A", ADULT_PAGES["A"], EN)
    answer(page, {"can_get_pregnant": "yes", "breastfeeding": "no"}, EN)
    press(page, "Continue")
    expect(page).to_have_url(re.compile(r"/questions/B$"))  # the same page again, announcing them
    expect(page.locator(".notice[role=status]")).to_contain_text("we need to ask a little more")
    expect(page.get_by_role("group", name=re.compile("Are you pregnant now, or could you be?"))).to_be_visible()
    answer(page, PREGNANT_FOLLOW_UPS, EN)
    press(page, "Continue")
    finish_pregnant_journey(page, javascript=False)


def test_an_under_12_goes_straight_to_check_your_answers(page: Page) -> None:
    start(page, EN)
    answer_page(page, "A", {"completed_by": "parent_guardian", "age_years": "11"}, EN)
    send_answers(page, EN)  # no page B to H in between
    expect_result(page, EN, NOT_NOW)
    expect(page.get_by_text("not approved for children under 12")).to_be_visible()


def crisis_panel(page: Page) -> Locator:
    return page.get_by_role("alert").filter(has=page.get_by_role("heading", name=URGENT))


def tel_links(panel: Locator) -> list[str]:
    return [str(link.get_attribute("href")) for link in panel.locator("a[href^='tel:']").all()]


def test_an_urgent_mood_answer_shows_the_crisis_panel_on_the_same_page_first(page: Page) -> None:
    start(page, EN)
    for section in "ABCD":
        answer_page(page, section, ADULT_PAGES[section], EN)
    expect_heading(page, "Your mood")
    answer(page, {**ADULT_PAGES["E"], "phq9_q9": "1"}, EN)  # item 9: "Several days"
    press(page, "Continue")

    expect(page).to_have_url(re.compile(r"/questions/E$"))  # not on to page F
    expect_heading(page, "Your mood")
    panel = crisis_panel(page)
    expect(panel).to_be_visible()
    expect(panel).to_be_focused()  # announced first by screen readers
    expect(panel).to_contain_text("988")
    panel_numbers = tel_links(panel)
    suicide_now = page.get_by_role("group", name="Are you having thoughts of ending your life right now")
    expect(suicide_now).to_be_visible()

    answer(page, {"suicide_now": "no"}, EN)
    press(page, "Continue")
    for section in "FGH":
        answer_page(page, section, ADULT_PAGES[section], EN)
    send_answers(page, EN)
    expect_result(page, EN, URGENT)
    expect(crisis_panel(page)).to_be_visible()
    result_numbers = tel_links(crisis_panel(page))

    # The panel's own list of contacts (ul.crisis-contacts--large) must offer numbers to tap, as the footer does.
    assert {"tel:988", "tel:911"} <= set(panel_numbers), f"crisis panel on page E has no tel: links: {panel_numbers}"
    assert {"tel:988", "tel:911"} <= set(result_numbers), (
        f"crisis panel on the result has no tel: links: {result_numbers}"
    )


def test_the_adult_journey_works_without_javascript(new_context: ContextFactory) -> None:
    page = new_context(java_script_enabled=False).new_page()
    complete(page, EN)
    expect_result(page, EN, DISCUSSION)


def test_without_javascript_the_result_page_shows_no_print_button_that_does_nothing(
    new_context: ContextFactory,
) -> None:
    """The print button needs screener.js: it carries ``hidden`` until the script reveals it."""
    page = new_context(java_script_enabled=False).new_page()
    start(page, EN)
    answer_page(page, "A", {"completed_by": "parent_guardian", "age_years": "11"}, EN)  # the shortest way
    send_answers(page, EN)
    expect_result(page, EN, NOT_NOW)
    print_button = page.locator("button[data-print]")
    expect(print_button).to_have_attribute("hidden", "")
    expect(print_button).to_be_hidden()


def test_spanish_journey_is_in_spanish_and_stays_on_the_site(
    page: Page, live_server: LiveServer, request_log: RequestLog
) -> None:
    es = Words("es")
    html = page.locator("html")
    start(page, es)  # switches with the header button "Español" on the start page first
    for section, answers in ADULT_PAGES.items():
        expect(html).to_have_attribute("lang", "es")
        answer_page(page, section, answers, es)  # the heading is the Spanish section title
    expect(html).to_have_attribute("lang", "es")
    send_answers(page, es)
    expect(html).to_have_attribute("lang", "es")
    assert es.translated(DISCUSSION) != DISCUSSION  # read from messages.po: "Tiene sentido hablar con su médico ..."
    expect_result(page, es, DISCUSSION)
    assert_accessible(page, "the Spanish DISCUSSION_APPROPRIATE result")
    assert_same_origin(request_log.urls, live_server.origin)


# --- Keyboard only ----------------------------------------------------------------------------

_FOCUS_STYLE = """element => {
  // A visually hidden control (opacity 0, as the radios here) shows its focus on its label's ::before.
  const hidden = getComputedStyle(element).opacity === "0" && element.labels && element.labels.length;
  const target = hidden ? element.labels[0] : element;
  const style = getComputedStyle(target, hidden ? "::before" : null);
  return {
    outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth, outlineColor: style.outlineColor,
    boxShadow: style.boxShadow, backgroundColor: style.backgroundColor, borderColor: style.borderColor,
  };
}"""


def focus_style(locator: Locator) -> dict[str, str]:
    style: dict[str, str] = locator.evaluate(_FOCUS_STYLE)
    return style


def assert_focus_visible(unfocused: dict[str, str], focused: dict[str, str]) -> None:
    """Focus changes how the element looks, with an outline or a box-shadow that is really there."""
    outline = (
        focused["outlineStyle"] != "none"
        and focused["outlineWidth"] not in ("0px", "")
        and not focused["outlineColor"].endswith(", 0)")  # rgba(..., 0): transparent
        and focused["outlineColor"] != "transparent"
    )
    shadow = focused["boxShadow"] != "none"
    assert focused != unfocused, f"focus does not change the element's look: {focused}"
    assert outline or shadow, f"no visible focus outline or box-shadow: {focused}"


def tab_to(page: Page, target: Locator, limit: int = 25) -> None:
    """Press Tab until ``target`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def submit_with_enter(page: Page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_pages_a_and_b_with_the_keyboard_only(page: Page) -> None:
    page.goto("/")
    tab_to(page, page.get_by_role("button", name="Start now"))
    submit_with_enter(page)

    expect_heading(page, section_title(EN, "A"))
    who = page.get_by_role("group", name="Who is filling in this form?")
    first_radio = who.get_by_role("radio").first
    continue_button = page.get_by_role("button", name="Continue", exact=True)
    radio_before, button_before = focus_style(first_radio), focus_style(continue_button)
    tab_to(page, first_radio)
    assert_focus_visible(radio_before, focus_style(first_radio))
    page.keyboard.press("Space")
    expect(who.get_by_label("Me", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    age = page.get_by_label("How old are you?")
    expect(age).to_be_focused()
    page.keyboard.type("22")
    tab_to(page, continue_button)
    assert_focus_visible(button_before, focus_style(continue_button))
    submit_with_enter(page)

    expect_heading(page, section_title(EN, "B"))
    expect(page).to_have_url(re.compile(r"/questions/B$"))
    pregnant = page.get_by_role("group", name="Could your body get pregnant?")
    tab_to(page, pregnant.get_by_role("radio").first)
    page.keyboard.press("ArrowDown")  # Yes -> No: arrow keys move and select within a radio group
    expect(pregnant.get_by_label("No", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    feeding = page.get_by_role("group", name="Are you breastfeeding")
    expect(feeding.get_by_role("radio").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(feeding.get_by_label("No", exact=True)).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Continue", exact=True))
    submit_with_enter(page)

    expect(page).to_have_url(re.compile(r"/questions/C$"))
    expect_heading(page, section_title(EN, "C"))


# --- The idle-timeout warning -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_idle_warning_is_closed_at_load_and_opens_accessibly_before_the_timeout(page: Page, language: str) -> None:
    words = Words(language)
    page.clock.install()  # the page's timers run on a clock the test moves
    start(page, words)
    dialog = page.locator("dialog#idle-dialog")
    expect(dialog).to_have_count(1)
    expect(dialog).to_be_hidden()
    assert dialog.evaluate("dialog => dialog.open") is False

    body: dict[str, str] = page.locator("body").evaluate("body => ({...body.dataset})")
    idle, warning = int(body["idleSeconds"]), int(body["idleWarningSeconds"])
    assert 0 < warning < idle
    page.clock.run_for((idle - warning + 1) * 1000)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=words.translated("Do you need more time?"))).to_be_focused()
    found = axe.violations(page)
    assert not found, axe.report(f"the open idle warning ({language})", found)

    with page.expect_response(lambda response: response.url.endswith("/keep-alive")) as keep_alive:
        dialog.get_by_role("button", name=words("I need more time")).click()
    assert keep_alive.value.status == 204
    expect(dialog).to_be_hidden()
    expect_heading(page, section_title(words, "A"))  # still on the page


def test_a_missing_page_in_spanish_is_in_spanish(page: Page) -> None:
    """WCAG 3.1.2: text on a page with lang="es" must be Spanish (or carry its own lang)."""
    page.goto("/")
    choose_language(page, "es")
    response = page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "es")
    message = "We could not find that page. Check the address, or go back to the start page."
    expect(page.get_by_text(Words("es").translated(message))).to_be_visible()
    expect_heading(page, Words("es").translated("Page not found"))
    expect(page).not_to_have_title(re.compile("Not Found|Page not found"))
