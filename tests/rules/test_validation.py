"""Invalid input is an error naming each field; missing and disabled answers are not errors."""

from __future__ import annotations

from typing import Any

import pytest

from screener.rules import (
    ClinicConfig,
    InvalidInput,
    Jurisdiction,
    asked_questions,
    enabled_questions,
    parse_answers,
    parse_config,
    parse_request,
)

from .answersets import answers_with


def problems(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_request(raw)
    return {error.field: error.message for error in caught.value.errors}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("no_such_question", "yes", "is not a question in this questionnaire"),
        ("breastfeeding", "maybe", "must be one of: yes, no"),
        ("age_years", True, "must be a whole number from 0 to 120"),  # a boolean is not a number
        ("age_years", "22", "must be a whole number from 0 to 120"),  # wrong type
        ("age_years", 12.5, "must be a whole number from 0 to 120"),  # not whole
        ("age_years", 121, "must be a whole number from 0 to 120"),  # out of range
        ("age_years", -1, "must be a whole number from 0 to 120"),
        ("phq9_q9", 4, "must be a whole number from 0 to 3"),
        ("allergies", ["none", "soy"], '"none" cannot be combined with another code'),
        ("allergies", ["soy", "soy"], "lists a code more than once"),
        ("allergies", "soy", "must be a non-empty list of codes from"),  # wrong shape
        ("allergies", [], "must be a non-empty list of codes from"),
        ("allergies", ["dust"], "'dust' not allowed"),
        ("allergies", [1], "1 not allowed"),
        ("self_severity", ["severe"], "must be one of"),
        ("self_severity", None, "must be one of"),
    ],
)
def test_each_kind_of_bad_answer_names_its_field(field: str, value: Any, message: str) -> None:
    found = problems({"answers": answers_with(**{field: value})})
    assert list(found) == [field]
    assert message in found[field]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {"answers": {"age_years": 200, "ibd": "perhaps", "shoe_size": 9}, "config": {"jurisdiction": "FR"}}
    )
    assert set(found) == {"age_years", "ibd", "shoe_size", "config.jurisdiction"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "input"),
        ("answers", "input"),
        ({}, "answers"),
        ({"answers": []}, "answers"),
        ({"answers": {}, "config": "UK"}, "config"),
        ({"answers": {}, "config": {"jurisdiction": "uk"}}, "config.jurisdiction"),
        ({"answers": {}, "config": {"phq2_cutoff": 7}}, "config.phq2_cutoff"),
        ({"answers": {}, "config": {"phq9_review_cutoff": True}}, "config.phq9_review_cutoff"),
        ({"answers": {}, "config": {"phq2_cutoff": None}}, "config.phq2_cutoff"),
        ({"answers": {}, "config": {"uk_under18_second_prescriber": "yes"}}, "config.uk_under18_second_prescriber"),
        ({"answers": {}, "config": {"tg_review_threshold_mg_dl": -5}}, "config.tg_review_threshold_mg_dl"),
        ({"answers": {}, "config": {"colour": "blue"}}, "config.colour"),
    ],
)
def test_bad_shapes_and_configuration_name_the_field(raw: Any, field: str) -> None:
    assert field in problems(raw)


def test_missing_answers_are_allowed() -> None:
    answers, _ = parse_request({"answers": {}})
    assert answers.values == {}


def test_other_top_level_keys_are_ignored() -> None:
    answers, config = parse_request({"id": "TC99", "expected": {}, "scenario": "x", "answers": {"age_years": 30}})
    assert answers.values == {"age_years": 30}
    assert config == ClinicConfig()


def test_configuration_defaults_and_values() -> None:
    assert parse_config(None) == ClinicConfig(Jurisdiction.US, 3, 10, False, None)
    config = parse_config(
        {
            "jurisdiction": "UK",
            "phq2_cutoff": 2,
            "phq9_review_cutoff": 15,
            "uk_under18_second_prescriber": True,
            "tg_review_threshold_mg_dl": 500,
        }
    )
    assert config == ClinicConfig(Jurisdiction.UK, 2, 15, True, 500)


