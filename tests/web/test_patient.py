"""The patient journey through the Flask test client, with CSRF on, on each test database."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from screener import models
from screener.db import Database
from screener.rules import RULES, RULESET_VERSION, Panel, patient_texts
from tests.web.conftest import Patient

#: One adult's answers, page by page, as a browser posts them: DISCUSSION_APPROPRIATE.
ADULT: dict[str, dict[str, Any]] = {
    "A": {"completed_by": "self", "age_years": "22"},
    "B": {"can_get_pregnant": "no", "breastfeeding": "no"},
    "C": {"self_severity": "severe", "nodules": "three_or_more", "scarring": "none", "sites": ["face", "back"]},
    "D": {"oral_abx": "finished_not_helped", "completed_courses": "one"},
    "E": {"phq9_q1": "0", "phq9_q2": "0", "phq9_q9": "0", "mh_history": "none"},
    "F": {"allergies": "none", "liver_disease": "no"},
    "G": {"tetracycline_current": "no"},
    "H": {"blood_donation_plan": "no"},
}


def db_of(app: Flask) -> Database:
    database: Database = app.extensions["screener.db"]
    return database


def count(app: Flask, model: type[Any]) -> int:
    with db_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def draft_answers(app: Flask) -> dict[str, Any]:
    with db_of(app).read() as session:
        drafts = session.scalars(select(models.Draft)).all()
        assert len(drafts) == 1
        return dict(drafts[0].answers)


def complete(patient: Patient, pages: dict[str, dict[str, Any]] = ADULT) -> str:
    """Answer every page, then send; returns the result page's HTML."""
    patient.start()
    for section, answers in pages.items():
        response = patient.answer(section, answers)
        assert response.status_code == 302, (section, response.get_data(as_text=True)[:2000])
    assert patient.get("/check").status_code == 200
    response = patient.post("/submit")
    assert response.status_code == 302
    assert response.headers["Location"] == "/result"
    return patient.get("/result").get_data(as_text=True)


def test_start_page_explains_the_service_and_shows_crisis_contacts(patient: Patient) -> None:
    response = patient.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "does not decide your treatment" in html
    assert "about 10 minutes" in html
    assert 'href="tel:988"' in html  # BT2: crisis footer (US)
    assert 'href="tel:911"' in html
    assert 'lang="en"' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_one(patient: Patient) -> None:
    html = patient.get("/").get_data(as_text=True)
    icon = html.split('<link rel="icon" href="')[1].split('"')[0]
    response = patient.get(icon)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    response.close()


def test_a_complete_adult_journey_stores_one_screening_with_its_decision(app: Flask, patient: Patient) -> None:
    html = complete(patient)
    assert "It makes sense to talk with your doctor about isotretinoin" in html
    assert "reference-code" in html
    with db_of(app).read() as session:
        screening = session.scalars(select(models.Screening)).one()
        version = session.scalars(select(models.ScreeningVersion)).one()
    assert screening.reference_code in html
    assert version.outcome == "DISCUSSION_APPROPRIATE"
    assert version.ruleset_version == RULESET_VERSION
    assert version.language == "en"
    assert version.author_role == "patient"
    assert version.answers["age_years"] == 22
    assert version.answers["sites"] == ["face", "back"]
    assert {w["id"] for w in version.warnings} >= {"W-GEN-BIRTH", "W-GEN-NOTRX"}
    assert version.warnings[0]["severity"] == "critical"
    assert "C-ONLABEL" in {n["id"] for n in version.clinician_notes}
    assert count(app, models.StaffAlert) == 0


