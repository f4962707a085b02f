"""Nurse intake, finding self-screens, amendments and urgent alerts, through the test client (CSRF on)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from screener import models, store
from screener.clock import utcnow
from screener.rules import RULESET_VERSION, evaluate, parse_answers
from screener.store import audit as audit_store
from screener.store import intake as intake_store
from tests.web.conftest import Patient, StaffBrowser
from tests.web.test_patient import ADULT, complete, db_of

Staff = Callable[..., StaffBrowser]

HIDDEN = re.compile(r'<input type="hidden" name="(form_key|shown|based_on)" value="([^"]*)">')
DETAIL = re.compile(r"^/staff/screenings/(\d+)$")

#: One adult's answers as a nurse enters them: self-reported mild acne, examined as severe (IGA 4).
INTAKE: dict[str, Any] = {
    "completed_by": "nurse",
    "age_years": "24",
    "can_get_pregnant": "no",
    "breastfeeding": "no",
    "self_severity": "mild",
    "nodules": "none",
    "scarring": "none",
    "oral_abx": "never",
    "completed_courses": "none",
    "phq9_q1": "0",
    "phq9_q2": "0",
    "phq9_q9": "0",
    "mh_history": ["none"],
    "allergies": ["none"],
    "tetracycline_current": "no",
    "nurse_iga": "4",
    "nurse_scarring": "none",
    "preg_test_result": "not_done",
}
SUBJECT = {
    "subject_name": "Ada Lovelace",
    "birth_day": "10",
    "birth_month": "12",
    "birth_year": "2001",
    "subject_mrn": "MRN-0042",
}


def hidden(response: TestResponse) -> dict[str, str]:
    return dict(HIDDEN.findall(response.get_data(as_text=True)))


def count(app: Flask, model: type[Any]) -> int:
    with db_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def stored_answers(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the rules store for these form values: numbers as numbers, subject fields left out."""
    numbers = {"age_years", "nurse_iga", "nurse_nodule_count", "tg_mg_dl"} | {f"phq9_q{i}" for i in range(1, 10)}
    return {
        key: int(value) if key in numbers else value
        for key, value in form.items()
        if key not in SUBJECT and key not in {"form_key", "shown", "based_on"}
    }


def post_intake(
    browser: StaffBrowser, answers: Mapping[str, Any] = INTAKE, subject: Mapping[str, str] = SUBJECT
) -> TestResponse:
    """Open a new intake page and send it as a browser would, with the page's hidden fields."""
    page = browser.get("/staff/intake")
    assert page.status_code == 200
    return browser.post("/staff/intake", {**hidden(page), **subject, **answers})