def test_answers_to_disabled_questions_are_discarded_not_errors() -> None:
    answers = parse_answers(answers_with(pregnant_now="yes", suicide_now="yes", phq9_q3=3), ClinicConfig())
    assert set(answers.discarded) == {"pregnant_now", "suicide_now", "phq9_q3"}
    for qid in answers.discarded:
        assert answers.get(qid) is None


def test_under_12_keeps_section_a_and_the_urgent_answers_only() -> None:
    """The age gate discards everything after section A except item 9 and fulminans (rules.md BT7)."""
    answers = parse_answers(answers_with(age_years=11), ClinicConfig())
    assert set(answers.values) == {"completed_by", "age_years", "phq9_q9", "fulminans_flags"}
    urgent = parse_answers(answers_with(age_years=11, phq9_q9=1, suicide_now="yes"), ClinicConfig())
    assert urgent.get("suicide_now") == "yes"
    assert "phq9_q1" in urgent.discarded


def test_under_12_asks_only_section_a_but_staff_may_enter_urgent_answers() -> None:
    young = answers_with(age_years=11, phq9_q9=1)
    assert {q.section for q in asked_questions(young, ClinicConfig())} == {"A"}
    entered = {q.id for q in enabled_questions(young, ClinicConfig()) if q.section != "A"}
    assert entered == {"phq9_q9", "suicide_now", "fulminans_flags"}


def test_the_phq2_cutoff_decides_whether_items_3_to_8_are_kept() -> None:
    raw = answers_with(phq9_q1=1, phq9_q2=1, phq9_q3=2)
    assert parse_answers(raw, ClinicConfig()).get("phq9_q3") is None
    assert parse_answers(raw, ClinicConfig(phq2_cutoff=2)).get("phq9_q3") == 2


def test_pick_all_answers_are_kept_in_catalogue_order() -> None:
    answers = parse_answers(answers_with(sites=["back", "face"]), ClinicConfig())
    assert answers.get("sites") == ("face", "back")


UK_CLINIC = ClinicConfig(Jurisdiction.UK, phq2_cutoff=2, phq9_review_cutoff=15, tg_review_threshold_mg_dl=500)


@pytest.mark.parametrize("raw", [None, {}])
def test_without_config_keys_the_base_configuration_applies(raw: Any) -> None:
    assert parse_config(raw, UK_CLINIC) == UK_CLINIC
    assert parse_request({"answers": {}, "config": raw}, UK_CLINIC)[1] == UK_CLINIC
    assert parse_request({"answers": {}}, UK_CLINIC)[1] == UK_CLINIC


def test_each_key_sent_overrides_only_that_setting_of_the_base() -> None:
    assert parse_config({"jurisdiction": "US"}, UK_CLINIC) == ClinicConfig(Jurisdiction.US, 2, 15, False, 500)
    assert parse_config({"tg_review_threshold_mg_dl": None}, UK_CLINIC) == ClinicConfig(Jurisdiction.UK, 2, 15)
    _, config = parse_request({"answers": {}, "config": {"phq2_cutoff": 3, "jurisdiction": "US"}}, UK_CLINIC)
    assert config == ClinicConfig(Jurisdiction.US, 3, 15, False, 500)


def test_the_base_is_the_rules_md_default_when_none_is_given() -> None:
    assert parse_config({"phq2_cutoff": 2}) == ClinicConfig(phq2_cutoff=2)
    assert parse_request({"answers": {}})[1] == ClinicConfig()


def test_the_base_phq2_cutoff_decides_which_answers_are_kept() -> None:
    raw = {"answers": answers_with(phq9_q1=1, phq9_q2=1, phq9_q3=2)}
    assert parse_request(raw, UK_CLINIC)[0].get("phq9_q3") == 2
    assert parse_request({**raw, "config": {"phq2_cutoff": 3}}, UK_CLINIC)[0].get("phq9_q3") is None


def test_invalid_keys_are_still_errors_with_a_base() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_request({"answers": {"age_years": 200}, "config": {"jurisdiction": "FR", "colour": "x"}}, UK_CLINIC)
    assert {error.field for error in caught.value.errors} == {"age_years", "config.jurisdiction", "config.colour"}