def test_bad_input_shows_an_error_summary_keeps_what_was_typed_and_saves_nothing(app: Flask, patient: Patient) -> None:
    patient.start()
    response = patient.answer("A", {"completed_by": "self", "age_years": "twenty"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert 'href="#age_years"' in html
    assert "Enter a whole number from 0 to 120" in html
    assert 'value="twenty"' in html
    assert "<title>Error:" in html
    assert draft_answers(app) == {}


def test_a_required_question_left_blank_is_an_error(patient: Patient) -> None:
    patient.start()
    response = patient.answer("A", {"age_years": "30"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Select an answer" in html
    assert 'value="30"' in html


def test_optional_questions_may_be_left_blank(patient: Patient) -> None:
    patient.start()
    patient.answer("A", ADULT["A"])
    patient.answer("B", ADULT["B"])
    response = patient.answer("C", {"self_severity": "mild", "nodules": "none"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/questions/D"


def test_pregnancy_follow_ups_appear_only_when_enabled_and_stale_answers_are_discarded(
    app: Flask, patient: Patient
) -> None:
    """BT3."""
    patient.start()
    patient.answer("A", ADULT["A"])
    page = patient.get("/questions/B").get_data(as_text=True)
    assert "Are you pregnant now" not in page
    response = patient.answer("B", {"can_get_pregnant": "yes", "breastfeeding": "no"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # the same page again, now with the follow-up questions
    assert "Are you pregnant now" in html
    assert "form-group--new" in html
    follow_ups = {
        "can_get_pregnant": "yes",
        "breastfeeding": "no",
        "pregnant_now": "no",
        "planning_pregnancy_6mo": "no",
        "contraception_methods": ["iud"],
        "willing_pregnancy_prevention": "yes",
    }
    assert patient.answer("B", follow_ups).status_code == 302
    assert draft_answers(app)["pregnant_now"] == "no"
    # Changing the first answer to "no" throws the follow-up answers away.
    assert patient.answer("B", follow_ups | {"can_get_pregnant": "no"}).status_code == 302
    saved = draft_answers(app)
    assert saved["can_get_pregnant"] == "no"
    assert not {"pregnant_now", "planning_pregnancy_6mo", "contraception_methods"} & set(saved)


def test_an_under_12_finishes_after_section_a(app: Flask, patient: Patient) -> None:
    """BT4: the questionnaire ends after section A with TC01's result."""
    patient.start()
    response = patient.answer("A", {"completed_by": "parent_guardian", "age_years": "11"})
    assert response.headers["Location"] == "/check"
    assert patient.get("/questions/C").headers["Location"] == "/check"
    assert patient_texts.UNDER_12_CHECK in patient.get("/check").get_data(as_text=True)  # why it ends so early
    html = complete_from_check(patient)
    assert "Isotretinoin is not an option right now" in html
    # The reason leads: the age warning comes before the explanation and every other warning.
    why = html.index("<h2>Why</h2>")
    age = html.index("not approved for children under 12")
    assert why < age < html.index("What this means") < html.index("birth defects")
    assert patient_texts.CONSIDER_LATER in html
    with db_of(app).read() as session:
        version = session.scalars(select(models.ScreeningVersion)).one()
    assert version.outcome == "NOT_APPROPRIATE_NOW"
    assert version.fired_rules.count("R-N01") == 1


def test_an_urgent_result_speaks_with_one_voice(patient: Patient) -> None:
    """Issue 8: outcome, then the help panel and its warning, then the rest folded away for later."""
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    patient.answer("E", ADULT["E"] | {"phq9_q9": "1"})
    patient.answer("E", ADULT["E"] | {"phq9_q9": "1", "suicide_now": "no"})
    for section in "FGH":
        patient.answer(section, ADULT[section])
    html = complete_from_check(patient)
    outcome, panel = html.index("Please get help today"), html.index("crisis-panel--crisis")
    soon = html.index("We have told your care team. If you have not heard from us")
    folded = html.index('<details class="details">')
    assert outcome < panel < soon < folded < html.index("birth defects")
    assert patient_texts.STOP_OR_CARRY_ON not in html  # the questionnaire is finished
    assert "before or at your visit" not in html  # the care team has been told already
    assert 'href="sms:988"' in html.split('class="crisis-footer"')[0]  # text 988 in the panel too


def test_a_pregnant_result_leads_with_its_reason(patient: Patient) -> None:
    pregnant = {
        "can_get_pregnant": "yes",
        "pregnant_now": "yes",
        "planning_pregnancy_6mo": "no",
        "breastfeeding": "no",
        "contraception_methods": ["condoms"],
        "willing_pregnancy_prevention": "yes",
    }
    patient.start()
    patient.answer("A", ADULT["A"])
    assert patient.answer("B", pregnant).status_code == 200  # the follow-ups open first
    assert patient.answer("B", pregnant).status_code == 302
    for section in "CDEFGH":
        patient.answer(section, ADULT[section])
    html = complete_from_check(patient)
    assert (
        html.index("<h2>Why</h2>") < html.index("must never be taken during pregnancy") < html.index("What this means")
    )


def test_a_discussion_result_has_no_why_section(patient: Patient) -> None:
    html = complete(patient)
    assert "<h2>Why</h2>" not in html
    assert patient_texts.CONSIDER_LATER not in html
    assert "before or at your visit" in html


def complete_from_check(patient: Patient) -> str:
    patient.get("/check")
    assert patient.post("/submit").status_code == 302
    return patient.get("/result").get_data(as_text=True)


def test_an_urgent_mood_answer_shows_the_crisis_panel_on_the_same_page_and_alerts_staff(
    app: Flask, patient: Patient
) -> None:
    """BT1."""
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    response = patient.answer("E", ADULT["E"] | {"phq9_q9": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "crisis-panel" in html
    assert 'class="crisis-number" href="tel:988"' in html  # numbers to tap, in the panel itself
    assert "better off dead or of hurting yourself" in html
    assert "Are you having thoughts of ending your life right now" in html  # suicide_now now asked
    assert count(app, models.StaffAlert) == 1  # recorded before the person goes on
    response = patient.answer("E", ADULT["E"] | {"phq9_q9": "1", "suicide_now": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "thinking about ending your life right now" in html
    assert count(app, models.StaffAlert) == 1  # the same alert, with the new rule added
    assert patient.answer("E", ADULT["E"] | {"phq9_q9": "1", "suicide_now": "yes"}).status_code == 302
    for section in "FGH":
        patient.answer(section, ADULT[section])
    result = complete_from_check(patient)
    assert "Please get help today" in result
    assert "crisis-panel" in result
    with db_of(app).read() as session:
        alert = session.scalars(select(models.StaffAlert)).one()
        screening = session.scalars(select(models.Screening)).one()
    assert alert.screening_id == screening.id
    assert set(alert.rule_ids) >= {"R-U01"}
    assert screening.urgent is True


def panels_in(html: str) -> list[str]:
    """The urgent contact panels on a page, in page order."""
    return re.findall(r'class="crisis-panel crisis-panel--(\w+)"', html)


def test_possible_fulminans_shows_the_medical_panel_never_the_crisis_panel(app: Flask, patient: Patient) -> None:
    """BT1 (draft.2): R-U03 alone gets the same-day medical contacts, on the acne page and the result."""
    patient.start()
    patient.answer("A", ADULT["A"])
    patient.answer("B", ADULT["B"])
    response = patient.answer("C", ADULT["C"] | {"fulminans_flags": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert panels_in(html) == ["medical"]
    assert "rare, serious kind of acne" in html
    assert "Your skin may need a doctor today" in html
    assert "Suicide & Crisis Lifeline" in html  # the crisis footer stays on every page (BT2)
    assert "Suicide & Crisis Lifeline" not in html.split('class="crisis-footer"')[0]  # but is not the panel
    assert count(app, models.StaffAlert) == 1
    assert patient.answer("C", ADULT["C"] | {"fulminans_flags": "yes"}).status_code == 302
    for section in "DEFGH":
        patient.answer(section, ADULT[section])
    result = complete_from_check(patient)
    assert panels_in(result) == ["medical"]
    assert patient_texts.URGENT_EXPLANATIONS[Panel.MEDICAL] in result
    assert patient_texts.URGENT_EXPLANATIONS[Panel.CRISIS] not in result


def test_mood_with_fulminans_shows_both_panels_crisis_first(app: Flask, patient: Patient) -> None:
    patient.start()
    for section in "AB":
        patient.answer(section, ADULT[section])
    assert panels_in(patient.answer("C", ADULT["C"] | {"fulminans_flags": "yes"}).get_data(as_text=True)) == ["medical"]
    patient.answer("C", ADULT["C"] | {"fulminans_flags": "yes"})
    patient.answer("D", ADULT["D"])
    html = patient.answer("E", ADULT["E"] | {"phq9_q9": "2"}).get_data(as_text=True)
    assert panels_in(html) == ["crisis", "medical"]
    patient.answer("E", ADULT["E"] | {"phq9_q9": "2", "suicide_now": "no"})
    for section in "FGH":
        patient.answer(section, ADULT[section])
    result = complete_from_check(patient)
    assert panels_in(result) == ["crisis", "medical"]
    crisis, medical = (patient_texts.URGENT_EXPLANATIONS[p] for p in (Panel.CRISIS, Panel.MEDICAL))
    assert result.index(crisis) < result.index(medical)
    assert "We have told your care team" in result  # W-CRISIS-SOON (draft.2): no promise of a call


def test_the_crisis_panel_shows_the_clinic_phone_beside_the_callback_text(app: Flask, patient: Patient) -> None:
    app.config["CLINIC_PHONE"] = "555 0100"
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    html = patient.answer("E", ADULT["E"] | {"phq9_q9": "1"}).get_data(as_text=True)
    assert patient_texts.CLINIC_PHONE_LABEL in html
    assert 'href="tel:5550100"' in html


def test_list_warnings_are_shown_as_a_lead_in_and_a_bulleted_list(patient: Patient) -> None:
    result = complete(patient)
    assert "<p>Stop taking isotretinoin and get medical help fast if you get any of these:</p>" in result
    assert "<li>Blood in your stools, or bad diarrhea</li>" in result
    assert "<li>Nosebleeds</li>" in result
    assert "Please note" in result  # info and medium warnings
    assert "Good to know" not in result


def test_refresh_or_double_submit_stores_one_screening(app: Flask, patient: Patient) -> None:
    complete(patient)
    again = patient.post("/submit")
    assert again.status_code == 302
    assert again.headers["Location"] == "/result"
    assert count(app, models.Screening) == 1
    assert count(app, models.ScreeningVersion) == 1


def test_two_requests_with_the_same_form_store_one_screening(app: Flask, patient: Patient) -> None:
    """A double click sends the same cookie twice before either answer arrives."""
    patient.start()
    for section, answers in ADULT.items():
        patient.answer(section, answers)
    patient.get("/check")
    cookie = patient.client.get_cookie("screener")
    assert cookie is not None
    first = patient.post("/submit")
    patient.client.set_cookie(cookie.key, cookie.value)  # the second click's cookie predates the first answer
    second = patient.post("/submit")
    assert first.headers["Location"] == second.headers["Location"] == "/result"
    assert count(app, models.Screening) == 1


def test_after_finishing_back_shows_no_answers(patient: Patient) -> None:
    complete(patient)
    for path in ("/questions/A", "/questions/C", "/check"):
        response = patient.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/result"


def test_save_and_come_back_later(app: Flask, patient: Patient) -> None:
    patient.start()
    patient.answer("A", ADULT["A"])
    response = patient.post("/questions/B", {"action": "save", "can_get_pregnant": "no"})
    assert response.headers["Location"] == "/saved"
    html = patient.get("/saved").get_data(as_text=True)
    code = html.split('class="reference-code">')[1].split("<")[0]
    assert len(code) == 14
    assert "72 hours" in html
    assert "reference-code" not in patient.get("/saved").get_data(as_text=True)  # shown once
    assert patient.get("/questions/A").headers["Location"] == "/"  # this device forgot the answers
    wrong = patient.post("/resume", {"code": "0000-0000-0000"})
    assert wrong.status_code == 400
    assert "could not find saved answers" in wrong.get_data(as_text=True)
    resumed = patient.post("/resume", {"code": code.lower().replace("-", " ")})
    assert resumed.status_code == 302
    assert resumed.headers["Location"] == "/questions/B"  # the first page with a question unanswered
    assert 'value="22"' in patient.get("/questions/A").get_data(as_text=True)
    assert draft_answers(app)["can_get_pregnant"] == "no"


def check_page_after(patient: Patient, pages: dict[str, dict[str, Any]]) -> str:
    patient.start()
    for section, answers in pages.items():
        assert patient.answer(section, answers).status_code == 302, section
    return patient.get("/check").get_data(as_text=True)


def test_check_your_answers_folds_skipped_optional_questions_into_one_line(patient: Patient) -> None:
    html = check_page_after(patient, ADULT)
    acne = html.split('<h2 class="summary-heading">Your acne</h2>')[1].split("</dl>")[0]
    assert "4 optional questions" in acne  # inflammatory count, dark marks, fulminans, impact
    assert "How much does your acne affect" not in acne  # no row of its own
    assert 'href="/questions/C?return=check">Add answers' in acne
    assert patient_texts.HEALTH_NUDGE not in html


def test_skipping_every_health_and_medicine_question_gets_a_nudge_not_a_block(patient: Patient) -> None:
    html = check_page_after(patient, ADULT | {"F": {}, "G": {}})
    assert patient_texts.HEALTH_NUDGE in html
    assert 'href="/questions/F?return=check">Add answers about your health' in html
    assert patient.post("/submit").status_code == 302  # sending still works


def test_new_questions_are_tagged_and_the_notice_links_to_the_first(patient: Patient) -> None:
    patient.start()
    patient.answer("A", ADULT["A"])
    html = patient.answer("B", {"can_get_pregnant": "yes", "breastfeeding": "no"}).get_data(as_text=True)
    notice = html.split('<div class="notice" role="status" tabindex="-1" data-autofocus>')[1].split("</div>")[0]
    assert 'href="#q-pregnant_now"' in notice  # the first new question
    assert html.count('<strong class="tag tag--new">New question</strong>') == 4


def test_with_javascript_follow_ups_come_from_the_server_without_saving(app: Flask, patient: Patient) -> None:
    """Issue 8: the page asks the server which questions these answers open; nothing is stored."""
    patient.start()
    patient.answer("A", ADULT["A"])
    patient.get("/questions/B")
    before = draft_answers(app)
    response = patient.post("/questions/B/preview", {"can_get_pregnant": "yes"})
    found = response.get_json()
    assert response.status_code == 200
    assert found["shown"][:3] == ["can_get_pregnant", "pregnant_now", "planning_pregnancy_6mo"]
    assert "New question" in found["html"]["pregnant_now"]
    assert draft_answers(app) == before  # a preview saves nothing
    no = patient.post("/questions/B/preview", {"can_get_pregnant": "no"}).get_json()
    assert "pregnant_now" not in no["shown"]


def test_answers_to_questions_the_page_added_are_kept_in_one_step(app: Flask, patient: Patient) -> None:
    """The page's hidden list names the follow-ups JavaScript added: Continue keeps their answers."""
    patient.start()
    patient.answer("A", ADULT["A"])
    patient.get("/questions/B")
    pregnant_follow_ups = {
        "can_get_pregnant": "yes",
        "pregnant_now": "no",
        "planning_pregnancy_6mo": "no",
        "breastfeeding": "no",
        "contraception_methods": ["iud"],
        "willing_pregnancy_prevention": "yes",
    }
    shown = " ".join(patient.post("/questions/B/preview", {"can_get_pregnant": "yes"}).get_json()["shown"])
    response = patient.post("/questions/B", {**pregnant_follow_ups, "shown": shown, "action": "continue"})
    assert response.status_code == 302  # no second round trip
    assert draft_answers(app)["contraception_methods"] == ["iud"]


def urgent_mood_page(patient: Patient) -> str:
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    return patient.answer("E", ADULT["E"] | {"phq9_q9": "1"}).get_data(as_text=True)


def open_alert(app: Flask) -> models.StaffAlert:
    with db_of(app).read() as session:
        return session.scalars(select(models.StaffAlert)).one()


def test_a_person_in_crisis_may_leave_a_number_after_the_help_contacts(app: Flask, patient: Patient) -> None:
    """Issue 8: optional, after the panel, says who sees it; the alert shows it at once."""
    html = urgent_mood_page(patient)
    assert html.index("crisis-panel--crisis") < html.index(patient_texts.CONTACT_OFFER_TITLE)
    assert patient_texts.CONTACT_OFFER_INTRO in html
    response = patient.post(
        "/contact",
        {"contact_name": "Sam", "contact_phone": "(555) 010-0199", "contact_time": "evening", "back": "/questions/E"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/questions/E"
    alert = open_alert(app)
    assert (alert.contact_choice, alert.contact_name, alert.contact_phone, alert.contact_time) == (
        "given",
        "Sam",
        "(555) 010-0199",
        "evening",
    )
    with db_of(app).read() as session:
        event = session.scalars(select(models.AuditEvent).where(models.AuditEvent.action == "alert.contact")).one()
    assert event.detail == {"choice": "given"}  # the trail says what happened, not the number
    back_on_e = patient.get("/questions/E").get_data(as_text=True)
    assert patient_texts.CONTACT_OFFER_TITLE not in back_on_e  # answered: not offered again
    assert panels_in(back_on_e) == ["crisis"]  # but the help contacts stay first


def test_declining_is_recorded_and_the_offer_is_not_repeated(app: Flask, patient: Patient) -> None:
    urgent_mood_page(patient)
    assert patient.post("/contact", {"action": "decline", "back": "/questions/E"}).status_code == 302
    assert open_alert(app).contact_choice == "declined"
    patient.answer("E", ADULT["E"] | {"phq9_q9": "1", "suicide_now": "no"})
    for section in "FGH":
        patient.answer(section, ADULT[section])
    result = complete_from_check(patient)
    assert "crisis-panel--crisis" in result
    assert patient_texts.CONTACT_OFFER_TITLE not in result


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"contact_phone": ""}, "Enter a phone number, or choose No thanks"),
        ({"contact_phone": "call me"}, "Enter a phone number, like"),
        ({"contact_phone": "１２３４５６７"}, "Enter a phone number, like"),  # full-width digits
        ({"contact_phone": "555 0100", "contact_name": "Sam\u202egnp.exe"}, "letters, spaces and punctuation"),
        ({"contact_phone": "555 0100", "contact_time": "midnight"}, "Select one of the times shown"),
    ],
)
def test_bad_contact_details_get_an_error_and_change_nothing(
    app: Flask, patient: Patient, typed: dict[str, str], message: str
) -> None:
    urgent_mood_page(patient)
    response = patient.post("/contact", {"back": "/questions/E", **typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert message in html
    assert open_alert(app).contact_choice is None


def test_the_contact_offer_never_sends_anyone_off_the_site(patient: Patient) -> None:
    urgent_mood_page(patient)
    response = patient.post("/contact", {"action": "decline", "back": "https://evil.example/"})
    assert response.headers["Location"] == "/result"


def test_a_follow_up_the_page_added_and_left_blank_comes_back_as_new_not_as_an_error(
    app: Flask, patient: Patient
) -> None:
    """With JavaScript, "right now" appears inline: left blank, Continue still shows the crisis panel."""
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    shown = "phq9_q1 phq9_q2 phq9_q9 suicide_now mh_history mh_family_history"
    response = patient.post("/questions/E", ADULT["E"] | {"phq9_q9": "1", "shown": shown, "action": "continue"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert panels_in(html) == ["crisis"]
    assert 'href="#q-suicide_now"' in html
    assert count(app, models.StaffAlert) == 1


def test_an_urgent_answer_on_a_page_with_errors_still_shows_the_panel_and_alerts(app: Flask, patient: Patient) -> None:
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    before = draft_answers(app)
    response = patient.post("/questions/E", {"phq9_q9": "2", "action": "continue"})  # items 1 and 2 missing
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert panels_in(html) == ["crisis"]
    assert count(app, models.StaffAlert) == 1  # acted on at once (BT1)
    assert draft_answers(app) == before  # the answers themselves are not saved


def test_the_right_now_question_is_announced_on_the_crisis_page(patient: Patient) -> None:
    patient.start()
    for section in "ABCD":
        patient.answer(section, ADULT[section])
    html = patient.answer("E", ADULT["E"] | {"phq9_q9": "1"}).get_data(as_text=True)
    assert html.index("crisis-panel--crisis") < html.index('href="#q-suicide_now"')  # help first, then the notice
    assert html.count("data-autofocus") == 1  # the panel takes the focus
    assert html.count('<strong class="tag tag--new">New question</strong>') == 1


def test_a_reference_code_typed_into_resume_says_which_code_it_is(patient: Patient) -> None:
    html = complete(patient)
    reference = html.split('class="reference-code">')[1].split("<")[0]
    patient.get("/resume")
    response = patient.post("/resume", {"code": reference})
    assert response.status_code == 400
    assert "That is your reference code, for your visit" in response.get_data(as_text=True)


def test_resume_codes_are_rate_limited(patient: Patient) -> None:
    statuses = [patient.post("/resume", {"code": f"AAAA-BBBB-{n:04d}"}).status_code for n in range(12)]
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]


def test_idle_timeout_clears_the_answers_from_this_device(app: Flask, patient: Patient) -> None:
    with time_machine.travel("2026-11-29 10:00:00+00:00", tick=False) as clock:
        patient.start()
        patient.answer("A", ADULT["A"])
        clock.shift(timedelta(minutes=9))
        assert patient.get("/questions/B").status_code == 200  # still within the idle time
        clock.shift(timedelta(minutes=11))
        response = patient.get("/questions/B")
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        assert "inactive for a while" in patient.get("/").get_data(as_text=True)
        assert patient.get("/questions/A").headers["Location"] == "/"


def test_start_again_clears_everything(app: Flask, patient: Patient) -> None:
    patient.start()
    patient.answer("A", ADULT["A"])
    assert count(app, models.Draft) == 1
    assert patient.post("/start-again").headers["Location"] == "/"
    assert count(app, models.Draft) == 0
    assert patient.get("/questions/A").headers["Location"] == "/"


def test_posts_without_a_valid_csrf_token_change_nothing(app: Flask, patient: Patient) -> None:
    patient.start()
    before = draft_answers(app)
    response = patient.client.post("/questions/A", data={"completed_by": "self", "age_years": "30"})
    assert response.status_code == 400
    forged = patient.client.post("/questions/A", data={"csrf_token": "forged", "age_years": "30"})
    assert forged.status_code == 400
    assert draft_answers(app) == before
    assert patient.client.post("/start", data={}).status_code == 400


def test_language_switch_and_spanish_pages(app: Flask, patient: Patient) -> None:
    patient.get("/")
    response = patient.post("/language", {"lang": "es", "next": "/about-isotretinoin"})
    assert response.headers["Location"] == "/about-isotretinoin"
    html = patient.get("/").get_data(as_text=True)
    assert 'lang="es"' in html
    assert "Empezar" in html
    patient.start()
    page = patient.get("/questions/A").get_data(as_text=True)
    assert "¿Cuántos años tiene?" in page
    error = patient.answer("A", {"completed_by": "self", "age_years": "abc"}).get_data(as_text=True)
    assert "Hay un problema" in error


def test_spanish_results_store_the_spanish_warning_text(app: Flask, patient: Patient) -> None:
    patient.get("/")
    patient.post("/language", {"lang": "es", "next": "/"})
    complete(patient)
    with db_of(app).read() as session:
        version = session.scalars(select(models.ScreeningVersion)).one()
    assert version.language == "es"
    assert "isotretinoína" in version.warnings[0]["text"].lower()


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil"])
def test_language_switch_never_leaves_the_site(patient: Patient, target: str) -> None:
    patient.get("/")
    response = patient.post("/language", {"lang": "es", "next": target})
    assert response.headers["Location"] == "/"


def test_about_page(patient: Patient) -> None:
    html = patient.get("/about-isotretinoin").get_data(as_text=True)
    for fact in ("vitamin A", "35 to 58 percent", "Accutane", "birth defects", "severe acne"):
        assert fact in html
    # The page shows the warnings' own words, so it cannot drift from them (W-GEN-MOOD did in draft.1).
    mood = next(rule.warning for rule in RULES if rule.warning and rule.warning.id == "W-GEN-MOOD")
    assert mood is not None
    assert escape(mood.wording.us) in html
    assert "<li>Blood in your stools, or bad diarrhea</li>" in html


class TestUkClinic:
    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"JURISDICTION": "UK"}

    def test_uk_crisis_footer_and_same_outcome(self, app: Flask, patient: Patient) -> None:
        """BT2 and BT5: the UK contacts, and wording changes but never the outcome."""
        html = patient.get("/").get_data(as_text=True)
        for number in ("tel:999", "tel:111", "tel:116123"):
            assert number in html
        assert "tel:988" not in html
        result = complete(patient)
        assert "It makes sense to talk with your doctor about isotretinoin" in result
        assert "Pregnancy Prevention Programme" in result
        with db_of(app).read() as session:
            version = session.scalars(select(models.ScreeningVersion)).one()
        assert version.jurisdiction == "UK"
        assert "C-UK-MHSF" in {n["id"] for n in version.clinician_notes}

    def test_uk_footer_names_northern_ireland_lifeline(self, patient: Patient) -> None:
        html = patient.get("/").get_data(as_text=True)
        assert "Northern Ireland: Lifeline, free, day or night: call" in html
        assert 'href="tel:08088088000"' in html

    def test_uk_about_page_uses_uk_words(self, patient: Patient) -> None:
        """rules.md 7.1: Roaccutane, programme, diarrhoea in UK patient text."""
        html = patient.get("/about-isotretinoin").get_data(as_text=True)
        for word in ("Roaccutane", "Pregnancy Prevention Programme", "diarrhoea", "programme"):
            assert word in html
        for word in ("Accutane", "diarrhea", "program ", "iPLEDGE"):
            assert word not in html

    def test_uk_fulminans_panel_names_the_gp_and_111(self, patient: Patient) -> None:
        patient.start()
        patient.answer("A", ADULT["A"])
        patient.answer("B", ADULT["B"])
        html = patient.answer("C", ADULT["C"] | {"fulminans_flags": "yes"}).get_data(as_text=True)
        assert panels_in(html) == ["medical"]
        assert "Call your GP surgery today." in html
        assert 'href="tel:111"' in html.split('class="crisis-footer"')[0]


def test_optional_questions_are_marked_as_such(patient: Patient) -> None:
    patient.start()
    patient.answer("A", ADULT["A"])
    patient.answer("B", ADULT["B"])
    html = patient.get("/questions/C").get_data(as_text=True)
    assert '<span class="optional">(optional)</span>' in html
    assert "&lt;span" not in html  # no markup shown as text
