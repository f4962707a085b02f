"""The JSON API, through the Flask test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from screener.rules import QUESTIONS, RULES, RULESET_VERSION, Jurisdiction
from tests.rules.answersets import CASES, answers_with


def catalogue_texts(jurisdiction: str) -> tuple[dict[str, str], dict[str, str]]:
    """Each warning's text in ``jurisdiction`` and each note's text, by ID, from the catalogue."""
    shown = Jurisdiction(jurisdiction)
    warnings = {rule.warning.id: rule.warning.wording.for_jurisdiction(shown) for rule in RULES if rule.warning}
    notes = {rule.note.id: rule.note.text for rule in RULES if rule.note}
    return warnings, notes


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_evaluate_gives_each_worked_case(client: FlaskClient, case: dict[str, Any]) -> None:
    response = client.post("/api/v1/evaluate", json=case)
    assert response.status_code == 200
    body = response.get_json()
    expected = case["expected"]
    assert body["outcome"] == expected["outcome"]
    assert sorted(w["id"] for w in body["warnings"]) == sorted(expected["warnings"])
    assert sorted(n["id"] for n in body["clinician_notes"]) == sorted(expected["clinician_notes"])
    assert body["review_flags"] == sorted(expected["review_flags"])
    assert body["priority"] is expected["priority"]
    warning_texts, note_texts = catalogue_texts(case["config"]["jurisdiction"])
    assert {w["id"]: w["text"] for w in body["warnings"]} == {w: warning_texts[w] for w in expected["warnings"]}
    assert {n["id"]: n["text"] for n in body["clinician_notes"]} == {
        n: note_texts[n] for n in expected["clinician_notes"]
    }
    assert body["ruleset_version"] == RULESET_VERSION
    assert response.headers["Cache-Control"] == "no-store"


UK_CLINIC = {"JURISDICTION": "UK"}
UK_BIRTH_WORDING = "Pregnancy Prevention Programme"
US_BIRTH_WORDING = "iPLEDGE"


def warning_text(body: dict[str, Any], warning_id: str) -> str:
    return next(str(w["text"]) for w in body["warnings"] if w["id"] == warning_id)


def note_ids(body: dict[str, Any]) -> set[str]:
    return {n["id"] for n in body["clinician_notes"]}


@pytest.mark.parametrize("app_settings", [UK_CLINIC])
def test_without_config_the_clinics_own_settings_apply(client: FlaskClient) -> None:
    response = client.post("/api/v1/evaluate", json={"answers": answers_with()})
    assert response.status_code == 200
    body = response.get_json()
    assert UK_BIRTH_WORDING in warning_text(body, "W-GEN-BIRTH")
    assert "C-UK-MHSF" in note_ids(body)
    warning_texts, note_texts = catalogue_texts("UK")
    assert all(w["text"] == warning_texts[w["id"]] for w in body["warnings"])
    assert all(n["text"] == note_texts[n["id"]] for n in body["clinician_notes"])


@pytest.mark.parametrize("app_settings", [UK_CLINIC])
def test_a_uk_clinic_request_may_ask_for_us_wording(client: FlaskClient) -> None:
    body = client.post(
        "/api/v1/evaluate", json={"answers": answers_with(), "config": {"jurisdiction": "US"}}
    ).get_json()
    assert US_BIRTH_WORDING in warning_text(body, "W-GEN-BIRTH")
    assert UK_BIRTH_WORDING not in warning_text(body, "W-GEN-BIRTH")
    assert not any(note.startswith("C-UK-") for note in note_ids(body))


def test_a_us_clinic_gives_us_wording_unless_the_request_asks_for_uk(client: FlaskClient) -> None:
    us = client.post("/api/v1/evaluate", json={"answers": answers_with()}).get_json()
    assert US_BIRTH_WORDING in warning_text(us, "W-GEN-BIRTH")
    assert "C-UK-MHSF" not in note_ids(us)
    uk = client.post("/api/v1/evaluate", json={"answers": answers_with(), "config": {"jurisdiction": "UK"}}).get_json()
    assert UK_BIRTH_WORDING in warning_text(uk, "W-GEN-BIRTH")
    assert "C-UK-MHSF" in note_ids(uk)


@pytest.mark.parametrize("app_settings", [{**UK_CLINIC, "PHQ2_CUTOFF": 2}])
def test_a_request_overrides_only_the_settings_it_sends(client: FlaskClient) -> None:
    """PHQ-2 = 2 reaches this clinic's cutoff, so items 3-8 are asked, and their absence needs review."""
    answers = answers_with(phq9_q1=1, phq9_q2=1)
    body = client.post("/api/v1/evaluate", json={"answers": answers, "config": {"jurisdiction": "US"}}).get_json()
    assert US_BIRTH_WORDING in warning_text(body, "W-GEN-BIRTH")
    assert body["outcome"] == "CLINICIAN_REVIEW"
    assert body["review_flags"] == ["R-R14"]
    config = {"jurisdiction": "US", "phq2_cutoff": 3}
    body = client.post("/api/v1/evaluate", json={"answers": answers, "config": config}).get_json()
    assert body["outcome"] == "DISCUSSION_APPROPRIATE"
    assert body["review_flags"] == []


