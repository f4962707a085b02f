"""Issue 8 in a real browser: the pages at the moment of risk, on a 390×844 phone, and the clinician's summary.

- A person in crisis on a phone sees the help contacts first (on the first screen, before any form), leaves
  a number in "Can we contact you?", and a nurse in another browser sees it on the alerts page, with the
  alert's age and, once it has waited past ``SCREENER_ALERT_OVERDUE_MINUTES``, an "Overdue" tag.
- An urgent self-screen on a phone, in English and in Spanish: "Start now" on the first screen; with
  JavaScript, follow-up questions appear in place (no page load), tagged "New question" and announced; the
  crisis page's "right now" question; check your answers with the skipped optional questions folded and the
  health nudge; the urgent result in its order (outcome, panels, offer, explanation, "For your visit later");
  the offer's error summary on /contact; details left (English) or declined (Spanish), as the nurse sees.
- Results lead with their reason: under 12 (and the check page says why it ends early), pregnant, mild acne
  (other treatments first), urgent.
- The "New question" notice takes the focus and links to the first new question; without JavaScript the page
  comes back with them marked, and the whole journey still works.
- The resume code and the reference code look different, and each typed in the other's box is named; the
  queue shows a self-screen without patient details by its reference code.
- The clinician's summary fits a 1280×800 screen with the sign-off beside it (under it on a tablet); the rules
  this person's answers fired come first, the universal ones folded away.
- A favicon; a neutral colour for a DISCUSSION_APPROPRIATE result; space between the alert banner and the heading.

axe runs on every new page state (at 390×844 for the patient pages, in both languages); every wording
checked comes from the rule catalogue, the question catalogue and messages.po, not from copies here.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect
from sqlalchemy import select

from screener.rules import (
    OUTCOME_OF_WARNING,
    PANEL_OF_WARNING,
    QUESTIONS_BY_ID,
    RULES,
    Decision,
    Kind,
    Outcome,
    Panel,
    asked_questions,
    clinical_outcome,
    parse_answers,
    patient_texts,
)
from tests.browser import axe
from tests.browser.conftest import ContextFactory, LiveServer, RequestLog, StaffPage, assert_same_origin
from tests.browser.ui import (
    ADULT_PAGES,
    CLINIC,
    INTAKE_ANSWERS,
    LANGUAGES,
    RESUME_CODE,
    ROOT,
    SCREENING_URL,
    Words,
    alert_banner,
    answer,
    answer_page,
    answers_of,
    assert_accessible,
    choose_language,
    decision_of,
    enter_intake,
    expect_heading,
    expect_result,
    expect_urgent_panels,
    press,
    reference_code,
    section_title,
    send_answers,
    start,
    urgent_panel,
)
from tests.web.test_intake import stored_answers

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
TABLET: ViewportSize = {"width": 768, "height": 1024}
EN = Words("en")
URGENT, NOT_NOW = Outcome.URGENT_HELP, Outcome.NOT_APPROPRIATE_NOW
PATIENT_SECTIONS = "ABCDEFGH"
RULES_BY_ID = {rule.id: rule for rule in RULES}

#: What the page says when answers open new questions (the notice, and the live region with JavaScript).
NEW_QUESTIONS = "Your answers mean we need to ask a little more. The new questions are marked below."
FIRST_NEW = "Go to the first new question"
COULD_GET_PREGNANT = {"can_get_pregnant": "yes", "breastfeeding": "no"}
#: The questions "Could your body get pregnant? Yes" opens on page B.
PREGNANCY_FOLLOW_UPS = (
    "pregnant_now",
    "planning_pregnancy_6mo",
    "contraception_methods",
    "willing_pregnancy_prevention",
)
NOT_PREGNANT = {
    "pregnant_now": "no",
    "planning_pregnancy_6mo": "no",
    "contraception_methods": ["iud"],
    "willing_pregnancy_prevention": "yes",
}
PREGNANT = {**NOT_PREGNANT, "pregnant_now": "yes"}
#: Page E with PHQ-9 item 9 "Several days" (R-U02), then no thoughts of ending their life right now.
ITEM9_E = {**ADULT_PAGES["E"], "phq9_q9": "1"}
SUICIDE_NOW_NO = {"suicide_now": "no"}
UNDER_12 = {"completed_by": "parent_guardian", "age_years": "11"}

#: The result's contact offer: what the person is thanked with, in each case.
THANKS_GIVEN = "Thank you. The care team will see your details with the alert we sent them."
THANKS_DECLINED = "Thank you. We will not ask again. The help contacts are still there for you."
REFERENCE_IN_RESUME = (
    "That is your reference code, for your visit: show it to the staff. To continue saved answers, use the "
    "12-character code you got when you saved them."
)
RESUME_IN_FIND = "That is a code to continue saved answers (12 letters and numbers), not a reference code."
#: "Raised 02 Dec 2026 at 20:55 UTC, 3 minutes ago" or "..., 2 h 0 min ago".
ALERT_AGE = re.compile(r"Raised \d{2} [A-Z][a-z]{2} \d{4} at \d{2}:\d{2} UTC, (\d+ minutes?|\d+ h \d+ min) ago")


# --- Helpers ----------------------------------------------------------------------------------


def phone_page(new_context: ContextFactory, **options: Any) -> Page:
    """A page in a new context the size of a 390×844 phone (mobile viewport, touch)."""
    return new_context(viewport=PHONE, is_mobile=True, has_touch=True, **options).new_page()


def page_extent(target: Locator) -> tuple[float, float]:
    """Where the element starts and ends, in CSS pixels from the top of the page (not of the window)."""
    top, bottom = target.evaluate(
        "element => { const box = element.getBoundingClientRect();"
        " return [box.top + window.scrollY, box.bottom + window.scrollY]; }"
    )
    return float(top), float(bottom)


def on_first_screen(target: Locator, what: str, screen: ViewportSize = PHONE) -> None:
    """The element is on the first screen of the page: seen without scrolling at this window height."""
    expect(target).to_be_visible()
    top, bottom = page_extent(target)
    assert bottom <= screen["height"], (
        f"{what} runs from {top:.0f} to {bottom:.0f} px down the page: not on the first screen "
        f"({screen['width']}×{screen['height']})"
    )


def in_page_order(*targets: Locator) -> None:
    """Each element comes after the one before it in the page (document order)."""
    found = [
        int(target.evaluate("element => Array.prototype.indexOf.call(document.getElementsByTagName('*'), element)"))
        for target in targets
    ]
    assert len(set(found)) == len(found), f"the same element twice: {list(targets)}"
    order = [str(target) for _position, target in sorted(zip(found, targets, strict=True), key=lambda pair: pair[0])]
    assert found == sorted(found), f"out of order; the page has them as {order}"


def outside_window(targets: Mapping[str, Locator], screen: ViewportSize = DESKTOP) -> list[str]:
    """Which of these elements are not entirely inside the window as it is now (bounding box vs viewport)."""
    outside = []
    for what, target in targets.items():
        box = target.bounding_box()
        if box is None:
            outside.append(f"{what}: not displayed")
        elif box["y"] < 0 or box["y"] + box["height"] > screen["height"]:
            outside.append(f"{what}: {box['y']:.0f}–{box['y'] + box['height']:.0f} px")
    return outside


def mark_page(page: Page) -> None:
    """Mark the loaded document; ``still_same_page`` then tells whether a page load has replaced it."""
    page.evaluate("() => { window.__samePage = true; }")


def still_same_page(page: Page) -> bool:
    return bool(page.evaluate("() => window.__samePage === true"))


def question_block(page: Page, question_id: str) -> Locator:
    return page.locator(f"#q-{question_id}")


def expect_new_questions(page: Page, words: Words, question_ids: Sequence[str]) -> None:
    """Exactly these questions are on the page marked as new: the block, and its "New question" tag."""
    for question_id in question_ids:
        block = question_block(page, question_id)
        expect(block).to_be_visible()
        expect(block).to_have_class(re.compile(r"(^|\s)form-group--new(\s|$)"))
        expect(block.locator(".tag--new")).to_have_text(words.translated("New question"))
        expect(block).to_contain_text(words(QUESTIONS_BY_ID[question_id].text))
    expect(page.locator(".tag--new")).to_have_count(len(question_ids))


def expect_added_in_place(page: Page, words: Words, question_ids: Sequence[str]) -> None:
    """With JavaScript: the questions the answers opened are on the page, marked and announced, and the page
    was not loaded again (``mark_page`` before answering)."""
    expect_new_questions(page, words, question_ids)
    live = page.locator("[data-preview-status]")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_have_text(words.translated(NEW_QUESTIONS))
    assert still_same_page(page), "the follow-up questions came with a page load"


def new_questions_notice(page: Page, words: Words) -> Locator:
    return page.locator(".notice[role=status]").filter(has_text=words.translated(NEW_QUESTIONS))


def contact_offer(page: Page, words: Words) -> Locator:
    """The "Can we contact you?" section (a region named by its heading)."""
    return page.get_by_role("region", name=words.translated(patient_texts.CONTACT_OFFER_TITLE))


def flash(page: Page, words: Words, english: str) -> Locator:
    return page.locator("main > .notice[role=status]").filter(has_text=words.translated(english))


def after_outcome(page: Page) -> Locator:
    """The first thing the result page shows after the outcome (its panel: caption and heading)."""
    return page.locator("main .result-panel + *")


def first_line(words: Words, text: str) -> str:
    """A warning as the page shows it begins with this line (a list text is its lead-in, then its items)."""
    return words(text).split("\n")[0]


def expect_reason_first(page: Page, words: Words, decision: Decision) -> None:
    """A "not now" result: "Why" straight after the outcome, with exactly the warnings that caused it; the
    other warnings are introduced as applying if isotretinoin is considered later."""
    reasons = [w for w in decision.warnings if OUTCOME_OF_WARNING.get(w.id) is decision.outcome]
    assert reasons, f"no warning gives the reason for {decision.outcome}"
    why = after_outcome(page)
    expect(why).to_have_js_property("tagName", "H2")
    expect(why).to_have_text(words.translated("Why"))
    shown = page.locator("main .result-panel + h2 + .warnings > .warning")
    expect(shown).to_have_count(len(reasons))
    for position, reason in enumerate(reasons):
        expect(shown.nth(position)).to_contain_text(first_line(words, reason.text))
    expect(page.get_by_text(words.translated(patient_texts.CONSIDER_LATER))).to_be_visible()


def parsed(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as the server keeps them (numbers as numbers, a multiple choice as a list), validated."""
    stored = {
        key: [value] if QUESTIONS_BY_ID[key].kind is Kind.MULTI and isinstance(value, str) else value
        for key, value in stored_answers(answers).items()
    }
    return dict(parse_answers(stored, CLINIC).values)


