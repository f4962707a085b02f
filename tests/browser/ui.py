"""What a person does on the patient pages, in either language: pick answers by their label, press buttons.

Question and answer wording comes from the question catalogue (``screener.rules``) and, in Spanish,
from the catalogue's translation in ``messages.po``, so the tests follow the product's own words.
The staff pages (English only) are driven the same way: sign in, the one-page intake, the alert banner.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from playwright.sync_api import Locator, Page, expect

from screener.rules import (
    PANEL_OF_WARNING,
    QUESTIONS_BY_ID,
    Contact,
    Decision,
    Jurisdiction,
    Kind,
    Panel,
    evaluate,
    parse_answers,
    parse_config,
    patient_texts,
)
from screener.rules.questions import SECTIONS_BY_ID
from tests.browser import axe
from tests.web.test_intake import INTAKE, stored_answers
from tests.web.test_patient import ADULT

ROOT = Path(__file__).resolve().parents[2]
PO_FILES = {"es": ROOT / "screener" / "translations" / "es" / "LC_MESSAGES" / "messages.po"}
LANGUAGES = ("en", "es")

#: The adult of tests/web/test_patient.py, page by page: DISCUSSION_APPROPRIATE.
ADULT_PAGES: Mapping[str, Mapping[str, Any]] = ADULT
#: Codes as shown: groups of four capitals or digits (the store's alphabet leaves out look-alikes).
REFERENCE_CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")
RESUME_CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
#: The live server's clinic (conftest.py): SCREENER_JURISDICTION=US, every other setting at its default.
CLINIC = parse_config({"jurisdiction": "US"})


@cache
def _messages(language: str) -> dict[str, str]:
    if language not in PO_FILES:
        return {}
    with PO_FILES[language].open("rb") as po:
        catalogue = read_po(po)
    return {
        message.id: message.string
        for message in catalogue
        if isinstance(message.id, str)
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
        and message.context is None  # pgettext entries are other words for the same English
    }


class Words:
    """The product's wording in one language: ``words("Continue")`` is what the page shows."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._messages = _messages(language)

    def __call__(self, english: str) -> str:
        return self._messages.get(english, english)

    def translated(self, english: str) -> str:
        """The translation, which must exist (for checks that the page really is in this language)."""
        if self.language == "en":
            return english
        assert english in self._messages, f"messages.po ({self.language}) has no translation of {english!r}"
        return self._messages[english]


def section_title(words: Words, section: str) -> str:
    return words.translated(SECTIONS_BY_ID[section].title)


def press(page: Page, name: str) -> None:
    """Press a button that sends a form, and wait for the page it leads to (even the same URL again)."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def answer(page: Page, answers: Mapping[str, Any], words: Words) -> None:
    """Answer questions as a person does: type a number into its labelled box, or tick the labelled options."""
    for question_id, value in answers.items():
        question = QUESTIONS_BY_ID[question_id]
        if question.kind is Kind.INTEGER and not question.options:
            page.get_by_label(words(question.text)).fill(str(value))
            continue
        group = page.get_by_role("group", name=words(question.text))
        codes = [value] if isinstance(value, str) else list(value)
        for code in codes:
            group.get_by_label(words(question.label_for(str(code))), exact=True).check()


def expect_heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def answer_page(page: Page, section: str, answers: Mapping[str, Any], words: Words) -> None:
    """On question page ``section``: check the heading, answer, Continue."""
    expect_heading(page, section_title(words, section))
    answer(page, answers, words)
    press(page, words("Continue"))


def start(page: Page, words: Words) -> None:
    page.goto("/")
    if words.language != "en":
        choose_language(page, words.language)
    press(page, words("Start now"))


def choose_language(page: Page, language: str) -> None:
    """The header's language button, named in its own language (``Español``)."""
    names = {"es": "Español", "en": "English"}
    press(page, names[language])
    expect(page.locator("html")).to_have_attribute("lang", language)


def send_answers(page: Page, words: Words) -> None:
    expect(page).to_have_url(re.compile(r"/check$"))
    expect_heading(page, words.translated("Check your answers"))
    press(page, words("Send my answers"))
    expect(page).to_have_url(re.compile(r"/result$"))


