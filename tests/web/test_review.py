"""Clinician review through the Flask test client, with CSRF on, on each test database.

Screenings come from the real patient journey (``complete``) or are stored through the store
with a decision the real rules made (``stored``), so that old rulesets and examination fields,
which the patient journey cannot produce, can be set up too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from screener import store
from screener.models import AuditEvent, Reevaluation, Review, Screening, ScreeningVersion
from screener.rules import (
    CURRENT_RULESET,
    ERROR_RULE,
    OUTCOME_LABELS,
    RULES,
    ClinicConfig,
    evaluate,
    parse_answers,
    patient_texts,
)
from screener.rules.sources import SOURCES
from screener.store import audit as audit_store
from tests.rules.answersets import CASES
from tests.web.conftest import Patient, StaffBrowser
from tests.web.test_patient import ADULT, complete, db_of

Staff = Callable[..., StaffBrowser]
NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
OLD_RULESET = "2025.01-old"

#: A nurse intake with examination fields beside the self-report, and two "not sure" health answers.
EXAMINED: dict[str, Any] = {
    "completed_by": "nurse",
    "age_years": 24,
    "can_get_pregnant": "no",
    "breastfeeding": "no",
    "self_severity": "moderate",
    "nodules": "one_or_two",
    "scarring": "some",
    "sites": ["face", "chest"],
    "oral_abx": "finished_not_helped",
    "completed_courses": "one",
    "phq9_q1": 0,
    "phq9_q2": 1,
    "phq9_q9": 0,
    "mh_history": ["none"],
    "liver_disease": "not_sure",
    "allergies": ["none"],
    "tetracycline_current": "no",
    "vitamin_a_supplement": "not_sure",
    "nurse_iga": 4,
    "nurse_nodule_count": 6,
    "nurse_scarring": "moderate",
}
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def stored(app: Flask, given: dict[str, Any] = EXAMINED, *, now: datetime = NOW, **changes: Any) -> int:
    """A screening whose version holds what the current rules make of ``given``, changed by ``changes``.

    ``changes`` may replace any stored field, even with answers the catalogue would not accept.
    """
    config = ClinicConfig()
    parsed = parse_answers(given, config)
    decision = evaluate(parsed, config)
    record = store.VersionRecord(
        author_role="nurse",
        author_id=None,
        source=str(given.get("completed_by", "nurse")),
        answers=parsed.to_json(),
        discarded=list(parsed.discarded),
        outcome=decision.outcome.value,
        underlying_outcome=decision.underlying_outcome.value,
        warnings=[
            {"id": w.id, "severity": w.severity.value, "text": w.text, "sources": list(w.sources)}
            for w in decision.warnings
        ],
        language="en",
        clinician_notes=[{"id": n.id, "text": n.text, "sources": list(n.sources)} for n in decision.clinician_notes],
        fired_rules=list(decision.fired_rules),
        review_flags=list(decision.review_flags),
        priority=decision.priority,
        ruleset_version=decision.ruleset_version,
        ruleset_hash=decision.ruleset_hash,
        jurisdiction=decision.jurisdiction.value,
        config={key: getattr(value, "value", value) for key, value in asdict(config).items()},
    )
    with db_of(app).write() as session:
        draft, _token = store.create_draft(session, language="en", jurisdiction="US", now=now, lifetime=timedelta(1))
        screening = store.complete_draft(session, draft, record=replace(record, **changes), now=now)
        return screening.id


def screening_row(app: Flask, screening_id: int) -> Screening:
    with db_of(app).read() as session:
        found = session.get(Screening, screening_id)
        assert found is not None
        return found


def rows(app: Flask, model: type[Any]) -> list[Any]:
    with db_of(app).read() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def events(app: Flask) -> list[AuditEvent]:
    return rows(app, AuditEvent)


def references(html: str) -> list[str]:
    """The reference codes of the queue's rows, in page order."""
    return re.findall(r'class="reference" href="[^"]+">([^<]+)</a>', html)


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def text_of(html: str) -> str:
    """The page's text with tags removed and spaces collapsed, for phrase checks across markup."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def sign_off(browser: StaffBrowser, screening_id: int, **form: str) -> Any:
    browser.get(f"/staff/screenings/{screening_id}")
    return browser.post(f"/staff/screenings/{screening_id}/reviews", {"version": "1", **form})


# --- Access -------------------------------------------------------------------------------

ACCESS = [
    # (role, method, path, expected status)
    ("nurse", "GET", "/staff/queue", 200),
    ("clinician", "GET", "/staff/queue", 200),
    ("admin", "GET", "/staff/queue", 403),
    ("nurse", "GET", "/staff/screenings/{id}", 200),
    ("clinician", "GET", "/staff/screenings/{id}", 200),
    ("admin", "GET", "/staff/screenings/{id}", 403),
    ("nurse", "GET", "/staff/screenings/{id}/print", 200),
    ("clinician", "GET", "/staff/screenings/{id}/print", 200),
    ("admin", "GET", "/staff/screenings/{id}/print", 403),
    ("nurse", "POST", "/staff/screenings/{id}/reviews", 403),
    ("clinician", "POST", "/staff/screenings/{id}/reviews", 302),
    ("admin", "POST", "/staff/screenings/{id}/reviews", 403),
    ("nurse", "POST", "/staff/screenings/{id}/reevaluations", 403),
    ("clinician", "POST", "/staff/screenings/{id}/reevaluations", 302),
    ("admin", "POST", "/staff/screenings/{id}/reevaluations", 403),
    ("nurse", "GET", "/staff/rules", 200),
    ("clinician", "GET", "/staff/rules", 200),
    ("admin", "GET", "/staff/rules", 200),
]


@pytest.mark.parametrize(("role", "method", "path", "expected"), ACCESS)
def test_access_by_role(app: Flask, staff: Staff, role: str, method: str, path: str, expected: int) -> None:
    screening_id = stored(app)
    browser = staff(role)
    url = path.format(id=screening_id)
    response = browser.get(url) if method == "GET" else browser.post(url, {"version": "1", "decision": "agree"})
    assert response.status_code == expected
    if expected == 403:
        assert (events(app)[-1].action, events(app)[-1].actor) == ("access.denied", browser.username)
        assert rows(app, Review) == []
        assert rows(app, Reevaluation) == []


@pytest.mark.parametrize("path", ["/staff/queue", "/staff/screenings/1", "/staff/screenings/1/print", "/staff/rules"])
def test_anonymous_visitors_are_sent_to_sign_in(patient: Patient, path: str) -> None:
    response = patient.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/login?next={path}"


def test_writes_refuse_get(app: Flask) -> None:
    endpoints = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for endpoint in ("review.sign_off", "review.reevaluate"):
        assert "GET" not in (endpoints[endpoint].methods or set()), endpoint


@pytest.mark.parametrize("suffix", ["", "/print"])
def test_a_screening_that_does_not_exist_is_404_and_audited(app: Flask, staff: Staff, suffix: str) -> None:
    browser = staff("clinician")
    assert browser.get(f"/staff/screenings/4242{suffix}").status_code == 404
    last = events(app)[-1]
    assert (last.object_id, last.outcome) == ("4242", "failure")


@pytest.mark.parametrize("action", ["reviews", "reevaluations"])
def test_writing_to_a_screening_that_does_not_exist_is_404(app: Flask, staff: Staff, action: str) -> None:
    browser = staff("clinician")
    browser.get("/staff/queue")
    response = browser.post(f"/staff/screenings/4242/{action}", {"version": "1", "decision": "agree"})
    assert response.status_code == 404
    assert (events(app)[-1].object_id, events(app)[-1].outcome) == ("4242", "failure")


# --- Queue --------------------------------------------------------------------------------


def test_the_queue_shows_urgent_first_then_newest(app: Flask, staff: Staff) -> None:
    old = stored(app, now=NOW)
    newest = stored(app, now=NOW + timedelta(hours=2))
    urgent = stored(app, now=NOW - timedelta(days=3), outcome="URGENT_HELP")
    browser = staff("nurse")
    response = browser.get("/staff/queue")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert references(html) == [screening_row(app, i).reference_code for i in (urgent, newest, old)]
    assert "29 Nov 2026, 11:30 UTC" in html  # readable UTC
    assert "Urgent</strong>" in html
    assert "Not reviewed" in html
    assert f'href="/staff/screenings/{urgent}"' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_the_queue_shows_patient_identifiers_to_staff(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    with db_of(app).write() as session:
        found = session.get(Screening, screening_id)
        assert found is not None
        found.subject_name, found.subject_mrn = "Ada Lovelace", "MRN-0042"
    html = staff("nurse").get("/staff/queue").get_data(as_text=True)
    assert "Ada Lovelace" in html
    assert "MRN-0042" in html


def test_a_self_screen_without_details_shows_its_reference_code_and_dates_match_their_hint(
    app: Flask, staff: Staff
) -> None:
    screening_id = stored(app)
    with db_of(app).read() as session:
        found = session.get(Screening, screening_id)
        assert found is not None
        code = found.reference_code
    html = staff("nurse").get("/staff/queue").get_data(as_text=True)
    row = queue_rows(html)[code]
    assert text_of(row).count(code) == 2  # the link, and again where the patient's name would be
    assert "Not recorded" not in row
    assert 'id="from" name="from" type="text"' in html  # typed as the hint shows, not a browser's date picker
    assert "Year-month-day, for example 2026-11-29" in html


def test_an_empty_queue_says_what_will_appear(app: Flask, staff: Staff) -> None:
    html = staff("clinician").get("/staff/queue").get_data(as_text=True)
    assert "No screenings yet" in html
    assert "<table" not in html


def queue_setup(app: Flask, staff: Staff) -> tuple[StaffBrowser, dict[str, int]]:
    made = {
        "urgent": stored(app, now=NOW, outcome="URGENT_HELP"),
        "review": stored(app, now=NOW + timedelta(days=1), outcome="CLINICIAN_REVIEW"),
        "appropriate": stored(app, now=NOW + timedelta(days=2)),
    }
    browser = staff("clinician")
    assert sign_off(browser, made["review"], decision="agree").status_code == 302
    return browser, made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("outcome=URGENT_HELP", ["urgent"]),
        ("outcome=DISCUSSION_APPROPRIATE", ["appropriate"]),
        ("review_status=agreed", ["review"]),
        ("review_status=unreviewed", ["urgent", "appropriate"]),
        ("from=2026-11-30", ["appropriate", "review"]),  # newest first
        ("to=2026-11-30", ["urgent", "review"]),  # the "to" day is included
        ("from=2026-11-30&to=2026-11-30", ["review"]),
        ("outcome=CLINICIAN_REVIEW&review_status=agreed&from=2026-11-29", ["review"]),
        ("outcome=NOT_APPROPRIATE_NOW", []),
    ],
)
def test_each_queue_filter(app: Flask, staff: Staff, query: str, expected: list[str]) -> None:
    browser, made = queue_setup(app, staff)
    response = browser.get(f"/staff/queue?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert references(html) == [screening_row(app, made[name]).reference_code for name in expected]
    if not expected:
        assert "No screenings match these filters" in html
    assert "Clear filters" in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("outcome=APPROVED", "outcome", "Choose an outcome from the list"),
        ("review_status=lost", "review_status", "Choose a review status from the list"),
        ("from=2026-13-45", "from", "From date must be a real date"),
        ("to=yesterday", "to", "To date must be a real date"),
        ("from=2026-12-01&to=2026-11-01", "to", "To date must be the same as or after the from date"),
        ("to=" + "9" * 5000, "to", "To date must be a real date"),
    ],
)
def test_invalid_filters_give_an_error_summary_and_the_unfiltered_queue(
    app: Flask, staff: Staff, query: str, field: str, message: str
) -> None:
    browser, made = queue_setup(app, staff)
    response = browser.get(f"/staff/queue?{query}&after=garbage")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem with the filters" in html
    assert f'<a href="#{field}">{message}' in html
    assert f'id="{field}-error"' in html
    assert len(references(html)) == len(made)  # unfiltered


def test_the_queue_pages_through_60_screenings_without_duplicates_or_gaps(app: Flask, staff: Staff) -> None:
    for number in range(60):
        # Pairs share a creation time: the id breaks the tie, across page boundaries too.
        stored(
            app,
            now=NOW + timedelta(minutes=number // 2),
            outcome="URGENT_HELP" if number % 9 == 0 else "CLINICIAN_REVIEW",
        )
    with db_of(app).read() as session:
        everything = session.scalars(select(Screening)).all()
        expected = [
            s.reference_code for s in sorted(everything, key=lambda s: (s.urgent, s.created_at, s.id), reverse=True)
        ]
    browser = staff("nurse")
    pages: list[list[str]] = []
    url: str | None = "/staff/queue"
    while url is not None:
        response = browser.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(references(html))
        url = next_link(html)
        if len(pages) > 1:
            assert 'href="/staff/queue">First page</a>' in html
    assert [len(page) for page in pages] == [25, 25, 10]
    assert [code for page in pages for code in page] == expected


def test_paging_keeps_the_filters(app: Flask, staff: Staff) -> None:
    for number in range(30):
        stored(app, now=NOW + timedelta(minutes=number), outcome="URGENT_HELP" if number % 2 else "CLINICIAN_REVIEW")
    browser = staff("nurse")
    first = browser.get("/staff/queue?outcome=CLINICIAN_REVIEW").get_data(as_text=True)
    url = next_link(first)
    assert url is None  # 15 rows fit on one page
    everyone = browser.get("/staff/queue").get_data(as_text=True)
    url = next_link(everyone)
    assert url is not None
    filtered = browser.get("/staff/queue?review_status=unreviewed").get_data(as_text=True)
    following = next_link(filtered)
    assert following is not None
    assert "review_status=unreviewed" in following
    assert len(references(browser.get(following).get_data(as_text=True))) == 5


# (A NUL character, "%00", in any parameter is refused before any view: tests/web/test_hostile_input.py.)
@pytest.mark.parametrize("cursor", ["garbage", "%ff%fe", "MS4xLjE=", "x" * 300, "Mi4xLjE", "../../etc"])
def test_a_garbage_cursor_gives_page_one(app: Flask, staff: Staff, cursor: str) -> None:
    for number in range(30):
        stored(app, now=NOW + timedelta(minutes=number))
    browser = staff("nurse")
    first = references(browser.get("/staff/queue").get_data(as_text=True))
    response = browser.get(f"/staff/queue?after={cursor}")
    assert response.status_code == 200
    assert references(response.get_data(as_text=True)) == first


# --- Review flags and priority in the queue ----------------------------------------------

#: Rule titles come from the catalogue, never from the templates.
TITLES = {rule.id: rule.title for rule in RULES}


def case_answers(case_id: str) -> dict[str, Any]:
    """The answers of a worked case (all of them under the default, US, clinic settings)."""
    (case,) = [case for case in CASES if case["id"] == case_id]
    assert case["config"] == {"jurisdiction": "US"}
    return dict(case["answers"])


def queue_rows(html: str) -> dict[str, str]:
    """Each queue row's HTML, by the reference code it links to."""
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", html, re.DOTALL)
    return {references(row)[0]: row for row in rows}


