"""The JSON API, through the Flask test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from screener.rules import QUESTIONS
from tests.rules.answersets import CASES, answers_with


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_evaluate_gives_each_worked_case(client: FlaskClient, case: dict[str, Any]) -> None:
    response = client.post("/api/v1/evaluate", json=case)
    assert response.status_code == 200
    body = response.get_json()
    assert body["outcome"] == case["expected"]["outcome"]
    assert sorted(w["id"] for w in body["warnings"]) == sorted(case["expected"]["warnings"])
    assert sorted(n["id"] for n in body["clinician_notes"]) == sorted(case["expected"]["clinician_notes"])
    assert response.headers["Cache-Control"] == "no-store"


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
    assert response.get_json() == {"status": "ok", "ruleset_version": "2026.11-draft.1"}


def test_the_start_page_says_what_the_service_is(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"isotretinoin" in response.data.lower()
    assert b"does not decide your treatment" in response.data