def expect_result(page: Page, words: Words, outcome_label: str) -> None:
    expect_heading(page, words.translated(outcome_label))
    expect(page.locator(".reference-code")).to_have_text(REFERENCE_CODE)


def complete(page: Page, words: Words, pages: Mapping[str, Mapping[str, Any]] = ADULT_PAGES) -> None:
    """The whole journey from the start page to the result."""
    start(page, words)
    for section, answers in pages.items():
        answer_page(page, section, answers, words)
    send_answers(page, words)


def answers_of(pages: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The answers of a journey given page by page, as one mapping (later pages win)."""
    return {key: value for answers in pages.values() for key, value in answers.items()}


def decision_of(answers: Mapping[str, Any]) -> Decision:
    """What the rules decide for these form values (as the server stores them: a multiple choice as a list)."""
    stored = {
        key: [value] if QUESTIONS_BY_ID[key].kind is Kind.MULTI and isinstance(value, str) else value
        for key, value in stored_answers(answers).items()
    }
    return evaluate(parse_answers(stored, CLINIC), CLINIC)


def assert_accessible(page: Page, where: str) -> None:
    """axe finds no WCAG 2.2 A/AA violation on the page as it is now (the report names each node)."""
    found = axe.violations(page)
    assert not found, axe.report(f"{where} ({page.url})", found)


def complete_with_urgent_mood(page: Page, words: Words) -> None:
    """The adult's journey with PHQ-9 item 9 "Several days" (and no thoughts of ending their life right now):
    the crisis panel on page E, then the URGENT_HELP result."""
    start(page, words)
    for section in "ABCD":
        answer_page(page, section, ADULT_PAGES[section], words)
    expect_heading(page, section_title(words, "E"))
    answer(page, {**ADULT_PAGES["E"], "phq9_q9": "1"}, words)
    press(page, words("Continue"))
    expect(page.get_by_role("group", name=words(QUESTIONS_BY_ID["suicide_now"].text))).to_be_visible()
    answer(page, {"suicide_now": "no"}, words)
    press(page, words("Continue"))
    for section in "FGH":
        answer_page(page, section, ADULT_PAGES[section], words)
    send_answers(page, words)


# --- Urgent contact panels (rules.md 6.1, BT1, BT2) ---------------------------------------------


def urgent_panels(page: Page) -> Locator:
    """Every urgent contact panel on the page, in page order."""
    return page.locator("section.crisis-panel")


def urgent_panel(page: Page, panel: Panel) -> Locator:
    """The crisis contacts (``Panel.CRISIS``) or the same-day medical contacts (``Panel.MEDICAL``)."""
    return page.locator(f"section.crisis-panel--{panel.value}")


def crisis_footer(page: Page) -> Locator:
    return page.locator("footer.crisis-footer")


def dial_links(where: Locator) -> set[str]:
    """The ``tel:`` and ``sms:`` links in part of a page."""
    links = where.locator("a[href^='tel:'], a[href^='sms:']").all()
    return {str(link.get_attribute("href")) for link in links}


def expected_links(contacts: tuple[Contact, ...]) -> set[str]:
    """The numbers to tap for these contacts: ``tel:`` each, and ``sms:`` those that take texts."""
    calls = {f"tel:{contact.dial}" for contact in contacts if contact.dial}
    return calls | {f"sms:{contact.dial}" for contact in contacts if contact.dial and contact.texts}


def expect_urgent_panels(page: Page, words: Words, decision: Decision) -> None:
    """Exactly the decision's urgent panels, in its order (crisis first), the first focused (read first).

    Each is an alert named by its title, with the warnings of its rules and its contacts (numbers to tap),
    all in the catalogue's words for the live server's jurisdiction.
    """
    shown = urgent_panels(page)
    expect(shown).to_have_count(len(decision.panels))
    for position, panel in enumerate(decision.panels):
        content = patient_texts.CONTACT_PANELS[panel, decision.jurisdiction]
        found = shown.nth(position)
        expect(found).to_have_class(re.compile(rf"(^|\s)crisis-panel--{panel.value}(\s|$)"))
        expect(found).to_have_attribute("role", "alert")
        expect(found).to_have_accessible_name(words(content.title))
        expect(found.get_by_role("heading", level=2)).to_have_text(words(content.title))
        expect(found).to_be_visible()
        for fired in decision.warnings:
            if PANEL_OF_WARNING.get(fired.id) is panel:
                for line in words(fired.text).split("\n"):  # a list text is its lead-in, then its items
                    expect(found).to_contain_text(line)
        for contact in content.contacts:
            expect(found).to_contain_text(words(contact.label))
        assert dial_links(found) == expected_links(content.contacts), f"the {panel.value} panel's numbers"
    if decision.panels:
        expect(shown.first).to_be_focused()


def expect_crisis_footer(page: Page, words: Words, jurisdiction: Jurisdiction) -> None:
    """The crisis footer of every patient page (BT2): the crisis contacts, never the medical ones."""
    footer = crisis_footer(page)
    expect(footer).to_have_count(1)
    crisis = patient_texts.CRISIS_CONTACTS[jurisdiction]
    for contact in crisis:
        expect(footer).to_contain_text(words(contact.label))
    for contact in patient_texts.MEDICAL_CONTACTS[jurisdiction]:
        if contact not in crisis:
            expect(footer).not_to_contain_text(words(contact.label))
    assert dial_links(footer) == expected_links(crisis), "the crisis footer's numbers"


def result_explanation(page: Page, words: Words) -> list[str]:
    """The paragraphs right after the result page's heading "What this means", in order."""
    heading = page.get_by_role("heading", level=2, name=words("What this means"), exact=True)
    expect(heading).to_have_count(1)
    texts: list[str] = heading.evaluate(
        r"""heading => {
          const texts = [];
          for (let next = heading.nextElementSibling; next && next.tagName === "P"; next = next.nextElementSibling) {
            texts.push(next.textContent.replace(/\s+/g, " ").trim());
          }
          return texts;
        }"""
    )
    return texts


# --- The staff pages (English only) ------------------------------------------------------------

STAFF = Words("en")
#: tests/web/test_intake.py's intake: self-reported mild acne examined as IGA 4 (section N), DISCUSSION_APPROPRIATE.
INTAKE_ANSWERS: Mapping[str, Any] = INTAKE
#: A screening's staff page, perhaps at one of its parts (``#history`` after a sign-off).
SCREENING_URL = re.compile(r"/staff/screenings/(\d+)(?:#[\w-]+)?$")
#: The banner every care-team page shows while alerts are open: "2 urgent alerts need action today."
ALERT_BANNER = re.compile(r"(\d+) urgent alerts? needs? action today")


#: The authenticator app of every account these tests sign in with: username -> TOTP secret. Accounts
#: created already enrolled are added by whoever creates them; one that enrols in a test is added by ``enrol``.
AUTHENTICATOR: dict[str, str] = {}
#: The last TOTP step each account used in this test run: like a phone, never the same code twice.
_USED_STEPS: dict[str, int] = {}
CODE_HEADING = "Enter your code"
ENROL_HEADING = "Set up your authenticator app"


def authenticator_code(username: str) -> str:
    """The code the account's app shows now, or the next step's when this one was used (the server accepts one
    step either side); waits for the next 30-second step only when both were used already."""
    from screener.auth import TOTP_STEP_SECONDS, totp_code, totp_step
    from screener.clock import utcnow

    secret = AUTHENTICATOR[username]
    while True:
        now = totp_step(utcnow())
        step = max(now, _USED_STEPS.get(username, now - 1) + 1)
        if step <= now + 1:
            _USED_STEPS[username] = step
            return totp_code(secret, step)
        time.sleep(TOTP_STEP_SECONDS - utcnow().timestamp() % TOTP_STEP_SECONDS + 0.2)


def heading_of(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text().strip()


def sign_in(page: Page, username: str, password: str, *, second_factor: bool = True) -> None:
    """On the staff sign-in page: type the username and password, press Sign in; then, unless
    ``second_factor`` is False, every step that follows as its owner would: the code from the app
    (``AUTHENTICATOR``), or, at the first sign-in, enrolling the app and going on past the recovery codes.
    A refused password, or a password to choose first, is left on the page for the test."""
    expect_heading(page, "Staff sign in")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    press(page, "Sign in")
    if not second_factor:
        return
    heading = heading_of(page)
    if heading == CODE_HEADING:
        enter_code(page, username)
    elif heading == ENROL_HEADING:
        enrol(page, username)
        leave_recovery_codes(page)


def enter_code(page: Page, username: str, code: str | None = None) -> None:
    """On the code page: type the app's code (or ``code``, e.g. a recovery code), press Sign in."""
    expect_heading(page, CODE_HEADING)
    page.get_by_label("Code from the app, or a recovery code", exact=True).fill(code or authenticator_code(username))
    press(page, "Sign in")


def enrol(page: Page, username: str) -> list[str]:
    """On the enrolment page: add the account to the app by the key shown as text (as a person who cannot
    scan the QR code would), confirm with a code; the recovery codes shown."""
    expect_heading(page, ENROL_HEADING)
    expect(page.get_by_role("img", name=re.compile(r"^QR code"))).to_be_visible()
    AUTHENTICATOR[username] = page.locator("#totp-secret").inner_text().replace(" ", "")
    _USED_STEPS.pop(username, None)
    page.get_by_label("Code from the app", exact=True).fill(authenticator_code(username))
    press(page, "Confirm and continue")
    expect_heading(page, "Your recovery codes")
    return [code.strip() for code in page.locator("#recovery-codes li").all_inner_texts()]


def leave_recovery_codes(page: Page) -> None:
    """On the recovery codes page: they are saved; go on to the page asked for (or staff home)."""
    with page.expect_navigation():
        page.get_by_role("link", name="I have saved my recovery codes, continue").click()


def follow_staff_link(page: Page, label: str) -> None:
    """Follow a link of the staff navigation in the page header."""
    with page.expect_navigation():
        page.get_by_role("navigation", name="Staff").get_by_role("link", name=label, exact=True).click()


def fill_subject(page: Page, name: str, born: date, mrn: str = "") -> None:
    """The intake's patient: full name, date of birth (day, month, year boxes), MRN if given."""
    page.get_by_label("Full name", exact=True).fill(name)
    birth = page.get_by_role("group", name="Date of birth")
    birth.get_by_label("Day", exact=True).fill(str(born.day))
    birth.get_by_label("Month", exact=True).fill(str(born.month))
    birth.get_by_label("Year", exact=True).fill(str(born.year))
    if mrn:
        page.get_by_label("MRN (medical record number)").fill(mrn)


def enter_intake(page: Page, name: str, born: date, answers: Mapping[str, Any] = INTAKE_ANSWERS) -> None:
    """On the new intake page: the patient, the answers (section N's too), then Save intake."""
    expect_heading(page, "New intake")
    fill_subject(page, name, born)
    answer(page, answers, STAFF)
    press(page, "Save intake")


def particular(page: Page, key: str) -> Locator:
    """The value of one row of the screening's particulars (Reference code, Review status, Name ...)."""
    rows = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text=re.compile(rf"^{key}$")))
    return rows.locator("dd")


def reference_code(page: Page) -> str:
    """The reference code of the screening page the browser is on."""
    code = particular(page, "Reference code")
    expect(code).to_have_text(REFERENCE_CODE)
    return code.inner_text().strip()


def screening_id_of(page: Page) -> int:
    """The ID in the URL of the screening page the browser is on."""
    found = SCREENING_URL.search(page.url)
    assert found, f"not on a screening's page: {page.url}"
    return int(found.group(1))


def alert_banner(page: Page) -> Locator:
    return page.get_by_role("alert").filter(has_text=ALERT_BANNER)


def open_alert_count(page: Page) -> int:
    """The number the urgent-alert banner of this (server-rendered) page shows; 0 without a banner."""
    banner = alert_banner(page)
    if banner.count() == 0:
        return 0
    found = ALERT_BANNER.search(banner.inner_text())
    assert found, f"alert banner without a count: {banner.inner_text()!r}"
    return int(found.group(1))