def test_the_queue_pages_urgent_then_priority_then_newest(app: Flask, staff: Staff) -> None:
    """Worked cases TC71 (urgent), TC72 (priority), TC68 (flags only) and a plain one; the priority
    block crosses the page boundary, and older priority screenings come before newer plain ones."""
    kinds = {}
    for number in range(40):
        if number % 10 == 0:
            case_id = "TC71"
        elif number % 3 != 2:
            case_id = "TC72"
        else:
            case_id = "TC68" if number % 2 else "plain"
        given = EXAMINED if case_id == "plain" else case_answers(case_id)
        # Newer screenings are the plain and flagged ones: only priority puts TC72 first.
        minutes = number // 2 + (100 if case_id in ("TC68", "plain") else 0)
        kinds[stored(app, given, now=NOW + timedelta(minutes=minutes))] = case_id
    with db_of(app).read() as session:
        everything = session.scalars(select(Screening)).all()
        expected = [
            s.reference_code
            for s in sorted(everything, key=lambda s: (s.urgent, s.priority, s.created_at, s.id), reverse=True)
        ]
        kind_of = {s.reference_code: kinds[s.id] for s in everything}
    browser = staff("clinician")
    pages: list[list[str]] = []
    url: str | None = "/staff/queue"
    while url is not None:
        html = browser.get(url).get_data(as_text=True)
        pages.append(references(html))
        url = next_link(html)
    assert [len(page) for page in pages] == [25, 15]
    flat = [code for page in pages for code in page]
    assert flat == expected
    rank = {"TC71": 0, "TC72": 1, "TC68": 2, "plain": 2}  # urgent, priority, then the rest by time
    ranks = [rank[kind_of[code]] for code in flat]
    assert ranks == sorted(ranks)
    assert {kind_of[code] for code in flat[-12:]} == {"TC68", "plain"}  # the newest, yet last
    assert kind_of[pages[0][-1]] == kind_of[pages[1][0]] == "TC72"  # the boundary is inside the priority block