def screening_id_of(response: TestResponse) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    found = DETAIL.match(response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def actions(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    with db_of(app).read() as session:
        events = session.scalars(select(models.AuditEvent).order_by(models.AuditEvent.id)).all()
        return [(event.action, event.outcome, dict(event.detail)) for event in events]


def audit_intact(app: Flask) -> bool:
    with db_of(app).read() as session:
        return audit_store.verify(session) == []


def user_id(app: Flask, username: str) -> int:
    with db_of(app).read() as session:
        return int(session.scalars(select(models.StaffUser.id).where(models.StaffUser.username == username)).one())


def self_screen(app: Flask, patient: Patient, pages: dict[str, dict[str, Any]] = ADULT) -> models.Screening:
    complete(patient, pages)
    with db_of(app).read() as session:
        return session.scalars(select(models.Screening).order_by(models.Screening.id.desc())).first()  # type: ignore[return-value]


# --- New intake ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "clinician"])
def test_an_intake_stores_a_completed_screening_with_its_subject_and_decision(
    app: Flask, staff: Staff, role: str
) -> None:
    browser = staff(role)
    screening_id = screening_id_of(post_intake(browser))
    with db_of(app).read() as session:
        screening = session.get(models.Screening, screening_id)
        assert screening is not None
        version = store.current_version(session, screening)
    assert (screening.status, screening.current_version, screening.review_status) == ("completed", 1, "unreviewed")
    assert (screening.subject_name, screening.subject_birth_date, screening.subject_mrn) == (
        "Ada Lovelace",
        date(2001, 12, 10),
        "MRN-0042",
    )
    assert (version.number, version.author_role, version.author_id) == (1, role, user_id(app, browser.username))
    assert (version.source, version.language) == ("nurse", "en")
    # Both answers are kept; the examination (IGA 4) supersedes the self-report (mild) in the rules.
    assert version.answers == stored_answers(INTAKE)
    config = app.config["CLINIC_CONFIG"]
    decision = evaluate(parse_answers(stored_answers(INTAKE), config), config)
    assert version.outcome == screening.outcome == decision.outcome.value == "DISCUSSION_APPROPRIATE"
    assert version.fired_rules == list(decision.fired_rules)
    assert [w["id"] for w in version.warnings] == [w.id for w in decision.warnings]
    assert [w["text"] for w in version.warnings] == [w.text for w in decision.warnings]
    assert version.ruleset_version == decision.ruleset_version
    self_reported = {key: value for key, value in stored_answers(INTAKE).items() if key != "nurse_iga"}
    assert evaluate(parse_answers(self_reported, config), config).outcome.value != "DISCUSSION_APPROPRIATE"
    assert count(app, models.StaffAlert) == 0
    assert ("screening.create", "success") in [(action, outcome) for action, outcome, _ in actions(app)]
    assert audit_intact(app)


def test_the_intake_page_shows_every_section_and_only_enabled_questions(staff: Staff) -> None:
    html = staff("nurse").get("/staff/intake").get_data(as_text=True)
    for title in ("About you", "Pregnancy and breastfeeding", "Your acne", "Your mood", "Plans"):
        assert title in html
    assert "Examination and tests (staff only)" in html
    assert "Investigator" in html or "nurse_iga" in html
    assert 'name="subject_name"' in html
    assert 'for="birth_day"' in html
    assert '<legend class="legend">Date of birth</legend>' in html
    assert "Are you pregnant now" not in html  # follow-ups wait for can_get_pregnant
    assert 'name="suicide_now"' not in html
    assert 'name="phq9_q3"' not in html


def test_answers_that_open_questions_bring_the_page_back_with_them_marked(app: Flask, staff: Staff) -> None:
    """BT3 on the intake page: follow-ups open, then their stale answers go when the answer is no."""
    browser = staff("nurse")
    page = browser.get("/staff/intake")
    response = browser.post("/staff/intake", {**hidden(page), **SUBJECT, **INTAKE, "can_get_pregnant": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Are you pregnant now" in html
    assert "form-group--new" in html
    assert "They are marked below" in html
    assert 'value="Ada Lovelace"' in html  # what was typed is kept
    assert count(app, models.Screening) == 0
    follow_ups = {
        "pregnant_now": "no",
        "planning_pregnancy_6mo": "no",
        "contraception_methods": ["iud"],
        "willing_pregnancy_prevention": "yes",
    }
    # Changed to "no" before saving: the follow-up answers are thrown away, not stored.
    response = browser.post(
        "/staff/intake", {**hidden(response), **SUBJECT, **INTAKE, **follow_ups, "can_get_pregnant": "no"}
    )
    screening_id = screening_id_of(response)
    with db_of(app).read() as session:
        version = session.scalars(
            select(models.ScreeningVersion).where(models.ScreeningVersion.screening_id == screening_id)
        ).one()
    assert version.answers["can_get_pregnant"] == "no"
    assert not set(follow_ups) & set(version.answers)
    assert set(version.discarded) == set(follow_ups)


def test_follow_up_answers_are_stored_when_they_apply(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    page = browser.get("/staff/intake")
    opened = browser.post("/staff/intake", {**hidden(page), **SUBJECT, **INTAKE, "can_get_pregnant": "yes"})
    follow_ups = {"pregnant_now": "no", "planning_pregnancy_6mo": "no", "willing_pregnancy_prevention": "yes"}
    missing = browser.post(
        "/staff/intake", {**hidden(opened), **SUBJECT, **INTAKE, **follow_ups, "can_get_pregnant": "yes"}
    )
    assert missing.status_code == 400  # contraception_methods is required once asked
    assert "Select at least one answer" in missing.get_data(as_text=True)
    answers = {**INTAKE, **follow_ups, "can_get_pregnant": "yes", "contraception_methods": ["iud", "condoms"]}
    screening_id = screening_id_of(browser.post("/staff/intake", {**hidden(missing), **SUBJECT, **answers}))
    with db_of(app).read() as session:
        version = session.scalars(
            select(models.ScreeningVersion).where(models.ScreeningVersion.screening_id == screening_id)
        ).one()
    assert version.answers["contraception_methods"] == ["iud", "condoms"]
    assert version.answers["pregnant_now"] == "no"


@pytest.mark.parametrize(
    ("changes", "message", "kept"),
    [
        ({"subject_name": "  "}, "Enter the patient&#39;s full name", None),
        (
            {"birth_day": "31", "birth_month": "2", "birth_year": "2001"},
            "Date of birth must be a real date",
            'value="31"',
        ),
        ({"birth_day": "1", "birth_month": "1", "birth_year": "2999"}, "must be today or in the past", 'value="2999"'),
        ({"birth_day": "", "birth_month": "", "birth_year": ""}, "Enter the date of birth", None),
        ({"birth_day": "", "birth_month": "5", "birth_year": "2001"}, "Date of birth must include a day", 'value="5"'),
        ({"birth_year": "01"}, "Year must include 4 numbers", 'value="01"'),
        ({"birth_month": "13"}, "the month is from 1 to 12", 'value="13"'),
        ({"birth_day": "ten"}, "Date of birth must be a real date", 'value="ten"'),
        ({"subject_mrn": "M" * 65}, "MRN must be 64 characters or fewer", "M" * 65),
        ({"age_years": "twenty"}, "Enter a whole number from 0 to 120", 'value="twenty"'),
        ({"nurse_iga": "7"}, "Select one of the answers shown", None),
        ({"nurse_nodule_count": "501"}, "Enter a whole number from 0 to 500", 'value="501"'),
        ({"tg_mg_dl": "-5"}, "Enter a whole number from 0 to 10000", 'value="-5"'),
        ({"completed_by": ""}, "Select an answer", None),
        ({"allergies": ["none", "soy"]}, "on its own", None),
    ],
)
def test_invalid_input_shows_every_error_keeps_what_was_typed_and_stores_nothing(
    app: Flask, staff: Staff, changes: dict[str, Any], message: str, kept: str | None
) -> None:
    browser = staff("nurse")
    data = {**SUBJECT, **INTAKE, **changes}
    page = browser.get("/staff/intake")
    response = browser.post("/staff/intake", {**hidden(page), **{k: v for k, v in data.items() if v != ""}})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert "<title>Error:" in html
    assert message in html
    if kept:
        assert kept in html
    assert 'value="Ada Lovelace"' in html or "subject_name" in changes
    assert count(app, models.Screening) == count(app, models.ScreeningVersion) == 0
    assert "screening.create" not in [action for action, _, _ in actions(app)]


def test_error_summary_links_to_the_inputs(staff: Staff) -> None:
    browser = staff("nurse")
    page = browser.get("/staff/intake")
    response = browser.post(
        "/staff/intake",
        {**hidden(page), **INTAKE, "age_years": "x", "birth_day": "", "birth_month": "2", "birth_year": "2001"},
    )
    html = response.get_data(as_text=True)
    assert 'href="#subject_name"' in html
    assert 'href="#birth_day"' in html
    assert 'href="#age_years"' in html
    assert 'id="birth_day"' in html
    assert 'href="#completed_by-0"' not in html  # answered


def test_a_double_submit_stores_one_screening(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    page = browser.get("/staff/intake")
    data = {**hidden(page), **SUBJECT, **INTAKE}
    first = screening_id_of(browser.post("/staff/intake", data))
    second = browser.post("/staff/intake", data)
    assert screening_id_of(second) == first
    # The second click's request may carry a session cookie from before the first answer arrived.
    with browser.client.session_transaction() as session:
        session.pop("intake_forms", None)
    assert screening_id_of(browser.post("/staff/intake", data)) == first
    assert count(app, models.Screening) == count(app, models.ScreeningVersion) == 1
    assert [action for action, _, _ in actions(app)].count("screening.create") == 1
    assert "already sent" in browser.get("/staff/intake").get_data(as_text=True)  # the flashed message


def test_each_intake_page_gets_its_own_key(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    first = hidden(browser.get("/staff/intake"))["form_key"]
    assert first != hidden(browser.get("/staff/intake"))["form_key"]
    screening_id_of(post_intake(browser))
    screening_id_of(post_intake(browser, subject=SUBJECT | {"subject_name": "Grace Hopper"}))
    assert count(app, models.Screening) == 2


def test_a_form_without_its_key_stores_nothing(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    page = browser.get("/staff/intake")
    data = {key: value for key, value in hidden(page).items() if key != "form_key"}
    response = browser.post("/staff/intake", {**data, **SUBJECT, **INTAKE})
    assert response.status_code == 400
    assert "could not be matched" in response.get_data(as_text=True)
    assert hidden(response)["form_key"]
    assert count(app, models.Screening) == 0


def test_an_urgent_intake_raises_an_alert(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    page = browser.get("/staff/intake")
    opened = browser.post("/staff/intake", {**hidden(page), **SUBJECT, **INTAKE, "phq9_q9": "2"})
    assert 'name="suicide_now"' in opened.get_data(as_text=True)
    response = browser.post(
        "/staff/intake", {**hidden(opened), **SUBJECT, **INTAKE, "phq9_q9": "2", "suicide_now": "yes"}
    )
    screening_id = screening_id_of(response)
    with db_of(app).read() as session:
        screening = session.get(models.Screening, screening_id)
        alert = session.scalars(select(models.StaffAlert)).one()
    assert screening is not None
    assert (screening.outcome, screening.urgent) == ("URGENT_HELP", True)
    assert (alert.screening_id, alert.draft_id, alert.acknowledged_at) == (screening_id, None, None)
    assert "R-U01" in alert.rule_ids
    assert "1 urgent alert needs action" in browser.get("/staff/alerts").get_data(as_text=True)


@pytest.mark.parametrize(
    ("urgent_answers", "rule_id"),
    [({"phq9_q9": "1", "suicide_now": "no"}, "R-U02"), ({"fulminans_flags": "yes"}, "R-U03")],
    ids=["item 9", "fulminans"],
)
def test_a_child_under_12_with_an_urgent_answer_gets_urgent_help_and_an_alert(
    app: Flask, staff: Staff, urgent_answers: dict[str, str], rule_id: str
) -> None:
    """BT7: the age gate never hides or drops item 9 or fulminans at intake (TC55, TC73)."""
    browser = staff("nurse")
    child = {"completed_by": "nurse", "age_years": "10"}
    page = browser.get("/staff/intake")
    if "suicide_now" in urgent_answers:
        page = browser.post("/staff/intake", {**hidden(page), **SUBJECT, **child, "phq9_q9": "1"})
        html = page.get_data(as_text=True)
        assert 'name="suicide_now"' in html  # opened for a child too
        assert 'name="phq9_q9"' in html  # never hidden by the age
        assert 'name="self_severity"' not in html  # the rest of the age-gated questions are
    response = browser.post("/staff/intake", {**hidden(page), **SUBJECT, **child, **urgent_answers})
    screening_id = screening_id_of(response)
    with db_of(app).read() as session:
        screening = session.get(models.Screening, screening_id)
        version = session.scalars(select(models.ScreeningVersion)).one()
        alert = session.scalars(select(models.StaffAlert)).one()
    assert screening is not None
    assert (screening.outcome, screening.urgent) == ("URGENT_HELP", True)
    assert version.underlying_outcome == "NOT_APPROPRIATE_NOW"
    assert {key: str(value) for key, value in version.answers.items()}.items() >= urgent_answers.items()
    assert rule_id in alert.rule_ids


def test_a_child_under_12_needs_no_answer_to_item_9_at_intake(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    child = {"completed_by": "nurse", "age_years": "10"}
    screening_id_of(browser.post("/staff/intake", {**hidden(browser.get("/staff/intake")), **SUBJECT, **child}))
    with db_of(app).read() as session:
        version = session.scalars(select(models.ScreeningVersion)).one()
    assert version.outcome == "NOT_APPROPRIATE_NOW"
    assert "R-R14" not in version.fired_rules


def test_staff_pages_are_english_whatever_the_browser_asks(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    html = browser.get("/staff/intake", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "How old are you?" in html
    page = browser.get("/staff/intake", headers={"Accept-Language": "es"})
    response = browser.post("/staff/intake", {**hidden(page), **SUBJECT, **INTAKE}, headers={"Accept-Language": "es"})
    screening_id = screening_id_of(response)
    with db_of(app).read() as session:
        version = session.scalars(
            select(models.ScreeningVersion).where(models.ScreeningVersion.screening_id == screening_id)
        ).one()
    assert version.language == "en"
    assert any("This check does not decide your treatment" in w["text"] for w in version.warnings)


# --- Find a self-screen -------------------------------------------------------------------


def test_find_a_self_screen_by_its_code_however_it_is_typed(app: Flask, staff: Staff, patient: Patient) -> None:
    screening = self_screen(app, patient)
    browser = staff("nurse")
    assert browser.get("/staff/find").status_code == 200
    for typed in (
        screening.reference_code.lower(),
        screening.reference_code.replace("-", ""),
        f" {screening.reference_code} ",
    ):
        response = browser.get("/staff/find", query_string={"code": typed})
        assert response.status_code == 302
        assert response.headers["Location"] == f"/staff/screenings/{screening.id}"
    assert ("screening.find", "success", {"found": True}) in actions(app)
    assert audit_intact(app)


def test_a_resume_code_typed_into_find_says_which_code_it_is(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    response = browser.get("/staff/find", query_string={"code": "7kq2-m9xd-4hjt"})
    assert response.status_code == 400
    assert "That is a code to continue saved answers" in response.get_data(as_text=True)


def test_an_unknown_code_is_an_error_and_keeps_what_was_typed(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    response = browser.get("/staff/find", query_string={"code": "zzzz-zzzz"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No screening has that reference code" in html
    assert 'value="zzzz-zzzz"' in html
    assert ("screening.find", "failure", {"found": False, "code": "ZZZZZZZZ"}) in actions(app)
    malformed = browser.get("/staff/find", query_string={"code": "Ada Lovelace"})
    assert malformed.status_code == 400
    assert "No screening has that reference code" in malformed.get_data(as_text=True)
    assert ("screening.find", "failure", {"found": False}) in actions(app)  # nothing typed is kept in the trail
    assert browser.get("/staff/find", query_string={"code": " "}).status_code == 400


def test_code_lookups_are_rate_limited(staff: Staff) -> None:
    browser = staff("nurse")
    statuses = [browser.get("/staff/find", query_string={"code": "ZZZZ-ZZZZ"}).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429
    assert browser.get("/staff/find").status_code == 200  # the empty form itself is not counted


# --- Check or amend -----------------------------------------------------------------------


def amend_page(browser: StaffBrowser, screening_id: int) -> TestResponse:
    response = browser.get(f"/staff/screenings/{screening_id}/amend")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response


def flat(pages: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {key: value for answers in pages.values() for key, value in answers.items()}


def test_an_amendment_adds_a_version_and_keeps_the_old_one(app: Flask, staff: Staff, patient: Patient) -> None:
    screening = self_screen(app, patient)
    with db_of(app).write() as session:
        stored = session.get(models.Screening, screening.id)
        assert stored is not None
        stored.review_status = "agreed"  # a clinician had signed version 1 off
    with db_of(app).read() as session:
        before = store.current_version(session, screening)
        original = {column.key: getattr(before, column.key) for column in models.ScreeningVersion.__table__.columns}
    browser = staff("nurse")
    page = amend_page(browser, screening.id)
    html = page.get_data(as_text=True)
    assert screening.reference_code in html
    assert 'value="severe" checked' in html  # pre-filled from version 1
    assert hidden(page)["based_on"] == "1"
    answers = flat(ADULT) | {"self_severity": "mild", "nodules": "none", "nurse_iga": "1", "scarring": "none"}
    response = browser.post(f"/staff/screenings/{screening.id}/amend", {**hidden(page), **SUBJECT, **answers})
    assert screening_id_of(response) == screening.id
    with db_of(app).read() as session:
        amended = session.get(models.Screening, screening.id)
        assert amended is not None
        versions = session.scalars(
            select(models.ScreeningVersion)
            .where(models.ScreeningVersion.screening_id == screening.id)
            .order_by(models.ScreeningVersion.number)
        ).all()
    assert [v.number for v in versions] == [1, 2]
    assert {column: getattr(versions[0], column) for column in original} == original  # untouched
    second = versions[1]
    assert (second.author_role, second.author_id, second.source) == ("nurse", user_id(app, browser.username), "patient")
    config = app.config["CLINIC_CONFIG"]
    decision = evaluate(parse_answers(second.answers, config), config)
    assert second.outcome == decision.outcome.value != original["outcome"]
    assert second.answers["nurse_iga"] == 1
    assert (amended.current_version, amended.status, amended.outcome) == (2, "amended", second.outcome)
    assert amended.review_status == "unreviewed"
    assert amended.updated_at > amended.created_at
    assert (amended.subject_name, amended.subject_birth_date) == ("Ada Lovelace", date(2001, 12, 10))
    assert ("screening.amend", "success", {"version": 2}) in actions(app)
    assert audit_intact(app)


def test_an_amendment_that_becomes_urgent_raises_an_alert(app: Flask, staff: Staff, patient: Patient) -> None:
    screening = self_screen(app, patient)
    browser = staff("clinician")
    page = amend_page(browser, screening.id)
    answers = flat(ADULT) | {"phq9_q9": "1"}
    opened = browser.post(f"/staff/screenings/{screening.id}/amend", {**hidden(page), **SUBJECT, **answers})
    assert opened.status_code == 200
    assert "Are you having thoughts of ending your life right now" in opened.get_data(as_text=True)
    assert count(app, models.ScreeningVersion) == 1
    response = browser.post(
        f"/staff/screenings/{screening.id}/amend", {**hidden(opened), **SUBJECT, **answers, "suicide_now": "no"}
    )
    screening_id_of(response)
    with db_of(app).read() as session:
        amended = session.get(models.Screening, screening.id)
        alert = session.scalars(select(models.StaffAlert)).one()
        version = store.current_version(session, amended)  # type: ignore[arg-type]
    assert amended is not None
    assert (amended.outcome, amended.urgent, version.number, version.author_role) == (
        "URGENT_HELP",
        True,
        2,
        "clinician",
    )
    assert alert.screening_id == screening.id
    assert "R-U02" in alert.rule_ids


def test_a_second_submit_of_an_amendment_stores_nothing(app: Flask, staff: Staff, patient: Patient) -> None:
    screening = self_screen(app, patient)
    browser = staff("nurse")
    page = amend_page(browser, screening.id)
    data = {**hidden(page), **SUBJECT, **flat(ADULT), "nurse_iga": "3"}
    assert screening_id_of(browser.post(f"/staff/screenings/{screening.id}/amend", data)) == screening.id
    again = browser.post(f"/staff/screenings/{screening.id}/amend", data)
    assert screening_id_of(again) == screening.id
    assert count(app, models.ScreeningVersion) == 2
    assert "version 2 is now the latest" in browser.get("/staff/find").get_data(as_text=True)


def test_an_amendment_without_changes_adds_no_version(app: Flask, staff: Staff, patient: Patient) -> None:
    screening = self_screen(app, patient)
    browser = staff("nurse")
    first = amend_page(browser, screening.id)
    screening_id_of(
        browser.post(f"/staff/screenings/{screening.id}/amend", {**hidden(first), **SUBJECT, **flat(ADULT)})
    )
    page = amend_page(browser, screening.id)
    html = page.get_data(as_text=True)
    assert 'value="Ada Lovelace"' in html
    assert 'value="2001"' in html
    screening_id_of(browser.post(f"/staff/screenings/{screening.id}/amend", {**hidden(page), **SUBJECT, **flat(ADULT)}))
    assert count(app, models.ScreeningVersion) == 2  # the identifiers made version 2; nothing new after that
    assert "Nothing was changed" in browser.get("/staff/find").get_data(as_text=True)


def test_an_invalid_amendment_stores_nothing(app: Flask, staff: Staff, patient: Patient) -> None:
    screening = self_screen(app, patient)
    browser = staff("nurse")
    page = amend_page(browser, screening.id)
    response = browser.post(
        f"/staff/screenings/{screening.id}/amend", {**hidden(page), **SUBJECT, **flat(ADULT), "age_years": "200"}
    )
    assert response.status_code == 400
    assert 'value="200"' in response.get_data(as_text=True)
    assert count(app, models.ScreeningVersion) == 1


def test_amending_an_unknown_screening_is_404(staff: Staff) -> None:
    assert staff("nurse").get("/staff/screenings/999/amend").status_code == 404


# --- Urgent alerts ------------------------------------------------------------------------


def _alerts(app: Flask) -> tuple[int, int, str]:
    """An alert on an unfinished self-screen (older) and one on an urgent intake: (draft's, intake's, code)."""
    earlier = utcnow() - timedelta(hours=2)
    with db_of(app).write() as session:
        draft, _token = store.create_draft(
            session, language="en", jurisdiction="US", now=earlier, lifetime=timedelta(hours=3)
        )
        draft_alert = store.record_urgent_alert(session, draft=draft, rule_ids=["R-U01"], now=earlier)
        record = store.VersionRecord(
            author_role="nurse",
            author_id=None,
            source="nurse",
            answers={"age_years": 30},
            discarded=[],
            outcome="URGENT_HELP",
            underlying_outcome="CLINICIAN_REVIEW",
            warnings=[],
            language="en",
            clinician_notes=[],
            fired_rules=["R-U03"],
            ruleset_version=RULESET_VERSION,
            ruleset_hash="sha256:00",
            jurisdiction="US",
            config={},
        )
        screening = intake_store.create_screening(
            session,
            record=record,
            subject=intake_store.Subject(None, None, None),
            now=utcnow(),
            urgent_rule_ids=["R-U03"],
        )
        intake_alert = session.scalars(
            select(models.StaffAlert).where(models.StaffAlert.screening_id == screening.id)
        ).one()
        return draft_alert.id, intake_alert.id, screening.reference_code


def test_the_alerts_page_lists_open_alerts_oldest_first(app: Flask, staff: Staff) -> None:
    draft_alert, intake_alert, code = _alerts(app)
    browser = staff("nurse")
    html = browser.get("/staff/alerts").get_data(as_text=True)
    assert "2 urgent alerts need action" in html  # the banner on every staff page
    assert html.index(f'id="alert-{draft_alert}"') < html.index(f'id="alert-{intake_alert}"')
    assert "Unfinished self-screen" in html
    assert code in html
    assert "R-U01" in html
    assert "Suicidal thoughts right now" in html  # the rule's title
    assert "/staff/screenings/" in html
    assert 'href="/staff/alerts"' in html  # the navigation


def test_an_alert_shows_its_age_the_contact_left_and_is_marked_overdue(app: Flask, staff: Staff) -> None:
    """Issue 8: the 2-hour-old alert is overdue (60 minutes by default); the fresh one is not."""
    draft_alert, intake_alert, _code = _alerts(app)
    with db_of(app).write() as session:
        alert = session.get(models.StaffAlert, draft_alert)
        assert alert is not None
        store.leave_contact(session, alert, name="Sam", phone="07700 900982", best_time="evening", now=utcnow())
        fresh = session.get(models.StaffAlert, intake_alert)
        assert fresh is not None
        store.decline_contact(session, fresh, utcnow())
    html = staff("nurse").get("/staff/alerts").get_data(as_text=True)
    first, second = html.split(f'id="alert-{intake_alert}"')
    assert "Overdue" in first
    assert "2 h 0 min ago" in first
    assert 'href="tel:07700900982"' in first
    assert "Best time to call: Evening" in first
    assert "Overdue" not in second.split("</li>")[0]
    assert "chose not to leave contact details" in second


def test_the_overdue_time_is_the_clinics_setting(app: Flask, staff: Staff) -> None:
    _alerts(app)
    app.config["ALERT_OVERDUE_MINUTES"] = 180
    assert "Overdue" not in staff("nurse").get("/staff/alerts").get_data(as_text=True)


def test_acknowledging_needs_what_was_done(app: Flask, staff: Staff) -> None:
    draft_alert, _intake_alert, _code = _alerts(app)
    browser = staff("nurse")
    browser.get("/staff/alerts")
    response = browser.post(f"/staff/alerts/{draft_alert}/acknowledge", {"action_taken": "   "})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter what was done" in html
    assert f'href="#action-{draft_alert}"' in html
    too_long = browser.post(f"/staff/alerts/{draft_alert}/acknowledge", {"action_taken": "x" * 1001})
    assert too_long.status_code == 400
    assert "1,000 characters or fewer" in too_long.get_data(as_text=True)
    assert "x" * 1001 in too_long.get_data(as_text=True)
    with db_of(app).read() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(models.StaffAlert)
                .where(models.StaffAlert.acknowledged_at.is_not(None))
            )
            == 0
        )
    assert "alert.acknowledge" not in [action for action, _, _ in actions(app)]


def test_acknowledging_an_alert_records_who_when_and_what_once(app: Flask, staff: Staff) -> None:
    draft_alert, intake_alert, _code = _alerts(app)
    browser = staff("nurse")
    browser.get("/staff/alerts")
    text = "Called the patient.\n<script>alert(1)</script> Crisis plan agreed."
    response = browser.post(f"/staff/alerts/{draft_alert}/acknowledge", {"action_taken": text})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/alerts"
    html = browser.get("/staff/alerts").get_data(as_text=True)
    assert "Alert acknowledged." in html
    assert "1 urgent alert needs action" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Crisis plan agreed." in html
    assert "<script>alert(1)</script>" not in html
    assert "Nurse 1" in html  # who
    with db_of(app).read() as session:
        alert = session.get(models.StaffAlert, draft_alert)
        assert alert is not None
        first = (alert.acknowledged_at, alert.acknowledged_by, alert.action_taken)
    assert first[0] is not None
    assert first[1:] == (user_id(app, browser.username), text)
    other = staff("clinician")
    other.get("/staff/alerts")
    again = other.post(f"/staff/alerts/{draft_alert}/acknowledge", {"action_taken": "Called again"})
    assert again.status_code == 302
    assert "already acknowledged by Nurse 1" in other.get("/staff/alerts").get_data(as_text=True)
    with db_of(app).read() as session:
        alert = session.get(models.StaffAlert, draft_alert)
        assert alert is not None
        assert (alert.acknowledged_at, alert.acknowledged_by, alert.action_taken) == first
        assert session.get(models.StaffAlert, intake_alert).acknowledged_at is None  # type: ignore[union-attr]
    outcomes = [(action, outcome) for action, outcome, _ in actions(app) if action == "alert.acknowledge"]
    assert outcomes == [("alert.acknowledge", "success"), ("alert.acknowledge", "failure")]
    assert audit_intact(app)


def test_acknowledging_an_unknown_alert_is_404(staff: Staff) -> None:
    browser = staff("nurse")
    browser.get("/staff/alerts")
    assert browser.post("/staff/alerts/999/acknowledge", {"action_taken": "Called"}).status_code == 404


# --- Access and escaping ------------------------------------------------------------------

PAGES = ["/staff/intake", "/staff/find", "/staff/alerts", "/staff/screenings/1/amend"]


@pytest.mark.parametrize("path", PAGES)
def test_admins_may_not_use_the_care_pages(app: Flask, staff: Staff, path: str) -> None:
    admin = staff("admin")
    assert admin.get(path).status_code == 403
    assert ("access.denied", "denied") in [(action, outcome) for action, outcome, _ in actions(app)]


def test_admins_may_not_post_either(app: Flask, staff: Staff) -> None:
    _alerts(app)
    admin = staff("admin")
    admin.get("/staff/")
    assert admin.post("/staff/alerts/1/acknowledge", {"action_taken": "x"}).status_code == 403
    assert admin.post("/staff/intake", {**SUBJECT, **INTAKE}).status_code == 403
    assert count(app, models.Screening) == 1


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("path", ["/staff/intake", "/staff/alerts", "/staff/find"])
def test_care_pages_are_never_cached(staff: Staff, path: str) -> None:
    response = staff("nurse").get(path)
    assert response.headers["Cache-Control"] == "no-store"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.get_data(as_text=True)
    assert "style=" not in response.get_data(as_text=True)


def test_a_subject_name_is_shown_escaped(app: Flask, staff: Staff) -> None:
    browser = staff("nurse")
    name = '"><script>alert(1)</script>'
    screening_id = screening_id_of(post_intake(browser, subject=SUBJECT | {"subject_name": name}))
    with db_of(app).read() as session:
        assert session.get(models.Screening, screening_id).subject_name == name  # type: ignore[union-attr]
    html = amend_page(browser, screening_id).get_data(as_text=True)
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "<script>alert(1)</script>" not in html


def test_the_staff_navigation_offers_the_new_pages(staff: Staff) -> None:
    html = staff("nurse").get("/staff/").get_data(as_text=True)
    for path in ("/staff/intake", "/staff/find", "/staff/alerts"):
        assert f'href="{path}"' in html


def test_times_are_shown_in_utc(app: Flask, staff: Staff) -> None:
    _alerts(app)
    html = staff("nurse").get("/staff/alerts").get_data(as_text=True)
    assert re.search(r"\d{2} \w{3} \d{4} at \d{2}:\d{2} UTC", html)
