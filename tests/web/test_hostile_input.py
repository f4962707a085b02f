"""Hostile input gives a clear 400 (or a page naming the problem), never a 500 (issue 9, item 4).

Each test runs on SQLite and, with ``SCREENER_TEST_DATABASE_URL``, on PostgreSQL, whose INTEGER ids
stop at 2^31 - 1 and whose text cannot hold a NUL character.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from screener import models
from screener.models import MAX_ID
from screener.store.review import Cursor
from screener.web.public import safe_next
from tests.web.conftest import Patient, StaffBrowser
from tests.web.test_intake import INTAKE, SUBJECT, post_intake, screening_id_of
from tests.web.test_patient import ADULT, complete, db_of

Staff = Callable[..., StaffBrowser]

#: Digits Python's ``str.isdigit`` accepts but ``int`` refuses, and more digits than ``int`` reads.
NOT_NUMBERS = ["²", "①", "²⁰", "1" * 4300, "9" * 5000]
#: Ids past what an INTEGER column holds on PostgreSQL (2^31) and on SQLite (2^63), and far past.
TOO_BIG_IDS = [MAX_ID + 1, 2**63, 10**30]
NUL = "a\x00b"


def audit_actions(app: Flask) -> list[str]:
    with db_of(app).read() as session:
        return list(session.scalars(select(models.AuditEvent.action).order_by(models.AuditEvent.id)))


def a_screening(app: Flask) -> int:
    complete(Patient(app.test_client()))
    with db_of(app).read() as session:
        return int(session.scalars(select(models.Screening.id)).one())


# --- Numbers and dates --------------------------------------------------------------------


@pytest.mark.parametrize("typed", NOT_NUMBERS)
def test_a_number_field_names_digits_it_cannot_read(patient: Patient, typed: str) -> None:
    patient.start()
    response = patient.answer("A", {"completed_by": "self", "age_years": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert "Enter a whole number from 0 to 120" in html


@pytest.mark.parametrize("typed", NOT_NUMBERS)
def test_a_number_field_of_the_intake_page_names_digits_it_cannot_read(staff: Staff, typed: str) -> None:
    response = post_intake(staff("nurse"), {**INTAKE, "age_years": typed})
    assert response.status_code == 400
    assert "Enter a whole number from 0 to 120" in response.get_data(as_text=True)


@pytest.mark.parametrize("part", ["birth_day", "birth_month", "birth_year"])
@pytest.mark.parametrize("typed", [*NOT_NUMBERS, "²²²²", "١٩٩٠"])
def test_the_date_of_birth_names_digits_it_cannot_read(staff: Staff, part: str, typed: str) -> None:
    response = post_intake(staff("nurse"), INTAKE, {**SUBJECT, part: typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert "Date of birth must be a real date, in numbers" in html or "Year must include 4 numbers" in html


# --- Ids out of the database's range ------------------------------------------------------


@pytest.mark.parametrize("too_big", TOO_BIG_IDS)
def test_ids_in_paths_beyond_the_database_range_are_not_found(app: Flask, staff: Staff, too_big: int) -> None:
    nurse, clinician, admin = staff("nurse"), staff("clinician"), staff("admin")
    for browser, method, path, form in [
        (nurse, "GET", f"/staff/screenings/{too_big}", {}),
        (nurse, "GET", f"/staff/screenings/{too_big}/print", {}),
        (nurse, "GET", f"/staff/screenings/{too_big}/amend", {}),
        (nurse, "POST", f"/staff/alerts/{too_big}/acknowledge", {"action_taken": "Called"}),
        (clinician, "POST", f"/staff/screenings/{too_big}/reviews", {"version": "1", "decision": "agree"}),
        (clinician, "POST", f"/staff/screenings/{too_big}/reevaluations", {}),
        (admin, "POST", f"/staff/admin/users/{too_big}/disable", {}),
        (admin, "POST", f"/staff/admin/users/{too_big}/reset", {}),
    ]:
        response = browser.get(path) if method == "GET" else browser.post(path, form)
        assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.parametrize("too_big", TOO_BIG_IDS)
def test_a_queue_cursor_beyond_the_database_range_shows_the_first_page(app: Flask, staff: Staff, too_big: int) -> None:
    a_screening(app)
    with db_of(app).read() as session:
        screening = session.scalars(select(models.Screening)).one()
    cursor = Cursor(screening.urgent, screening.priority, screening.created_at, too_big).encode()
    response = staff("nurse").get("/staff/queue", query_string={"after": cursor})
    assert response.status_code == 200
    assert screening.reference_code in response.get_data(as_text=True)


@pytest.mark.parametrize("before_id", [str(MAX_ID + 1), str(2**63), "²", "١٢", "1" * 4300, "-1", "0"])
def test_the_audit_page_names_an_older_events_link_it_cannot_read(staff: Staff, before_id: str) -> None:
    response = staff("admin").get("/staff/admin/audit", query_string={"before_id": before_id})
    assert response.status_code == 400
    assert "The link to older events was not right" in response.get_data(as_text=True)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_audit_page_takes_the_first_and_last_dates_there_are(staff: Staff, day: str) -> None:
    admin = staff("admin")
    for filters in ({"until": day}, {"since": day}, {"since": "0001-01-01", "until": day}):
        response = admin.get("/staff/admin/audit", query_string=filters)
        assert response.status_code == 200, (filters, response.status_code)


# --- NUL characters (PostgreSQL text cannot hold them) ------------------------------------


def test_a_nul_character_in_any_staff_text_field_is_refused_clearly(app: Flask, staff: Staff) -> None:
    screening_id = a_screening(app)
    nurse, clinician, admin = staff("nurse"), staff("clinician"), staff("admin")
    with db_of(app).read() as session:
        alert_id = session.scalars(select(models.StaffAlert.id)).first() or 1
    sent = [
        (nurse, "/staff/intake", "intake", {"subject_name": NUL}),
        (nurse, "/staff/intake", "intake", {"subject_mrn": NUL}),
        (nurse, f"/staff/screenings/{screening_id}/amend", "amend", {"subject_name": NUL, "based_on": "1"}),
        (nurse, f"/staff/alerts/{alert_id}/acknowledge", None, {"action_taken": NUL}),
        (
            clinician,
            f"/staff/screenings/{screening_id}/reviews",
            None,
            {"version": "1", "decision": "disagree", "outcome": "NOT_APPROPRIATE_NOW", "reason": NUL},
        ),
        (
            clinician,
            f"/staff/screenings/{screening_id}/reviews",
            None,
            {"version": "1", "decision": "agree", "note": NUL},
        ),
        (admin, "/staff/admin/users/new", None, {"username": "nurse.x", "display_name": NUL, "role": "nurse"}),
    ]
    before = audit_actions(app)
    for browser, path, page, form in sent:
        if page == "intake":
            response = post_intake(browser, INTAKE, {**SUBJECT, **form})
        else:
            if page == "amend":
                browser.get(path)
            response = browser.post(path, form)
        assert response.status_code == 400, (path, form, response.status_code)
        assert "cannot be used" in response.get_data(as_text=True), path
    with db_of(app).read() as session:
        assert session.scalars(select(models.Screening.id)).all() == [screening_id]  # nothing stored
    assert all(action not in {"screening.create", "screening.amend"} for action in audit_actions(app)[len(before) :])


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/staff/admin/audit", {"actor": NUL}),
        ("/staff/admin/audit", {"object_id": NUL}),
        ("/staff/queue", {"outcome": NUL}),
        ("/staff/find", {"code": NUL}),
    ],
)
def test_a_nul_character_in_a_staff_query_is_refused_clearly(staff: Staff, path: str, query: dict[str, str]) -> None:
    role = "admin" if "admin" in path else "nurse"
    response = staff(role).get(path, query_string=query)
    assert response.status_code == 400
    assert "cannot be used" in response.get_data(as_text=True)


def test_a_nul_character_on_the_public_side_is_refused_clearly(app: Flask, patient: Patient) -> None:
    patient.start()
    for path, form in [
        ("/questions/A", {"completed_by": "self", "age_years": NUL}),
        ("/contact", {"contact_name": NUL, "contact_phone": "07700 900 982"}),
        ("/resume", {"code": NUL}),
        ("/staff/login", {"username": NUL, "password": "whatever it is"}),
    ]:
        response = patient.post(path, form)
        assert response.status_code == 400, (path, response.status_code)
        assert "cannot be used" in response.get_data(as_text=True), path


# --- Redirects: next= ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\r\nSet-Cookie: evil=1",
        "/\nLocation: https://evil.example",
        "/\r",
        "/\t/evil.example",
        "/\x0b/evil.example",
        "/ /evil.example",
        "/\u3000/evil.example",
        "/\u200b/evil.example",
        "/%09/evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "\t//evil.example",
        "javascript:alert(1)",
    ],
)
def test_safe_next_refuses_anything_a_browser_could_read_as_another_site(target: str) -> None:
    assert safe_next(target) == "/"
    assert safe_next(target, "/staff/") == "/staff/"


@pytest.mark.parametrize("target", ["/", "/questions/A", "/staff/queue?outcome=URGENT_HELP&after=abc", "/result#top"])
def test_safe_next_keeps_a_path_of_this_site(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: evil=1", "/\t/evil.example", "/%09/evil.example"])
def test_choosing_a_language_never_redirects_off_the_site_or_fails(patient: Patient, target: str) -> None:
    patient.get("/")
    response = patient.post("/language", {"lang": "es", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: evil=1", "/\t/evil.example"])
def test_the_sign_in_page_takes_a_next_with_line_breaks_calmly(patient: Patient, target: str) -> None:
    assert patient.get("/staff/login", query_string={"next": target}).status_code == 200
    response = patient.post("/staff/login", {"username": "nobody.here", "password": "wrong password", "next": target})
    assert response.status_code == 400  # the generic sign-in error, not a 500


# --- Too many fields ----------------------------------------------------------------------


def test_too_many_urlencoded_fields_are_refused(app: Flask, patient: Patient) -> None:
    patient.start()
    patient.get("/questions/C")
    response = patient.post("/questions/C", {"sites": ["face"] * 2000})  # urlencoded, as browsers send forms
    assert response.status_code == 413
    fields = {f"field{number}": "x" for number in range(app.config["MAX_FORM_PARTS"])}
    assert patient.post("/language", {"lang": "es", "next": "/", **fields}).status_code == 413
    assert patient.post("/language", {"lang": "es", "next": "/"}).status_code == 302


# --- Names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Ann\u202eecilA",  # RIGHT-TO-LEFT OVERRIDE: shows as "AliceennA"
        "\u2067Bob\u2069",  # RIGHT-TO-LEFT ISOLATE ... POP DIRECTIONAL ISOLATE
        "Eve\u200e",  # LEFT-TO-RIGHT MARK
        "Zoë\u0007",  # BELL
        "Ma\u00adry",  # SOFT HYPHEN (invisible)
        "Tom\ufeff",  # ZERO WIDTH NO-BREAK SPACE
    ],
)
def test_a_patient_name_with_invisible_or_reordering_characters_is_refused(app: Flask, staff: Staff, name: str) -> None:
    response = post_intake(staff("nurse"), INTAKE, {**SUBJECT, "subject_name": name})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Name must only include letters, spaces and punctuation" in html
    with db_of(app).read() as session:
        assert session.scalars(select(models.Screening)).all() == []


@pytest.mark.parametrize(
    "name", ["Zoë Ångström-O'Brien", "علي", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "李小龍"]
)
def test_names_in_any_script_are_kept_as_typed(app: Flask, staff: Staff, name: str) -> None:
    screening_id = screening_id_of(post_intake(staff("nurse"), INTAKE, {**SUBJECT, "subject_name": name}))
    with db_of(app).read() as session:
        screening = session.get(models.Screening, screening_id)
        assert screening is not None
        assert screening.subject_name == name


def test_an_mrn_with_invisible_characters_is_refused(staff: Staff) -> None:
    response = post_intake(staff("nurse"), INTAKE, {**SUBJECT, "subject_mrn": "MRN\u202e42"})
    assert response.status_code == 400
    assert "MRN must only include letters, numbers and punctuation" in response.get_data(as_text=True)


# --- The alerts page is audited -----------------------------------------------------------


def test_looking_at_the_urgent_alerts_is_audited(app: Flask, staff: Staff) -> None:
    urgent = {**ADULT, "E": {**ADULT["E"], "phq9_q9": "1", "suicide_now": "no"}}
    person = Patient(app.test_client())
    person.start()
    for section, answers in urgent.items():
        if person.answer(section, answers).status_code == 200:
            person.answer(section, answers)
    with db_of(app).read() as session:
        alert_id = session.scalars(select(models.StaffAlert.id)).one()
    nurse = staff("nurse")
    assert nurse.get("/staff/alerts").status_code == 200
    with db_of(app).read() as session:
        event = session.scalars(select(models.AuditEvent).where(models.AuditEvent.action == "alerts.view")).one()
    assert (event.actor, event.object_type, event.outcome) == (nurse.username, "staff_alert", "success")
    assert event.detail["open"] == [alert_id]
    assert event.detail["acknowledged"] == []


# --- The JSON API -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"answers": {"age_years": 22, "age_years": 14}}', "age_years"),
        ('{"answers": {"age_years": 22}, "answers": {"age_years": 14}}', "answers"),
        (
            '{"answers": {"completed_by": "self"}, "config": {"jurisdiction": "US", "jurisdiction": "UK"}}',
            "jurisdiction",
        ),
        ('{"answers": {"sites": ["face"], "x": {"a": 1, "a": 2}}}', "a"),
    ],
)
def test_the_api_refuses_a_key_given_twice_and_names_it(client: Any, body: str, key: str) -> None:
    response = client.post("/api/v1/evaluate", data=body, content_type="application/json")
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert len(errors) == 1
    assert errors[0]["field"] == "input"
    assert f'"{key}"' in errors[0]["message"]
    assert "twice" in errors[0]["message"]


def test_the_api_still_reads_keys_that_differ(client: Any) -> None:
    body = '{"answers": {"completed_by": "self", "age_years": 22}, "id": "case-1", "expected": {"id": 2}}'
    response = client.post("/api/v1/evaluate", data=body, content_type="application/json")
    assert response.status_code == 200