def test_each_queue_row_shows_its_priority_and_review_flag_markers(app: Flask, staff: Staff) -> None:
    made = {case_id: stored(app, case_answers(case_id)) for case_id in ("TC68", "TC72", "TC71")}
    made["plain"] = stored(app)  # EXAMINED: no review flags
    html = staff("nurse").get("/staff/queue").get_data(as_text=True)
    rows = queue_rows(html)
    marks = {
        name: (
            "tag--urgent" in rows[screening_row(app, screening_id).reference_code],
            "Priority</strong>" in rows[screening_row(app, screening_id).reference_code],
            "Needs a clinician</strong>" in rows[screening_row(app, screening_id).reference_code],
        )
        for name, screening_id in made.items()
    }
    assert marks == {
        "TC68": (False, False, True),  # OTHER_TREATMENTS_FIRST, and still needs a clinician
        "TC72": (False, True, True),
        "TC71": (True, False, True),
        "plain": (False, False, False),
    }
    assert "Urgent screenings first, then priority ones, then the newest." in text_of(html)


def attention_setup(app: Flask, staff: Staff) -> tuple[StaffBrowser, dict[str, int]]:
    made = {
        "plain": stored(app, now=NOW),
        "tc68": stored(app, case_answers("TC68"), now=NOW + timedelta(hours=1)),
        "tc70": stored(app, case_answers("TC70"), now=NOW + timedelta(hours=2)),
        "tc72": stored(app, case_answers("TC72"), now=NOW + timedelta(hours=3)),
        "tc69": stored(app, case_answers("TC69"), now=NOW + timedelta(days=2)),
        "tc71": stored(app, case_answers("TC71"), now=NOW + timedelta(hours=4)),
    }
    browser = staff("clinician")
    assert sign_off(browser, made["tc69"], decision="agree").status_code == 302
    return browser, made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("flagged=1", ["tc71", "tc69", "tc72", "tc70", "tc68"]),
        ("priority=1", ["tc69", "tc72"]),
        ("flagged=1&priority=1", ["tc69", "tc72"]),
        ("flagged=1&outcome=OTHER_TREATMENTS_FIRST", ["tc72", "tc68"]),
        ("flagged=1&review_status=unreviewed", ["tc71", "tc72", "tc70", "tc68"]),
        ("priority=1&review_status=agreed", ["tc69"]),
        ("priority=1&to=2026-11-30", ["tc72"]),
        ("flagged=1&outcome=DISCUSSION_APPROPRIATE", []),
        ("flagged=&priority=", ["tc71", "tc69", "tc72", "tc70", "tc68", "plain"]),  # unticked: no filter
    ],
)
def test_the_review_flag_and_priority_filters(app: Flask, staff: Staff, query: str, expected: list[str]) -> None:
    browser, made = attention_setup(app, staff)
    response = browser.get(f"/staff/queue?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert references(html) == [screening_row(app, made[name]).reference_code for name in expected]
    for box in ("flagged", "priority"):
        ticked = f"{box}=1" in query
        assert (f'id="{box}" name="{box}" type="checkbox" value="1" checked' in html) is ticked
    if not expected:
        assert "No screenings match these filters" in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("flagged=yes", "flagged", "Choose whether to show only screenings that need a clinician"),
        ("priority=true", "priority", "Choose whether to show only screenings that are a priority"),
    ],
)
def test_a_tampered_tick_box_gives_an_error_and_the_unfiltered_queue(
    app: Flask, staff: Staff, query: str, field: str, message: str
) -> None:
    browser, made = attention_setup(app, staff)
    response = browser.get(f"/staff/queue?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<a href="#{field}">{message}' in html
    assert f'id="{field}-error"' in html
    assert len(references(html)) == len(made)


def test_paging_keeps_the_review_flag_and_priority_filters(app: Flask, staff: Staff) -> None:
    for number in range(30):
        stored(app, case_answers("TC72" if number % 3 else "TC68"), now=NOW + timedelta(minutes=number))
    stored(app, now=NOW + timedelta(hours=5))
    browser = staff("nurse")
    first = browser.get("/staff/queue?flagged=1").get_data(as_text=True)
    following = next_link(first)
    assert following is not None
    assert "flagged=1" in following
    rest = references(browser.get(following).get_data(as_text=True))
    assert len(references(first)) + len(rest) == 30  # every flagged one, not the plain one
    assert next_link(browser.get("/staff/queue?priority=1").get_data(as_text=True)) is None  # 20 fit on one page
    audited = events(app)[-1]
    assert (audited.action, audited.detail["filters"]) == ("queue.view", {"priority": "1"})


# --- One screening ------------------------------------------------------------------------


def test_the_detail_page_shows_the_review_flags_and_priority_first(app: Flask, staff: Staff) -> None:
    """TC72: OTHER_TREATMENTS_FIRST for the patient, but R-R04 and R-R16 (priority) for the clinician."""
    screening_id = stored(app, case_answers("TC72"))
    for path in (f"/staff/screenings/{screening_id}", f"/staff/screenings/{screening_id}/print"):
        html = staff("clinician").get(path).get_data(as_text=True)
        main = html.split("<main", 1)[1]
        flags = main.index('id="review-flags"')
        summary = main.index('class="clinician-summary"')
        assert summary < flags < main.index("Reference code")  # the summary, then the flags, then the rest
        summary_text = text_of(main[summary:flags])
        assert "Other treatments first: no indication signal" in summary_text  # clinical words
        assert "The patient read: “Other treatments are usually tried first”" in summary_text  # and the patient's
        assert "Review flags R-R04, R-R16; PRIORITY" in summary_text
        panel = text_of(main[flags : main.index("</section>", flags)])
        assert "Priority Needs a clinician: 2 review flags" in panel
        assert f"R-R04 {TITLES['R-R04']}" in panel
        assert f"R-R16 {TITLES['R-R16']}" in panel
        assert 'href="#fired-R-R16"' in main
        assert "Review flags R-R04, R-R16 (priority)" in text_of(main)


def test_the_clinician_summary_shows_the_facts_first(app: Flask, staff: Staff) -> None:
    """Issue 8: age, pregnancy and test, self-report against examination, treatments, PHQ, outcome."""
    screening_id = stored(app, case_answers("TC72"))
    html = staff("clinician").get(f"/staff/screenings/{screening_id}").get_data(as_text=True)
    main = html.split("<main", 1)[1]
    summary = text_of(main[main.index('class="clinician-summary"') : main.index("</section>")])
    answers = case_answers("TC72")
    assert f"Age {answers['age_years']}" in summary
    assert "Pregnancy " in summary
    assert "test today: not entered" in summary
    assert "Treatments Antibiotics:" in summary
    assert "PHQ-2 " in summary
    assert "PHQ-9 " in summary
    assert "item 9: 0" in summary
    assert main.index('class="clinician-summary"') < main.index('id="sign-off"') < main.index('id="answers"')


def test_the_summary_puts_the_examination_beside_the_self_report(app: Flask, staff: Staff) -> None:
    screening_id = stored(app, {**case_answers("TC72"), "nurse_iga": 4, "nurse_nodule_count": 5})
    html = staff("clinician").get(f"/staff/screenings/{screening_id}").get_data(as_text=True)
    summary = text_of(html.split('class="clinician-summary"', 1)[1].split("</section>")[0])
    assert "Examination: 4 - severe (used by the rules)" in summary
    assert "Nodules Patient: None · Examination: 5 (used by the rules)" in summary


def test_a_screening_without_review_flags_says_so_and_shows_no_panel(app: Flask, staff: Staff) -> None:
    screening_id = stored(app, case_answers("TC70"))
    unflagged_id = stored(app)
    flagged = staff("nurse").get(f"/staff/screenings/{screening_id}").get_data(as_text=True)
    assert "Needs a clinician: 1 review flag" in text_of(flagged)
    assert "tag--priority" not in flagged.split("<main", 1)[1]  # PHQ-9 total 19: no priority
    html = staff("nurse").get(f"/staff/screenings/{unflagged_id}").get_data(as_text=True)
    assert 'id="review-flags"' not in html
    assert "Review flags None" in text_of(html)


def test_review_flags_of_a_rule_no_longer_in_the_catalogue_are_still_shown(app: Flask, staff: Staff) -> None:
    screening_id = stored(
        app, ruleset_version=OLD_RULESET, fired_rules=["R-G01", "R-R99"], review_flags=["R-R99"], priority=False
    )
    text = text_of(staff("nurse").get(f"/staff/screenings/{screening_id}").get_data(as_text=True))
    assert "Needs a clinician: 1 review flag " in text
    assert text.index("R-R99 Not in the current catalogue") < text.index("Reference code")  # flag, then particulars


def test_a_self_screen_with_a_high_phq9_reaches_the_clinician_as_a_priority(
    app: Flask, patient: Patient, staff: Staff
) -> None:
    """The real patient journey: PHQ-9 total 21 with item 9 = 0 on severe acne (rules.md R-R16)."""
    mood = {f"phq9_q{item}": "3" for item in range(1, 9)} | {"phq9_q8": "0", "phq9_q9": "0", "mh_history": "none"}
    patient.start()
    for section in "ABCD":
        assert patient.answer(section, ADULT[section]).status_code == 302
    assert patient.answer("E", mood).status_code == 200  # PHQ-2 of 6 enables items 3-8: asked, then sent again
    assert patient.answer("E", mood).status_code == 302
    for section in "FGH":
        assert patient.answer(section, ADULT[section]).status_code == 302
    patient.get("/check")
    assert patient.post("/submit").status_code == 302
    with db_of(app).read() as session:
        version = session.scalars(select(ScreeningVersion)).one()
        screening = session.scalars(select(Screening)).one()
    assert (version.outcome, version.review_flags, version.priority) == ("CLINICIAN_REVIEW", ["R-R04", "R-R16"], True)
    assert (screening.has_review_flags, screening.priority) == (True, True)
    queue = staff("clinician").get("/staff/queue?priority=1").get_data(as_text=True)
    assert references(queue) == [screening.reference_code]


def test_the_detail_page_explains_the_stored_decision(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    response = staff("clinician").get(f"/staff/screenings/{screening_id}")
    html = response.get_data(as_text=True)
    text = text_of(html)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert screening_row(app, screening_id).reference_code in html
    # The outcome, label and code; the ruleset, current.
    assert "It makes sense to talk with your doctor about isotretinoin DISCUSSION_APPROPRIATE" in text
    assert f"Ruleset {CURRENT_RULESET.version} (current)" in text
    assert CURRENT_RULESET.hash in html
    assert "older than the current ruleset" not in text
    # Answers grouped by section, with "Not answered" and "Not asked".
    assert '<caption class="table__caption">Your acne</caption>' in html
    assert "Which best describes your acne on most days? self_severity Moderate" in text
    assert "Could your body get pregnant? can_get_pregnant No" in text
    assert "Are you pregnant now, or could you be? pregnant_now Not asked" in text  # not enabled: cannot get pregnant
    assert "phq9_q3 Not asked" in text  # PHQ-2 below the cut-off
    assert "Do you have diabetes? diabetes Not answered" in text
    assert "phq9_q2 1 – Several days" in text
    # Self-report beside examination.
    assert "Self-report and examination" in text
    assert "Severity Moderate 4 - severe" in text
    assert "Nodules 1 or 2 6" in text
    assert "Scarring Some scars Moderate" in text
    # Warnings as stored, notes, and why each rule fired, with source titles.
    assert 'class="warning warning--critical" lang="en"' in html
    assert "C-ONLABEL Pattern fits the FDA labelled indication" in text
    assert "R-C01 Fits the FDA labelled indication" in text
    assert "age gate open AND signal AND nod3 AND failed_abx" in text
    assert "S1 Mayne Pharma / Upsher-Smith, isotretinoin capsules prescribing information (PLR), 2022" in text
    assert SOURCES["S15"].title in text
    assert "R-F14 Not sure about health or medicine questions" in text
    unsure = re.search(r'Answered "not sure" (.*?) Sources', text)
    assert unsure is not None
    assert "Do you have liver disease" in unsure.group(1)
    assert "Do you take vitamin A" in unsure.group(1)
    assert "Has a doctor told you that your triglycerides" not in unsure.group(1)
    # History, and the sign-off form for a clinician.
    assert "1 (current) nurse nurse 29 Nov 2026, 09:30 UTC" in text
    assert "No clinician has reviewed this screening yet." in text
    assert f'action="/staff/screenings/{screening_id}/reviews"' in html
    assert '<legend class="legend">Do you agree with the outcome' in html


def test_the_detail_page_shows_the_warnings_exactly_as_stored(app: Flask, staff: Staff) -> None:
    warnings = [
        {"id": "W-GEN-BIRTH", "severity": "critical", "text": "La isotretinoína puede causar defectos.", "sources": []},
        {"id": "W-TEEN", "severity": "medium", "text": "Texto guardado tal cual.", "sources": []},
    ]
    screening_id = stored(app, warnings=warnings, language="es")
    html = staff("nurse").get(f"/staff/screenings/{screening_id}").get_data(as_text=True)
    first, second = html.index("La isotretinoína puede causar defectos."), html.index("Texto guardado tal cual.")
    assert first < second  # stored order
    assert 'class="warning warning--critical" lang="es"' in html
    assert 'class="warning warning--medium" lang="es"' in html
    assert "Isotretinoin can cause very serious birth defects" not in html  # never recomputed


def test_a_patient_journey_screening_shows_for_staff(app: Flask, patient: Patient, staff: Staff) -> None:
    result = complete(patient)
    with db_of(app).read() as session:
        screening = session.scalars(select(Screening)).one()
    assert screening.reference_code in result
    browser = staff("nurse")
    queue = browser.get("/staff/queue").get_data(as_text=True)
    assert references(queue) == [screening.reference_code]
    text = text_of(browser.get(f"/staff/screenings/{screening.id}").get_data(as_text=True))
    assert "recorded by patient, answered by self" in text
    assert "How old are you? age_years 22" in text
    assert "Where is your acne? sites Face, Back" in text
    assert "Only clinicians can sign off or re-evaluate a screening." in text  # a nurse


def test_an_urgent_result_shows_the_underlying_outcome(app: Flask, staff: Staff) -> None:
    screening_id = stored(app, {**EXAMINED, "phq9_q9": 1, "suicide_now": "no"})
    text = text_of(staff("clinician").get(f"/staff/screenings/{screening_id}").get_data(as_text=True))
    assert "Please get help today URGENT_HELP" in text
    assert (
        "Underlying outcome: It makes sense to talk with your doctor about isotretinoin DISCUSSION_APPROPRIATE" in text
    )
    assert "R-U02 Thoughts of death or self-harm (PHQ-9 item 9)" in text


def test_a_result_under_an_older_ruleset_is_flagged(app: Flask, staff: Staff) -> None:
    screening_id = stored(
        app, ruleset_version=OLD_RULESET, ruleset_hash="sha256:" + "0" * 64, fired_rules=["R-G01", "R-X99"]
    )
    text = text_of(staff("clinician").get(f"/staff/screenings/{screening_id}").get_data(as_text=True))
    assert f"Decided under ruleset {OLD_RULESET}, older than the current ruleset {CURRENT_RULESET.version}." in text
    assert (
        f"These explanations come from the current ruleset {CURRENT_RULESET.version}, not from ruleset {OLD_RULESET}"
        in text
    )
    assert "R-X99 Not in the current catalogue" in text
    assert "(current)," not in text


def test_a_changed_hash_under_the_same_version_is_flagged(app: Flask, staff: Staff) -> None:
    screening_id = stored(app, ruleset_hash="sha256:" + "f" * 64)
    text = text_of(staff("clinician").get(f"/staff/screenings/{screening_id}").get_data(as_text=True))
    assert f"Ruleset {CURRENT_RULESET.version} had different content when this was decided" in text


def test_answers_the_catalogue_no_longer_knows_are_still_shown(app: Flask, staff: Staff) -> None:
    screening_id = stored(app, answers={**EXAMINED, "retired_question": "kept"}, config={"jurisdiction": "XX"})
    text = text_of(staff("nurse").get(f"/staff/screenings/{screening_id}").get_data(as_text=True))
    assert "Stored answers to questions no longer in the catalogue" in text
    assert "retired_question kept" in text
    assert "could not be read" in text


def test_the_print_view_is_a_clean_record(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("nurse")
    response = browser.get(f"/staff/screenings/{screening_id}/print")
    html = response.get_data(as_text=True)
    text = text_of(html)
    assert response.status_code == 200
    assert "printed by Nurse 1" in text
    for heading in ("Outcome", "Warnings shown to the patient", "Clinician notes", "Why it came out as it did"):
        assert f"<h2>{heading}</h2>" in html
    assert "Self-report and examination" in text
    assert "<form" not in html.split("<main", 1)[1]  # nothing to submit on paper
    assert "data-print hidden" in html  # the print button appears only with JavaScript
    assert "<style" not in html
    assert " style=" not in html


# --- Sign-off -----------------------------------------------------------------------------


def test_a_clinician_agrees(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("clinician")
    response = sign_off(browser, screening_id, decision="agree", outcome="URGENT_HELP", reason="ignored", note="Seen.")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/screenings/{screening_id}#history"
    (review,) = rows(app, Review)
    assert (review.decision, review.outcome, review.reason, review.note) == ("agree", None, None, "Seen.")
    assert (review.version_number, review.ruleset_version) == (1, CURRENT_RULESET.version)
    assert screening_row(app, screening_id).review_status == "agreed"
    text = text_of(browser.get(response.headers["Location"]).get_data(as_text=True))
    assert "Your review has been recorded." in text
    assert "Review status Agreed" in text
    assert f"Clinician 1 1 {CURRENT_RULESET.version} Agree" in text


def test_disagreeing_without_a_reason_stores_nothing_and_keeps_what_was_typed(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("clinician")
    response = sign_off(
        browser, screening_id, decision="disagree", outcome="CLINICIAN_REVIEW", reason="  ", note="Typed"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error:" in html
    assert "There is a problem with your sign-off" in html
    assert '<a href="#reason">Give a reason for disagreeing</a>' in html
    assert 'id="reason-error"' in html
    assert 'value="disagree" checked' in html
    assert 'value="CLINICIAN_REVIEW" checked' in html
    assert ">Typed</textarea>" in html
    assert rows(app, Review) == []
    assert screening_row(app, screening_id).review_status == "unreviewed"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({}, "decision", "Choose whether you agree with the outcome"),
        ({"decision": "maybe"}, "decision", "Not a valid choice"),
        ({"decision": "disagree", "reason": "Because."}, "outcome", "Choose the outcome you think is right"),
        (
            {"decision": "disagree", "outcome": "DISCUSSION_APPROPRIATE", "reason": "Because."},
            "outcome",
            "Choose an outcome other than the current one, or agree instead",
        ),
        (
            {"decision": "disagree", "outcome": "APPROVED", "reason": "x"},
            "outcome",
            "Choose the outcome you think is right",
        ),
        ({"decision": "agree", "note": "n" * 2001}, "note", "Note must be 2,000 characters or fewer"),
        ({"decision": "disagree", "outcome": "URGENT_HELP", "reason": "r" * 2001}, "reason", "Reason must be 2,000"),
    ],
)
def test_invalid_sign_offs_are_refused(
    app: Flask, staff: Staff, form: dict[str, str], field: str, message: str
) -> None:
    screening_id = stored(app)
    response = sign_off(staff("clinician"), screening_id, **form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<a href="#{field}">{message}' in html
    assert rows(app, Review) == []
    last = events(app)[-1]
    assert (last.action, last.outcome, last.detail) == ("screening.sign_off", "failure", {"fields": [field]})


def test_a_clinician_disagrees_with_another_outcome_and_a_reason(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("clinician")
    response = sign_off(
        browser,
        screening_id,
        decision="disagree",
        outcome="NOT_APPROPRIATE_NOW",
        reason="Positive pregnancy test at the visit.",
        note="Rebook after delivery.",
    )
    assert response.status_code == 302
    (review,) = rows(app, Review)
    assert (review.decision, review.outcome, review.reason, review.note) == (
        "disagree",
        "NOT_APPROPRIATE_NOW",
        "Positive pregnancy test at the visit.",
        "Rebook after delivery.",
    )
    assert screening_row(app, screening_id).review_status == "disagreed"
    assert screening_row(app, screening_id).outcome == "DISCUSSION_APPROPRIATE"  # the stored decision stands
    text = text_of(browser.get(f"/staff/screenings/{screening_id}").get_data(as_text=True))
    assert (
        f"Clinician 1 1 {CURRENT_RULESET.version} Disagree Isotretinoin is not an option right now NOT_APPROPRIATE_NOW "
        "Positive pregnancy test at the visit. Rebook after delivery."
    ) in text
    assert "Review status Disagreed" in text
    assert "Disagreed" in text_of(browser.get("/staff/queue?review_status=disagreed").get_data(as_text=True))


def test_a_sign_off_of_a_version_that_changed_meanwhile_is_refused(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("clinician")
    browser.get(f"/staff/screenings/{screening_id}")
    response = browser.post(f"/staff/screenings/{screening_id}/reviews", {"version": "2", "decision": "agree"})
    assert response.status_code == 400
    assert "This screening has changed since you opened it" in response.get_data(as_text=True)
    assert rows(app, Review) == []


def test_a_sign_off_without_the_csrf_token_changes_nothing(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("clinician")
    response = browser.client.post(
        f"/staff/screenings/{screening_id}/reviews", data={"version": "1", "decision": "agree"}
    )
    assert response.status_code == 400
    assert rows(app, Review) == []


def test_a_nurse_can_view_but_not_sign_off(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    nurse = staff("nurse")
    html = nurse.get(f"/staff/screenings/{screening_id}").get_data(as_text=True)
    assert "Only clinicians can sign off or re-evaluate a screening." in html
    assert "/reviews" not in html
    assert "/reevaluations" not in html
    assert (
        nurse.post(f"/staff/screenings/{screening_id}/reviews", {"version": "1", "decision": "agree"}).status_code
        == 403
    )
    assert rows(app, Review) == []


@pytest.mark.parametrize("payload", XSS)
def test_stored_xss_in_a_review_is_shown_escaped(app: Flask, staff: Staff, payload: str) -> None:
    """S-4: free text shown to clinicians adds no element or attribute to the page."""
    clean_id, dirty_id = stored(app), stored(app)
    browser = staff("clinician")
    for screening_id, text in ((clean_id, "plain words"), (dirty_id, payload)):
        response = sign_off(browser, screening_id, decision="disagree", outcome="URGENT_HELP", reason=text, note=text)
        assert response.status_code == 302
        browser.get(response.headers["Location"])  # shows the flashed confirmation once
    clean = browser.get(f"/staff/screenings/{clean_id}").get_data(as_text=True)
    dirty_response = browser.get(f"/staff/screenings/{dirty_id}")
    dirty = dirty_response.get_data(as_text=True)
    assert payload not in dirty
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dirty or "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in dirty
    assert markup(dirty) == markup(clean)
    assert "script-src 'self'" in dirty_response.headers["Content-Security-Policy"]
    printed = browser.get(f"/staff/screenings/{dirty_id}/print").get_data(as_text=True)
    assert payload not in printed


@pytest.mark.parametrize("payload", XSS)
def test_a_stored_xss_subject_name_is_escaped_in_the_queue_and_detail(app: Flask, staff: Staff, payload: str) -> None:
    screening_id = stored(app)
    with db_of(app).write() as session:
        found = session.get(Screening, screening_id)
        assert found is not None
        found.subject_name, found.subject_mrn = payload, payload
    browser = staff("nurse")
    for path in ("/staff/queue", f"/staff/screenings/{screening_id}", f"/staff/screenings/{screening_id}/print"):
        html = browser.get(path).get_data(as_text=True)
        assert payload not in html
        assert "<img" not in html
        assert html.count("<script") == 1  # the page's own script file


class _Markup(HTMLParser):
    """The elements and attribute names of a page: free text must add none."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, tuple(sorted(name for name, _value in attrs))))


def markup(html: str) -> list[tuple[str, tuple[str, ...]]]:
    # The two pages differ only in codes and ids; the CSRF token and the reference differ in values only.
    parser = _Markup()
    parser.feed(html)
    return parser.found


# --- Re-evaluation ------------------------------------------------------------------------


def test_a_reevaluation_is_stored_beside_the_original_and_the_difference_shows(app: Flask, staff: Staff) -> None:
    old_warning = {"id": "W-OLD-ONLY", "severity": "high", "text": "A warning the old rules gave.", "sources": ["S1"]}
    screening_id = stored(
        app,
        ruleset_version=OLD_RULESET,
        ruleset_hash="sha256:" + "0" * 64,
        outcome="CLINICIAN_REVIEW",
        underlying_outcome="CLINICIAN_REVIEW",
        warnings=[old_warning],
        clinician_notes=[],
        fired_rules=["R-G01", "R-OLD1"],
    )
    with db_of(app).read() as session:
        before = session.scalars(select(ScreeningVersion)).one()
        columns = [column.key for column in ScreeningVersion.__table__.columns]
        original = {column: getattr(before, column) for column in columns}
    browser = staff("clinician")
    browser.get(f"/staff/screenings/{screening_id}")
    response = browser.post(f"/staff/screenings/{screening_id}/reevaluations")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/screenings/{screening_id}#reevaluations"
    (rerun,) = rows(app, Reevaluation)
    assert (rerun.version_number, rerun.outcome, rerun.ruleset_version, rerun.ruleset_hash) == (
        1,
        "DISCUSSION_APPROPRIATE",
        CURRENT_RULESET.version,
        CURRENT_RULESET.hash,
    )
    assert rerun.warnings[0]["text"].startswith("Isotretinoin can cause very serious birth defects")  # English
    assert "R-F14" in rerun.fired_rules
    with db_of(app).read() as session:
        after = session.scalars(select(ScreeningVersion)).one()
        assert {column: getattr(after, column) for column in columns} == original  # never touched
        assert session.scalar(select(func.count()).select_from(ScreeningVersion)) == 1
    assert screening_row(app, screening_id).outcome == "CLINICIAN_REVIEW"
    text = text_of(browser.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Version 1 re-evaluated under ruleset {CURRENT_RULESET.version}" in text
    assert "By Clinician 1" in text
    assert (
        "Outcome Your doctor needs to go over a few things with you CLINICIAN_REVIEW It makes sense to talk with "
        "your doctor about isotretinoin DISCUSSION_APPROPRIATE (changed)"
    ) in text
    assert "Removed: − W-OLD-ONLY A warning the old rules gave." in text
    assert "Added: + W-GEN-BIRTH Isotretinoin can cause very serious birth defects." in text
    assert "Added: + C-ONLABEL Pattern fits the FDA labelled indication" in text
    assert "Added: + R-F14" in text
    assert "Removed: − R-OLD1" in text
    # The stored decision is still what the page shows as the outcome.
    assert f"Decided under ruleset {OLD_RULESET}, older than the current ruleset" in text


def test_a_reevaluation_stores_and_shows_review_flags_and_priority_beside_the_original(
    app: Flask, staff: Staff
) -> None:
    """TC72 decided under an older ruleset that had no R-R16: the re-run adds the flag and priority (BT6)."""
    screening_id = stored(
        app,
        case_answers("TC72"),
        ruleset_version=OLD_RULESET,
        ruleset_hash="sha256:" + "0" * 64,
        fired_rules=["R-G01", "R-R04"],
        review_flags=["R-R04"],
        priority=False,
    )
    browser = staff("clinician")
    browser.get(f"/staff/screenings/{screening_id}")
    response = browser.post(f"/staff/screenings/{screening_id}/reevaluations")
    assert response.status_code == 302
    (rerun,) = rows(app, Reevaluation)
    assert (rerun.outcome, rerun.review_flags, rerun.priority) == ("OTHER_TREATMENTS_FIRST", ["R-R04", "R-R16"], True)
    (version,) = rows(app, ScreeningVersion)
    assert (version.review_flags, version.priority) == (["R-R04"], False)  # the original stays as it was
    queued = screening_row(app, screening_id)
    assert (queued.has_review_flags, queued.priority) == (True, False)  # the queue follows the stored decision
    text = text_of(browser.get(response.headers["Location"]).get_data(as_text=True))
    assert "Review flags R-R04 R-R04, R-R16 (changed)" in text
    assert "Priority No Yes (changed)" in text
    assert "Added: + R-R16" in text


def test_a_reevaluation_under_the_same_rules_shows_no_difference(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    browser = staff("clinician")
    browser.get(f"/staff/screenings/{screening_id}")
    response = browser.post(f"/staff/screenings/{screening_id}/reevaluations")
    text = text_of(browser.get(response.headers["Location"]).get_data(as_text=True))
    assert "No difference: the same outcome, review flags, priority, warnings, notes and rules." in text


def test_answers_that_no_longer_validate_cannot_be_reevaluated(app: Flask, staff: Staff) -> None:
    screening_id = stored(app, answers={**EXAMINED, "nodules": "dozens", "retired_question": "yes"})
    browser = staff("clinician")
    browser.get(f"/staff/screenings/{screening_id}")
    response = browser.post(f"/staff/screenings/{screening_id}/reevaluations")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"These answers cannot be re-evaluated under ruleset {CURRENT_RULESET.version}" in html
    assert "nodules: must be one of: none, one_or_two, three_or_more" in html
    assert "retired_question: is not a question in this questionnaire" in html
    assert rows(app, Reevaluation) == []
    last = events(app)[-1]
    assert (last.action, last.outcome) == ("screening.reevaluate", "failure")
    assert last.detail == {"version": 1, "fields": ["nodules", "retired_question"]}


# --- Audit --------------------------------------------------------------------------------


def test_every_view_sign_off_reevaluation_and_print_is_audited(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    with db_of(app).write() as session:
        found = session.get(Screening, screening_id)
        assert found is not None
        found.subject_name, found.subject_mrn = "Ada Lovelace", "MRN-0042"
    browser = staff("clinician")
    start = len(events(app))
    browser.get("/staff/queue")
    browser.get(f"/staff/screenings/{screening_id}")
    browser.get(f"/staff/screenings/{screening_id}/print")
    browser.post(f"/staff/screenings/{screening_id}/reviews", {"version": "1", "decision": "agree"})
    browser.post(f"/staff/screenings/{screening_id}/reevaluations")
    (review,), (rerun,) = rows(app, Review), rows(app, Reevaluation)
    recorded = [(e.action, e.actor, e.object_type, e.object_id, e.outcome, e.detail) for e in events(app)[start:]]
    assert recorded == [
        ("queue.view", browser.username, None, None, "success", {"filters": {}, "screening_ids": [screening_id]}),
        ("screening.view", browser.username, "screening", str(screening_id), "success", {"version": 1}),
        ("screening.print", browser.username, "screening", str(screening_id), "success", {"version": 1}),
        (
            "screening.sign_off",
            browser.username,
            "screening",
            str(screening_id),
            "success",
            {"review_id": review.id, "version": 1, "decision": "agree"},
        ),
        (
            "screening.reevaluate",
            browser.username,
            "screening",
            str(screening_id),
            "success",
            {"reevaluation_id": rerun.id, "version": 1, "ruleset_version": CURRENT_RULESET.version},
        ),
    ]
    trail = " ".join(str(e.detail) for e in events(app))
    assert "Ada Lovelace" not in trail
    assert "MRN-0042" not in trail
    with db_of(app).read() as session:
        assert audit_store.verify(session) == []


def test_a_nurse_view_is_audited_with_the_nurse_as_actor(app: Flask, staff: Staff) -> None:
    screening_id = stored(app)
    nurse = staff("nurse")
    nurse.get(f"/staff/screenings/{screening_id}")
    last = events(app)[-1]
    assert (last.action, last.actor, last.actor_id is not None, last.object_id) == (
        "screening.view",
        nurse.username,
        True,
        str(screening_id),
    )


# --- Rule catalogue -----------------------------------------------------------------------


def test_the_rule_catalogue_lists_every_rule_with_its_wording_and_sources(app: Flask, staff: Staff) -> None:
    response = staff("admin").get("/staff/rules")
    html = response.get_data(as_text=True)
    text = text_of(html)
    assert response.status_code == 200
    assert CURRENT_RULESET.version in text
    assert CURRENT_RULESET.hash in text
    for rule in (*RULES, ERROR_RULE):
        assert f'id="{rule.id}"' in html
        assert rule.title in text
        for source_id in rule.sources:
            assert SOURCES[source_id].title in text
        if rule.warning:
            assert rule.warning.id in text
        if rule.note:
            assert rule.note.text in text
    assert "Evaluation error (fail closed)" in text
    # Spanish patient wording next to the English, marked as Spanish.
    assert '<span lang="es">Nunca comparta la isotretinoína con nadie.' in html
    # US and UK wording where they differ.
    assert "a program called iPLEDGE" in text
    assert "a Pregnancy Prevention Programme" in text
    # Crisis contacts for each jurisdiction.
    assert re.search(r"<th scope=\"row\">Samaritans, free, day or night: call</th>.*?<td>116 123</td>", html)
    assert "Suicide & Crisis Lifeline: call or text" in text
    assert "Línea de Prevención del Suicidio y Crisis" in text
    assert "US only" in text
    assert "UK only" in text


def test_the_rule_catalogue_shows_every_patient_text_the_hash_covers(app: Flask, staff: Staff) -> None:
    """Issue 7: outcome explanations, contact panels and the About page are reviewed with the rules."""
    text = text_of(staff("clinician").get("/staff/rules").get_data(as_text=True))
    for shown in patient_texts.every_text():
        assert " ".join(shown.split()) in text, shown
    for label in OUTCOME_LABELS.values():
        assert label in text
    assert "Your skin may need a doctor today" in text
    assert "Northern Ireland: Lifeline, free, day or night: call" in text


def test_the_detail_page_links_to_checking_or_amending_the_answers(app: Flask, staff: Any) -> None:
    complete(Patient(app.test_client()))
    nurse = staff("nurse")
    html = nurse.get("/staff/screenings/1").get_data(as_text=True)
    assert 'href="/staff/screenings/1/amend"' in html