@cache
def _catalogue(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation("messages", localedir=ROOT / "screener" / "translations", languages=[language])


def plural(words: Words, singular: str, plural_form: str, number: int) -> str:
    """``ngettext`` in the page's language (``Words`` reads singular messages only)."""
    return _catalogue(words.language).ngettext(singular, plural_form, number) % {"num": number}


def expect_folded_check_page(page: Page, words: Words, answers: Mapping[str, Any]) -> None:
    """Check your answers: a row per answer or required question, and the optional questions skipped in a
    section folded into one "Not answered: N optional questions" row with an "Add answers" link."""
    values = parsed(answers)
    asked = asked_questions(values, CLINIC)
    sections = [section for section in PATIENT_SECTIONS if any(q.section == section for q in asked)]
    expect(page.locator("h2.summary-heading")).to_have_text([section_title(words, s) for s in sections])
    not_answered = words.translated("Not answered")
    for section in sections:
        title = section_title(words, section)
        heading = page.locator("h2.summary-heading").filter(has_text=re.compile(rf"^{re.escape(title)}$"))
        rows = heading.locator("xpath=following-sibling::dl[1]").locator(".summary-list__row")
        listed = [q for q in asked if q.section == section and (q.id in values or q.required)]
        skipped = sum(1 for q in asked if q.section == section and q.id not in values and not q.required)
        keys = [words(q.text) for q in listed] + ([not_answered] if skipped else [])
        expect(rows.locator("dt")).to_have_text(keys)  # no row for any optional question skipped
        if skipped:
            folded = rows.last
            count = plural(words, "%(num)s optional question", "%(num)s optional questions", skipped)
            expect(folded.locator(".summary-list__value")).to_have_text(count)
            add = folded.get_by_role("link")
            expect(add).to_have_attribute("href", f"/questions/{section}?return=check")
            expect(add).to_have_accessible_name(f"{words.translated('Add answers')} – {title}")


def alert_item(page: Page, text: str) -> Locator:
    """The listed alert that shows ``text``: its own item, whether it stands alone or is grouped under another."""
    return page.locator("li[id^='alert-']").filter(has_text=text).last


def backdate_alert(server: LiveServer, phone: str, age: timedelta) -> int:
    """Test data: the alert the person who left ``phone`` raised was raised ``age`` ago, standing on its own.

    Every browser test comes from 127.0.0.1, so the per-address limit may have grouped this alert under an
    earlier test's; one person's alert stands alone. Returns the alert's ID.
    """
    from screener.clock import utcnow
    from screener.db import Database
    from screener.models import StaffAlert

    database = Database(server.database_url)
    try:
        with database.write() as session:
            alert = session.scalars(select(StaffAlert).where(StaffAlert.contact_phone == phone)).one()
            alert.created_at = utcnow() - age
            alert.grouped_into_id = None
            alert_id: int = alert.id
    finally:
        database.dispose()
    return alert_id


@dataclass
class Audits:
    """axe on each page state of a journey, reported together at the end (every state, not only the first)."""

    where: str
    found: dict[str, list[axe.Violation]] = field(default_factory=dict)

    def check(self, page: Page, state: str) -> None:
        self.found[f"{state} ({page.url})"] = axe.violations(page)

    def assert_clean(self) -> None:
        failing = {state: found for state, found in self.found.items() if found}
        assert not failing, "\n\n".join(axe.report(f"{self.where}: {state}", found) for state, found in failing.items())


# --- 1. A person in crisis on a phone -----------------------------------------------------------

CRISIS_NAME, CRISIS_PHONE = "Sam Rivera", "(555) 010-0142"


def test_a_person_in_crisis_on_a_phone_sees_the_help_first_leaves_a_number_and_a_nurse_sees_it(
    new_context: ContextFactory, staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    page = phone_page(new_context)
    start(page, EN)
    for section in "ABCD":
        answer_page(page, section, ADULT_PAGES[section], EN)
    expect_heading(page, section_title(EN, "E"))
    answer(page, ITEM9_E, EN)
    press(page, EN("Continue"))

    # The same page again, the help contacts first: focused, on the first screen, before any form.
    expect(page).to_have_url(re.compile(r"/questions/E$"))
    on_e = decision_of(answers_of({**{s: ADULT_PAGES[s] for s in "ABCD"}, "E": ITEM9_E}))
    assert on_e.panels == (Panel.CRISIS,)
    expect_urgent_panels(page, EN, on_e)
    crisis = urgent_panel(page, Panel.CRISIS)
    on_first_screen(crisis.get_by_role("heading", level=2), "the crisis panel's heading")
    on_first_screen(crisis.locator("a[href^='tel:']").first, "the crisis panel's first number to call")
    offer = contact_offer(page, EN)
    expect(offer).to_contain_text(EN(patient_texts.CONTACT_OFFER_INTRO))
    in_page_order(crisis, offer, page.get_by_role("heading", level=1), page.locator("form[data-preview]"))

    # "Can we contact you?": a name, a number and the best time.
    offer.get_by_label("Your name").fill(CRISIS_NAME)
    offer.get_by_label("Phone number").fill(CRISIS_PHONE)
    offer.get_by_role("group", name="Best time to call").get_by_label("Evening", exact=True).check()
    press(page, "Send my details")
    expect(page).to_have_url(re.compile(r"/questions/E$"))
    expect(flash(page, EN, THANKS_GIVEN)).to_be_visible()
    expect(contact_offer(page, EN)).to_have_count(0)  # asked once
    # The help contacts stay first on the page that comes back (checked at the end, after the nurse's side).
    help_stays = urgent_panel(page, Panel.CRISIS).count() == 1

    # Two hours later, nobody has acknowledged it: a nurse, signed in on another computer.
    alert_id = backdate_alert(live_server, CRISIS_PHONE, timedelta(hours=2))
    nurse = staff_page("nurse")
    nurse.set_viewport_size(DESKTOP)
    nurse.goto("/staff/alerts")
    expect_heading(nurse, "Urgent alerts")
    banner, heading = alert_banner(nurse).bounding_box(), nurse.get_by_role("heading", level=1).bounding_box()
    assert banner, "no alert banner"
    assert heading, "no heading"
    assert heading["y"] - (banner["y"] + banner["height"]) >= 16, "no space between the alert banner and the heading"

    item = nurse.locator(f"li#alert-{alert_id}")
    expect(item).to_have_class(re.compile(r"(^|\s)intake-alert(\s|$)"))
    title = item.get_by_role("heading", level=3)
    expect(title).to_have_text(
        re.compile(rf"^\s*Alert {alert_id}:\s+Unfinished self-screen \(no reference code yet\)\s+Overdue\s*$")
    )
    expect(title.locator(".tag")).to_have_text("Overdue")
    expect(item).to_contain_text(re.compile(rf"{ALERT_AGE.pattern}: not acknowledged within 60 minutes\."))
    expect(item).to_contain_text(re.compile(r", 2 h \d+ min ago"))
    left = item.locator(".intake-contact")
    expect(left).to_contain_text("The person left contact details")
    expect(left.locator("li")).to_have_text(
        [f"Name: {CRISIS_NAME}", f"Phone: {CRISIS_PHONE}", "Best time to call: Evening"]
    )
    expect(left.get_by_role("link", name=CRISIS_PHONE)).to_have_attribute("href", "tel:(555)010-0142")
    for open_alert in nurse.locator("li.intake-alert").all():  # every open alert says how long it has waited
        expect(open_alert).to_contain_text(ALERT_AGE)
    assert_accessible(nurse, "the alerts page with contact details and an overdue alert")

    item.get_by_label("What was done").fill("Called Sam in the evening; safe, crisis plan agreed, seen today.")
    with nurse.expect_navigation():
        item.get_by_role("button", name=re.compile(rf"^Acknowledge alert {alert_id}\b")).click()
    expect(nurse.get_by_role("status")).to_have_text("Alert acknowledged.")
    handled = nurse.get_by_role("table", name="Alerts acknowledged in the last 7 days, newest first")
    expect(handled.locator("tbody tr").filter(has_text=CRISIS_PHONE)).to_have_count(1)
    assert_accessible(nurse, "the alerts page with contact details on an acknowledged alert")
    assert_same_origin(request_log.urls, live_server.origin)
    assert help_stays, (
        "after 'Send my details' the crisis page came back without the crisis panel: the help contacts are "
        "only in the footer, at the bottom of the page"
    )


# --- 2. An urgent self-screen on a phone, in English and in Spanish -----------------------------

#: English: the details left at the result (after an empty phone number); Spanish: a wrong one, then "No thanks".
RESULT_CONTACT = {"en": ("Alex Moreno", "(555) 010-0177"), "es": None}
WRONG_PHONE = {"en": "", "es": "llámame"}
PHONE_ERROR = {
    "en": "Enter a phone number, or choose No thanks",
    "es": "Enter a phone number, like 07700 900 982 or (555) 010-0100",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_urgent_self_screen_on_a_phone(
    language: str,
    new_context: ContextFactory,
    staff_page: StaffPage,
    live_server: LiveServer,
    request_log: RequestLog,
) -> None:
    words = Words(language)
    audits = Audits(f"the urgent self-screen ({language}, 390×844)")
    page = phone_page(new_context)

    # The start page: "Start now" first, on the first screen.
    page.goto("/")
    if language != "en":
        choose_language(page, language)
    start_now = page.get_by_role("button", name=words("Start now"), exact=True)
    on_first_screen(start_now, '"Start now"')
    expect(page.locator("main button").first).to_have_text(words("Start now"))
    in_page_order(start_now, page.get_by_role("heading", level=2).first)
    audits.check(page, "start")
    press(page, words("Start now"))
    answer_page(page, "A", ADULT_PAGES["A"], words)

    # Page B: "Yes" opens the pregnancy questions in place.
    expect_heading(page, section_title(words, "B"))
    mark_page(page)
    answer(page, COULD_GET_PREGNANT, words)
    expect_added_in_place(page, words, PREGNANCY_FOLLOW_UPS)
    audits.check(page, "B with follow-up questions added in place")
    answer(page, NOT_PREGNANT, words)
    press(page, words("Continue"))
    for section in "CD":
        answer_page(page, section, ADULT_PAGES[section], words)

    # Page E: item 9 opens the "right now" question in place; Continue brings the crisis panel and the offer.
    expect_heading(page, section_title(words, "E"))
    mark_page(page)
    answer(page, ITEM9_E, words)
    expect_added_in_place(page, words, ["suicide_now"])
    press(page, words("Continue"))
    expect(page).to_have_url(re.compile(r"/questions/E$"))
    pages = {**{s: ADULT_PAGES[s] for s in "ACD"}, "B": {**COULD_GET_PREGNANT, **NOT_PREGNANT}, "E": ITEM9_E}
    on_e = decision_of(answers_of(pages))
    expect_urgent_panels(page, words, on_e)  # the crisis panel has the focus
    crisis = urgent_panel(page, Panel.CRISIS)
    on_first_screen(crisis.get_by_role("heading", level=2), "the crisis panel's heading")
    expect(crisis).to_contain_text(words(patient_texts.STOP_OR_CARRY_ON))
    notice = new_questions_notice(page, words)
    offer = contact_offer(page, words)
    in_page_order(crisis, offer, page.get_by_role("heading", level=1), notice, page.locator("form[data-preview]"))
    expect(notice.get_by_role("link", name=words.translated(FIRST_NEW))).to_have_attribute("href", "#q-suicide_now")
    expect(notice).not_to_be_focused()  # the crisis panel keeps the focus
    expect_new_questions(page, words, ["suicide_now"])
    audits.check(page, "E with the crisis panel, the contact offer and a new question")
    answer(page, SUICIDE_NOW_NO, words)
    press(page, words("Continue"))

    # Pages F and G skipped entirely, H answered.
    for section in "FG":
        expect_heading(page, section_title(words, section))
        press(page, words("Continue"))
    answer_page(page, "H", ADULT_PAGES["H"], words)

    # Check your answers: the skipped optional questions folded, and a nudge that does not block.
    expect(page).to_have_url(re.compile(r"/check$"))
    pages = {**pages, "E": {**ITEM9_E, **SUICIDE_NOW_NO}, "H": ADULT_PAGES["H"]}
    answers = answers_of(pages)
    expect_folded_check_page(page, words, answers)
    nudge = page.locator(".notice[role=status]").filter(has_text=words.translated(patient_texts.HEALTH_NUDGE))
    expect(nudge).to_have_count(1)
    expect(nudge.get_by_role("link", name=words.translated("Add answers about your health"))).to_have_attribute(
        "href", "/questions/F?return=check"
    )
    audits.check(page, "check your answers with folded rows and the health nudge")
    send_answers(page, words)

    # The urgent result: the outcome, the crisis panel with its warning, the offer, then the rest.
    decided = decision_of(answers)
    assert (decided.outcome, decided.panels) == (URGENT, (Panel.CRISIS,))
    expect_result(page, words, URGENT.label)
    code = page.locator(".reference-code").inner_text().strip()
    expect(after_outcome(page)).to_have_class(re.compile(r"(^|\s)crisis-panel--crisis(\s|$)"))
    expect_urgent_panels(page, words, decided)  # its warning, the numbers to call and "text 988"; focused
    on_first_screen(crisis.get_by_role("heading", level=2), "the crisis panel's heading on the result")
    meaning = page.get_by_role("heading", level=2, name=words("What this means"), exact=True)
    later = page.locator("main details")
    in_page_order(crisis, offer, meaning, later)
    expect(later.locator("summary")).to_have_text(words.translated("For your visit later"))
    assert later.evaluate("details => details.open") is False, '"For your visit later" is open at first'
    others = [w for w in decided.warnings if w.id not in PANEL_OF_WARNING]
    expect(later.locator(".warning")).to_have_count(len(others))
    expect(page.locator("main .warning")).to_have_count(len(others))  # none outside the fold
    for warning in others:
        expect(later).to_contain_text(first_line(words, warning.text))
    expect(page.get_by_role("heading", name=words.translated("Why"), exact=True)).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(words(patient_texts.STOP_OR_CARRY_ON))
    audits.check(page, "the urgent result with the contact offer")

    # The offer with a wrong phone number: /contact with an error summary.
    offer.get_by_label(words("Phone number")).fill(WRONG_PHONE[language])
    press(page, words("Send my details"))
    expect(page).to_have_url(re.compile(r"/contact$"))
    expect(page).to_have_title(re.compile(rf"^{re.escape(words.translated('Error:'))} "))
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(words.translated("There is a problem"))
    problem = summary.get_by_role("link", name=words.translated(PHONE_ERROR[language]))
    expect(problem).to_have_attribute("href", "#contact_phone")
    expect(page.locator("#contact_phone")).to_be_editable()
    audits.check(page, "/contact with an error summary")

    nurse_sees: str
    contact = RESULT_CONTACT[language]
    if contact is not None:
        name, phone = contact
        page.get_by_label(words("Your name")).fill(name)
        page.get_by_label(words("Phone number")).fill(phone)
        page.get_by_role("group", name=words("Best time to call")).get_by_label(words("Evening"), exact=True).check()
        press(page, words("Send my details"))
        thanks = THANKS_GIVEN
        nurse_sees = f"Name: {name} Phone: {phone} Best time to call: Evening"
    else:
        press(page, words("No thanks"))
        thanks = THANKS_DECLINED
        nurse_sees = "The person chose not to leave contact details"
    expect(page).to_have_url(re.compile(r"/result$"))
    expect(flash(page, words, thanks)).to_be_visible()
    expect(contact_offer(page, words)).to_have_count(0)
    expect(urgent_panel(page, Panel.CRISIS)).to_be_visible()  # the help stays

    # The nurse sees what the person chose, with the alert of this screening.
    nurse = staff_page("nurse")
    nurse.goto("/staff/alerts")
    expect(alert_item(nurse, code).locator(".intake-contact").first).to_contain_text(nurse_sees)
    audits.assert_clean()
    assert_same_origin(request_log.urls, live_server.origin)


# --- 3. Results that say why first; follow-up questions with and without JavaScript -------------


def test_a_pregnant_person_is_taken_to_the_new_questions_and_her_result_says_why_first(
    new_context: ContextFactory,
) -> None:
    """With JavaScript, the follow-ups appear in place; left blank, Continue brings them back marked, the
    notice focused (announced) with a link to the first. The result leads with the pregnancy warning."""
    page = phone_page(new_context)
    start(page, EN)
    answer_page(page, "A", ADULT_PAGES["A"], EN)
    answer(page, COULD_GET_PREGNANT, EN)
    for question_id in PREGNANCY_FOLLOW_UPS:
        expect(question_block(page, question_id)).to_be_visible()
    press(page, EN("Continue"))  # without answering them

    expect(page).to_have_url(re.compile(r"/questions/B$"))
    notice = new_questions_notice(page, EN)
    expect(notice).to_be_focused()
    expect(page.locator(".error-summary")).to_have_count(0)  # nothing asked of them yet
    expect_new_questions(page, EN, PREGNANCY_FOLLOW_UPS)
    assert_accessible(page, "B with the new-questions notice (390×844)")
    notice.get_by_role("link", name=FIRST_NEW).click()
    expect(page).to_have_url(re.compile(r"/questions/B#q-pregnant_now$"))
    expect(question_block(page, "pregnant_now")).to_be_in_viewport()
    answer(page, PREGNANT, EN)
    press(page, EN("Continue"))
    for section in "CDEFGH":
        answer_page(page, section, ADULT_PAGES[section], EN)
    send_answers(page, EN)

    decided = decision_of(answers_of({**ADULT_PAGES, "B": {**COULD_GET_PREGNANT, **PREGNANT}}))
    assert decided.outcome is NOT_NOW
    expect_result(page, EN, NOT_NOW.label)
    expect_reason_first(page, EN, decided)


#: Pages C to H for mild acne that has had no treatment yet: OTHER_TREATMENTS_FIRST.
MILD_ACNE = {
    **{section: ADULT_PAGES[section] for section in "CDEFGH"},
    "C": {"self_severity": "mild", "nodules": "none"},
    "D": {"oral_abx": "never", "completed_courses": "none"},
}


def test_without_javascript_the_new_questions_come_back_marked_and_mild_acne_reads_why_first(
    new_context: ContextFactory,
) -> None:
    """The whole journey without JavaScript (axe needs JavaScript: the same markup is audited with it above)."""
    page = phone_page(new_context, java_script_enabled=False)
    start(page, EN)
    answer_page(page, "A", ADULT_PAGES["A"], EN)
    answer(page, COULD_GET_PREGNANT, EN)
    for question_id in PREGNANCY_FOLLOW_UPS:
        expect(question_block(page, question_id)).to_have_count(0)
    press(page, EN("Continue"))

    expect(page).to_have_url(re.compile(r"/questions/B$"))
    expect_new_questions(page, EN, PREGNANCY_FOLLOW_UPS)
    link = new_questions_notice(page, EN).get_by_role("link", name=FIRST_NEW)
    expect(link).to_have_attribute("href", "#q-pregnant_now")
    link.click()
    expect(page).to_have_url(re.compile(r"/questions/B#q-pregnant_now$"))
    expect(question_block(page, "pregnant_now")).to_be_in_viewport()
    answer(page, NOT_PREGNANT, EN)
    press(page, EN("Continue"))
    for section, answers in MILD_ACNE.items():
        answer_page(page, section, answers, EN)
    send_answers(page, EN)

    decided = decision_of(answers_of({**ADULT_PAGES, "B": {**COULD_GET_PREGNANT, **NOT_PREGNANT}, **MILD_ACNE}))
    assert decided.outcome is Outcome.OTHER_TREATMENTS_FIRST
    expect_result(page, EN, decided.outcome.label)
    expect_reason_first(page, EN, decided)


# --- 4. Under 12, and the two codes ------------------------------------------------------------

_PANEL_LOOK = """element => {
  const style = getComputedStyle(element);
  return [style.backgroundColor, style.borderTopWidth, style.borderTopColor, style.borderLeftWidth].join(" ");
}"""


def test_an_under_12_result_says_why_first_and_each_code_in_the_wrong_box_is_named(
    new_context: ContextFactory, staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    page = phone_page(new_context)
    start(page, EN)
    answer_page(page, "A", UNDER_12, EN)

    # The check page comes straight after page A, and says why.
    expect(page).to_have_url(re.compile(r"/check$"))
    why_early = page.locator(".notice[role=status]").filter(has_text=EN(patient_texts.UNDER_12_CHECK))
    expect(why_early).to_be_visible()
    expect(page.locator("h2.summary-heading")).to_have_text([section_title(EN, "A")])
    assert_accessible(page, "check your answers for a child under 12 (390×844)")
    send_answers(page, EN)
    expect_result(page, EN, NOT_NOW.label)
    expect_reason_first(page, EN, decision_of(UNDER_12))

    # The reference code: its own panel and label.
    reference_panel = page.locator(".reference")
    expect(reference_panel.locator(".reference__label")).to_have_text("Your reference code")
    reference = reference_panel.locator(".reference-code").inner_text().strip()
    reference_look = reference_panel.evaluate(_PANEL_LOOK)
    press(page, "Finish and clear this device")

    # Another person saves after page A: the resume code looks different and says what it is for.
    press(page, "Start now")
    answer_page(page, "A", ADULT_PAGES["A"], EN)
    press(page, "Save and come back later")
    expect(page).to_have_url(re.compile(r"/saved$"))
    resume_panel = page.locator(".resume-code")
    expect(resume_panel.locator(".resume-code__label")).to_have_text("Your code to continue")
    expect(resume_panel).to_contain_text("It is not the reference code for your visit")
    expect(resume_panel.locator(".reference-code")).to_have_text(RESUME_CODE)
    resume = resume_panel.locator(".reference-code").inner_text().strip()
    assert resume_panel.evaluate(_PANEL_LOOK) != reference_look, "the two codes' panels look the same"

    # The reference code typed to continue saved answers is named, in English and in Spanish.
    with page.expect_navigation():
        page.get_by_role("link", name="Continue with a code").click()
    for words in (EN, Words("es")):
        if words.language != "en":
            choose_language(page, words.language)
        page.get_by_label(words("Your code")).fill(reference)
        press(page, words("Continue"))
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()
        expect(summary.get_by_role("link")).to_have_text(words.translated(REFERENCE_IN_RESUME))
        expect(page.locator("#code-error")).to_contain_text(words.translated(REFERENCE_IN_RESUME))
        assert_accessible(page, f"resume with a reference code ({words.language}, 390×844)")

    # The resume code typed into the staff "find" box is named; the reference code finds the screening.
    nurse = staff_page("nurse")
    nurse.goto("/staff/find")
    nurse.get_by_label("Reference code", exact=True).fill(resume)
    press(nurse, "Find")
    summary = nurse.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(RESUME_IN_FIND)
    expect(nurse.locator("#code-error")).to_contain_text(RESUME_IN_FIND)
    assert_accessible(nurse, "find with a resume code")
    nurse.get_by_label("Reference code", exact=True).fill(reference)
    press(nurse, "Find")
    expect(nurse).to_have_url(SCREENING_URL)
    assert reference_code(nurse) == reference

    # In the queue, a self-screen without patient details is shown by its reference code.
    nurse.goto(f"/staff/queue?outcome={NOT_NOW.value}")
    row = nurse.locator("table.queue tbody tr").filter(has_text=reference)
    expect(row.locator("td").nth(1)).to_have_text(re.compile(rf"^Self-screen {reference}\s*No patient details yet\s*$"))
    assert_same_origin(request_log.urls, live_server.origin)


# --- 5. The clinician's summary ----------------------------------------------------------------


def test_the_clinician_summary_shows_the_facts_without_scrolling_with_the_sign_off_beside_it(
    staff_page: StaffPage, live_server: LiveServer, request_log: RequestLog
) -> None:
    nurse = staff_page("nurse")
    nurse.goto("/staff/intake")
    enter_intake(nurse, "Mary Somerville", date(2001, 12, 26))  # self-reported mild, examined as IGA 4
    expect(nurse).to_have_url(SCREENING_URL)
    code = reference_code(nurse)

    page = staff_page("clinician")
    page.set_viewport_size(DESKTOP)
    page.goto(nurse.url.split("#")[0])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Screening {code}")
    assert page.evaluate("() => window.scrollY") == 0

    decided = decision_of(INTAKE_ANSWERS)
    shown_as = ("preg_test_result", "self_severity", "nurse_iga", "nodules", "scarring", "nurse_scarring", "oral_abx")
    label = {qid: QUESTIONS_BY_ID[qid].label_for(str(INTAKE_ANSWERS[qid])) for qid in shown_as}
    summary = page.get_by_role("region", name="Summary")
    outcome = summary.locator(".clinician-summary__outcome")
    expect(outcome).to_contain_text(clinical_outcome(decided.outcome, [note.id for note in decided.clinician_notes]))
    expect(outcome).to_contain_text(f"The patient read: “{decided.outcome.label}”")
    facts: dict[str, list[str]] = {
        "Age": [str(INTAKE_ANSWERS["age_years"])],
        "Pregnancy": ["Cannot get pregnant", f"test today: {label['preg_test_result']}"],
        "Severity": [f"Patient: {label['self_severity']}", f"Examination: {label['nurse_iga']}"],
        "Nodules": [label["nodules"]],
        "Scarring": [f"Patient: {label['scarring']}", f"Examination: {label['nurse_scarring']}"],
        "Mood": ["PHQ-2 0", "item 9: 0"],
        "Review flags": list(decided.review_flags) or ["None"],
        "Treatments": [f"Antibiotics: {label['oral_abx']}"],
    }
    rows = summary.locator(".clinician-summary__row")
    expect(rows.locator("dt")).to_have_text(list(facts))
    for position, shown in enumerate(facts.values()):
        for text in shown:
            expect(rows.nth(position).locator("dd")).to_contain_text(text)

    # The sign-off form beside the summary.
    sign_off = page.get_by_role("heading", level=2, name="Clinician sign-off")
    summary_box, sign_off_box = summary.bounding_box(), sign_off.bounding_box()
    assert summary_box
    assert sign_off_box
    assert sign_off_box["x"] >= summary_box["x"] + summary_box["width"], "the sign-off is not beside the summary"
    assert_accessible(page, "the clinician's screening page with the summary (1280×800)")

    # Why: the rules this person's answers fired first, the universal ones folded away.
    universal = [rule for rule in decided.fired_rules if RULES_BY_ID[rule].family.value == "universal"]
    own = [rule for rule in decided.fired_rules if rule not in universal]
    assert universal
    assert own
    listed = page.locator("ol.fired-rules > li")
    assert [item.get_attribute("id") for item in listed.all()] == [f"fired-{rule}" for rule in own + universal]
    folded = page.locator("details").filter(has=page.locator(f"#fired-{universal[0]}"))
    expect(folded.locator("ol.fired-rules > li")).to_have_count(len(universal))
    assert folded.evaluate("details => details.open") is False, "the universal rules are not folded away"
    for rule in own:
        expect(page.locator(f"#fired-{rule}")).to_be_visible()

    # All of it without scrolling: the outcome, every fact, and the sign-off's first question.
    first_screen = {
        "the outcome (clinical and patient wording)": outcome,
        **{f"the {fact} row": rows.nth(position) for position, fact in enumerate(facts)},
        "the sign-off heading": sign_off,
        "the first sign-off question": page.get_by_role("group", name=re.compile("^Do you agree with the outcome")),
    }
    below = outside_window(first_screen)
    banner = "with" if alert_banner(page).count() else "without"

    # On a tablet (768×1024, portrait): the sign-off under the summary, nothing wider than the screen.
    page.set_viewport_size(TABLET)
    summary_box, sign_off_box = summary.bounding_box(), sign_off.bounding_box()
    assert summary_box
    assert sign_off_box
    assert sign_off_box["y"] >= summary_box["y"] + summary_box["height"], "the sign-off is not under the summary"
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= TABLET["width"], f"the page is {width} px wide on a {TABLET['width']} px tablet"
    assert not below, f"not on the first screen at 1280×800 ({banner} the alert banner): " + "; ".join(below)
    assert_same_origin(request_log.urls, live_server.origin)


# --- 6. Small things ---------------------------------------------------------------------------

_DISCUSSION_PANEL_COLOURS = """() => {
  const panel = document.createElement("div");
  panel.className = "result-panel result-panel--discussion_appropriate";
  document.body.append(panel);
  const style = getComputedStyle(panel);
  const colours = [style.backgroundColor, style.color];
  panel.remove();
  return colours;
}"""


def _rgb(colour: str) -> tuple[int, int, int]:
    found = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", colour)
    assert found, f"not an rgb() colour: {colour}"
    red, green, blue = (int(part) for part in found.groups())
    return red, green, blue


def _luminance(colour: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    red, green, blue = (channel(value) for value in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_every_page_has_a_favicon_and_a_discussion_result_is_not_coloured_as_approved(
    new_context: ContextFactory,
) -> None:
    page = phone_page(new_context)
    for path in ("/", "/staff/login"):
        page.goto(path)
        icon = page.locator("head link[rel='icon']")
        expect(icon).to_have_count(1)
        response = page.request.get(str(icon.get_attribute("href")))
        assert response.status == 200, f"the favicon of {path} answers {response.status}"
        assert response.headers["content-type"].startswith("image/"), response.headers["content-type"]

    page.goto("/")
    background, text = (_rgb(colour) for colour in page.evaluate(_DISCUSSION_PANEL_COLOURS))
    red, green, blue = background
    assert not (green > red and green > blue), f"the DISCUSSION_APPROPRIATE panel is green: rgb{background}"
    assert max(background) - min(background) <= 64, f"the DISCUSSION_APPROPRIATE panel is not neutral: rgb{background}"
    lighter, darker = sorted((_luminance(background), _luminance(text)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5, f"rgb{text} on rgb{background} is hard to read"
