"""Answer sets shared by the rule tests: one clean baseline, varied one field at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from screener.rules import ClinicConfig, Decision, evaluate, parse_request

CASES_FILE = Path(__file__).with_name("cases.json")
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]

#: An adult who cannot get pregnant, with severe nodular acne that antibiotics did not clear,
#: and "no" to every health question: DISCUSSION_APPROPRIATE with only the universal warnings.
BASELINE: dict[str, Any] = {
    "completed_by": "self",
    "age_years": 22,
    "can_get_pregnant": "no",
    "breastfeeding": "no",
    "self_severity": "severe",
    "nodules": "three_or_more",
    "inflammatory_count": "11_to_34",
    "sites": ["face", "back"],
    "scarring": "none",
    "dark_marks_persistent": "no",
    "fulminans_flags": "no",
    "impact": "a_little",
    "topical_rx_12wk": "yes",
    "oral_abx": "finished_not_helped",
    "completed_courses": "one",
    "prior_isotretinoin": "never",
    "phq9_q1": 0,
    "phq9_q2": 0,
    "phq9_q9": 0,
    "mh_history": ["none"],
    "mh_family_history": "no",
    "liver_disease": "no",
    "high_lipids": "no",
    "pancreatitis_history": "no",
    "ibd": "no",
    "diabetes": "no",
    "bone_condition": "no",
    "iih_history": "no",
    "hearing_problem": "no",
    "vision_night_or_contacts": "no",
    "allergies": ["none"],
    "tetracycline_current": "no",
    "vitamin_a_supplement": "no",
    "other_oral_retinoid": "no",
    "systemic_steroid_long_term": "no",
    "anti_seizure_phenytoin": "no",
    "st_johns_wort": "no",
    "blood_donation_plan": "no",
}

#: The baseline for someone who could get pregnant and follows every safety rule.
CAN_GET_PREGNANT: dict[str, Any] = {
    "can_get_pregnant": "yes",
    "pregnant_now": "no",
    "planning_pregnancy_6mo": "no",
    "contraception_methods": ["iud", "condoms"],
    "willing_pregnancy_prevention": "yes",
}

#: Mild acne, nothing tried, no scars, little impact: no indication signal.
MILD_UNTREATED: dict[str, Any] = {
    "self_severity": "mild",
    "nodules": "none",
    "inflammatory_count": "up_to_10",
    "oral_abx": "never",
    "completed_courses": "none",
}

UNIVERSAL_WARNINGS = frozenset(
    {"W-GEN-NOTRX", "W-GEN-BIRTH", "W-GEN-MOOD", "W-GEN-SIDE", "W-GEN-SHARE", "W-GEN-BLOOD", "W-GEN-STOP", "W-SEXUAL"}
)

DROP = object()  # an override value that removes the answer


def answers_with(**overrides: Any) -> dict[str, Any]:
    answers = dict(BASELINE)
    for qid, value in overrides.items():
        if value is DROP:
            answers.pop(qid, None)
        else:
            answers[qid] = value
    return answers


def run(answers: dict[str, Any], config: dict[str, Any] | None = None) -> Decision:
    parsed, clinic = parse_request({"answers": answers, "config": config or {}})
    return evaluate(parsed, clinic)


def default_config() -> ClinicConfig:
    return ClinicConfig()
