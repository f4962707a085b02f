"""axe-core on every patient page, in English and in Spanish: zero WCAG 2.2 A/AA violations.

One walk per language goes through every page a patient can see (start, question pages A to H, a page
with an error summary, the follow-up questions, the crisis panel, check your answers, saved, resume and
its error, result, about, a 404) and audits each; one test per (language, page) reports its violations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Error, Page, expect

from tests.browser import axe
from tests.browser.conftest import LiveServer, RequestLog, assert_same_origin, open_context
from tests.browser.ui import (
    ADULT_PAGES,
    LANGUAGES,
    RESUME_CODE,
    Words,
    answer,
    answer_page,
    choose_language,
    expect_heading,
    press,
    section_title,
    send_answers,
)

PAGES = (
    "start",
    "A",
    "error summary",
    "B",
    "B follow-up questions",
    "C",
    "D",
    "E",
    "crisis panel",
    "F",
    "G",
    "H",
    "check your answers",
    "saved",
    "resume",
    "resume error",
    "result",
    "about",
    "404",
)


#: English is audited on a desktop-sized window, Spanish (longer words) on a phone-sized one.
VIEWPORTS = {"en": {"width": 1280, "height": 800}, "es": {"width": 390, "height": 844}}


@dataclass
class Audit:
    language: str
    found: dict[str, list[axe.Violation]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    requests: RequestLog = field(default_factory=RequestLog)
    stopped: str | None = None

    def check(self, page: Page, name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", self.language)
        self.urls[name] = page.url
        self.found[name] = axe.violations(page)


def _walk(page: Page, words: Words, audit: Audit) -> None:
    page.goto("/")
    if words.language != "en":
        choose_language(page, words.language)
    audit.check(page, "start")
    press(page, words("Start now"))
    audit.check(page, "A")

    answer(page, {"completed_by": "self", "age_years": "twenty"}, words)
    press(page, words("Continue"))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(words.translated("There is a problem"))
    expect(summary).to_be_focused()
    for link in summary.get_by_role("link").all():  # each error links to its field
        expect(page.locator(str(link.get_attribute("href")))).to_be_editable()
    audit.check(page, "error summary")
    answer_page(page, "A", ADULT_PAGES["A"], words)

    expect_heading(page, section_title(words, "B"))
    audit.check(page, "B")
    answer(page, {"can_get_pregnant": "yes", "breastfeeding": "no"}, words)
    press(page, words("Continue"))
    expect(page.get_by_role("group", name=words("Are you pregnant now, or could you be?"))).to_be_visible()
    audit.check(page, "B follow-up questions")
    follow_ups = {
        "pregnant_now": "no",
        "planning_pregnancy_6mo": "no",
        "contraception_methods": ["iud"],
        "willing_pregnancy_prevention": "yes",
    }
    answer(page, follow_ups, words)
    press(page, words("Continue"))

    for section in "CD":
        expect_heading(page, section_title(words, section))
        audit.check(page, section)
        answer_page(page, section, ADULT_PAGES[section], words)
    expect_heading(page, section_title(words, "E"))
    audit.check(page, "E")
    answer(page, {**ADULT_PAGES["E"], "phq9_q9": "1"}, words)
    press(page, words("Continue"))
    expect(page.get_by_role("heading", name=words.translated("Please get help today"))).to_be_visible()
    audit.check(page, "crisis panel")
    answer(page, {"suicide_now": "no"}, words)
    press(page, words("Continue"))
    for section in "FGH":
        expect_heading(page, section_title(words, section))
        audit.check(page, section)
        answer_page(page, section, ADULT_PAGES[section], words)

    expect_heading(page, words.translated("Check your answers"))
    audit.check(page, "check your answers")
    press(page, words("Save and come back later"))
    expect(page).to_have_url(re.compile(r"/saved$"))
    code = page.locator(".reference-code")
    expect(code).to_have_text(RESUME_CODE)
    saved_code = code.inner_text()
    audit.check(page, "saved")

    with page.expect_navigation():
        page.get_by_role("link", name=words("Continue with a code")).click()
    audit.check(page, "resume")
    page.get_by_label(words("Your code")).fill("0000-0000-0000")
    press(page, words("Continue"))
    expect(page.get_by_role("alert")).to_contain_text(words.translated("There is a problem"))
    audit.check(page, "resume error")
    page.get_by_label(words("Your code")).fill(saved_code)
    press(page, words("Continue"))
    send_answers(page, words)
    audit.check(page, "result")

    page.goto("/about-isotretinoin")
    audit.check(page, "about")
    response = page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404
    audit.check(page, "404")


@pytest.fixture(scope="session")
def audits(browser: Browser, live_server: LiveServer) -> Callable[[str], Audit]:
    """Walk each language once (on first use) and keep its audit for every (language, page) test."""
    done: dict[str, Audit] = {}

    def audit_of(language: str) -> Audit:
        if language not in done:
            audit = done[language] = Audit(language)
            context = open_context(browser, live_server, viewport=VIEWPORTS[language])
            audit.requests.attach(context)
            try:
                _walk(context.new_page(), Words(language), audit)
            except (Error, AssertionError) as stopped:  # Playwright errors include its timeouts
                audit.stopped = f"{type(stopped).__name__}: {stopped}"
            finally:
                context.close()
        return done[language]

    return audit_of


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_axe_violations(audits: Callable[[str], Audit], language: str, page_name: str) -> None:
    audit = audits(language)
    if page_name not in audit.found:
        pytest.fail(f"the {language} walk stopped before the {page_name} page: {audit.stopped}", pytrace=False)
    found = audit.found[page_name]
    size = "{width}x{height}".format(**VIEWPORTS[language])
    assert not found, axe.report(f"the {page_name} page ({language}, {size} window, {audit.urls[page_name]})", found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_of_the_walk_stays_on_the_site(
    audits: Callable[[str], Audit], live_server: LiveServer, language: str
) -> None:
    audit = audits(language)
    assert audit.stopped is None, audit.stopped
    assert_same_origin(audit.requests.urls, live_server.origin)