@pytest.mark.parametrize("app_settings", [UK_CLINIC])
def test_invalid_config_still_gets_400_naming_each_field(client: FlaskClient) -> None:
    config = {"jurisdiction": "FR", "phq2_cutoff": 9, "colour": "blue"}
    response = client.post("/api/v1/evaluate", json={"answers": answers_with(), "config": config})
    assert response.status_code == 400
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"config.jurisdiction", "config.phq2_cutoff", "config.colour"}


def test_invalid_answers_get_400_naming_each_field(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/evaluate", json={"answers": answers_with(age_years=-3, allergies=["none", "soy"], colour="red")}
    )
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert {e["field"] for e in errors} == {"age_years", "allergies", "colour"}
    assert all(e["message"] for e in errors)


@pytest.mark.parametrize(
    "body",
    [b'{"answers": {', b"[]", b'"text"', b"\xff\xfe\x00", b'{"answers": {"age_years": Infinity}}', b"[" * 5000],
)
def test_malformed_json_gets_400(client: FlaskClient, body: bytes) -> None:
    response = client.post("/api/v1/evaluate", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "input"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_gets_415(client: FlaskClient, content_type: str | None) -> None:
    response = client.post("/api/v1/evaluate", data='{"answers": {}}', content_type=content_type)
    assert response.status_code == 415
    assert response.get_json()["errors"][0]["field"] == "request"


def test_a_body_above_the_size_cap_gets_413(client: FlaskClient) -> None:
    big = json.dumps({"answers": {}, "padding": "x" * 70_000})
    response = client.post("/api/v1/evaluate", data=big, content_type="application/json")
    assert response.status_code == 413
    assert "errors" in response.get_json()


def test_evaluate_is_post_only(client: FlaskClient) -> None:
    assert client.get("/api/v1/evaluate").status_code == 405


def test_questionnaire_lists_every_question_with_codes_and_enable_conditions(client: FlaskClient) -> None:
    response = client.get("/api/v1/questionnaire")
    assert response.status_code == 200
    sections = response.get_json()["sections"]
    assert [s["id"] for s in sections] == ["A", "B", "C", "D", "E", "F", "G", "H", "N"]
    questions = {q["id"]: q for s in sections for q in s["questions"]}
    assert list(questions) == [q.id for q in QUESTIONS]
    pregnant = questions["pregnant_now"]
    assert [o["code"] for o in pregnant["options"]] == ["yes", "no", "not_sure"]
    assert pregnant["enable_when"]["name"] == "cap"
    assert pregnant["enable_when"]["depends_on"] == ["age_years", "can_get_pregnant"]
    assert pregnant["required"] is True
    assert questions["phq9_q9"]["options"][3] == {"code": 3, "label": "Nearly every day", "hint": None}
    assert questions["age_years"] | {"minimum": 0, "maximum": 120} == questions["age_years"]
    assert sections[-1]["staff_only"] is True


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "ruleset_version": RULESET_VERSION}


def test_the_start_page_says_what_the_service_is(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"isotretinoin" in response.data.lower()
    assert b"does not decide your treatment" in response.data
