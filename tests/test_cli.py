"""The `screener` command, run as a real subprocess through its console entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from screener.config import CLINIC_SETTINGS
from screener.rules import RULES, RULESET_VERSION, Jurisdiction
from tests.rules.answersets import CASES, answers_with

SCREENER = str(Path(sys.executable).with_name("screener"))
#: This machine's clinic settings are not the tests': each test sets the ones it needs.
CLINIC_VARIABLES = {f"SCREENER_{setting.name}" for setting in CLINIC_SETTINGS}


def screener(
    *args: str, stdin: str | bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    environ = {name: value for name, value in os.environ.items() if name not in CLINIC_VARIABLES} | (env or {})
    return subprocess.run([SCREENER, *args], input=data, capture_output=True, timeout=60, check=False, env=environ)


def catalogue_texts(jurisdiction: str) -> tuple[dict[str, str], dict[str, str]]:
    """Each warning's text in ``jurisdiction`` and each note's text, by ID, from the catalogue."""
    shown = Jurisdiction(jurisdiction)
    warnings = {rule.warning.id: rule.warning.wording.for_jurisdiction(shown) for rule in RULES if rule.warning}
    notes = {rule.note.id: rule.note.text for rule in RULES if rule.note}
    return warnings, notes


def test_every_worked_case_through_jsonl() -> None:
    lines = "\n".join(json.dumps(case) for case in CASES) + "\n"
    result = screener("evaluate", "--jsonl", stdin=lines)
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(outputs) == len(CASES)
    for case, output in zip(CASES, outputs, strict=True):
        expected = case["expected"]
        assert output["outcome"] == expected["outcome"], case["id"]
        assert sorted(w["id"] for w in output["warnings"]) == sorted(expected["warnings"]), case["id"]
        assert sorted(n["id"] for n in output["clinician_notes"]) == sorted(expected["clinician_notes"]), case["id"]
        assert output["review_flags"] == sorted(expected["review_flags"]), case["id"]
        assert output["priority"] is expected["priority"], case["id"]
        warning_texts, note_texts = catalogue_texts(case["config"]["jurisdiction"])
        for warning in output["warnings"]:
            assert warning["text"] == warning_texts[warning["id"]], (case["id"], warning["id"])
        for note in output["clinician_notes"]:
            assert note["text"] == note_texts[note["id"]], (case["id"], note["id"])
        assert output["ruleset_version"] == RULESET_VERSION, case["id"]


UK_CLINIC = {"SCREENER_JURISDICTION": "UK"}
UK_BIRTH_WORDING = "Pregnancy Prevention Programme"
US_BIRTH_WORDING = "iPLEDGE"


def evaluated(document: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    result = screener("evaluate", stdin=json.dumps(document), env=env)
    assert result.returncode == 0, result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def birth_warning(output: dict[str, Any]) -> str:
    return next(str(w["text"]) for w in output["warnings"] if w["id"] == "W-GEN-BIRTH")


def note_ids(output: dict[str, Any]) -> set[str]:
    return {n["id"] for n in output["clinician_notes"]}


def test_without_config_the_clinics_settings_apply() -> None:
    output = evaluated({"answers": answers_with()}, env=UK_CLINIC)
    assert UK_BIRTH_WORDING in birth_warning(output)
    assert "C-UK-MHSF" in note_ids(output)
    warning_texts, note_texts = catalogue_texts("UK")
    assert all(w["text"] == warning_texts[w["id"]] for w in output["warnings"])
    assert all(n["text"] == note_texts[n["id"]] for n in output["clinician_notes"])


def test_jsonl_lines_without_config_get_the_clinics_settings_too() -> None:
    lines = json.dumps({"answers": answers_with()}) + "\n" + json.dumps({"answers": answers_with(), "config": {}})
    result = screener("evaluate", "--jsonl", stdin=lines, env=UK_CLINIC)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.decode().splitlines():
        assert "C-UK-MHSF" in note_ids(json.loads(line))


def test_a_uk_clinic_request_may_ask_for_us_wording() -> None:
    output = evaluated({"answers": answers_with(), "config": {"jurisdiction": "US"}}, env=UK_CLINIC)
    assert US_BIRTH_WORDING in birth_warning(output)
    assert UK_BIRTH_WORDING not in birth_warning(output)
    assert not any(note.startswith("C-UK-") for note in note_ids(output))


def test_a_us_clinic_gives_us_wording_unless_the_request_asks_for_uk() -> None:
    us = evaluated({"answers": answers_with()})
    assert US_BIRTH_WORDING in birth_warning(us)
    assert "C-UK-MHSF" not in note_ids(us)
    uk = evaluated({"answers": answers_with(), "config": {"jurisdiction": "UK"}})
    assert UK_BIRTH_WORDING in birth_warning(uk)
    assert "C-UK-MHSF" in note_ids(uk)


def test_a_request_overrides_only_the_settings_it_sends() -> None:
    """PHQ-2 = 2 reaches this clinic's cutoff, so items 3-8 are asked, and their absence needs review."""
    clinic = {**UK_CLINIC, "SCREENER_PHQ2_CUTOFF": "2"}
    answers = answers_with(phq9_q1=1, phq9_q2=1)
    output = evaluated({"answers": answers, "config": {"jurisdiction": "US"}}, env=clinic)
    assert US_BIRTH_WORDING in birth_warning(output)
    assert output["outcome"] == "CLINICIAN_REVIEW"
    assert output["review_flags"] == ["R-R14"]
    output = evaluated({"answers": answers, "config": {"jurisdiction": "US", "phq2_cutoff": 3}}, env=clinic)
    assert output["outcome"] == "DISCUSSION_APPROPRIATE"
    assert output["review_flags"] == []


def test_an_invalid_clinic_setting_stops_the_command_with_its_name() -> None:
    result = screener("evaluate", stdin=json.dumps({"answers": answers_with()}), env={"SCREENER_JURISDICTION": "FR"})
    assert result.returncode == 1
    assert result.stdout == b""
    assert "SCREENER_JURISDICTION must be one of: US, UK" in result.stderr.decode()


def test_the_command_needs_no_secret_key_in_production() -> None:
    production = {**UK_CLINIC, "SCREENER_ENV": "production", "SCREENER_SECRET_KEY": ""}
    assert "C-UK-MHSF" in note_ids(evaluated({"answers": answers_with()}, env=production))


def test_evaluate_one_object_from_a_file(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["id"] == "TC27")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    result = screener("evaluate", str(path))
    assert result.returncode == 0
    output: dict[str, Any] = json.loads(result.stdout)
    assert set(output) == {
        "outcome",
        "underlying_outcome",
        "warnings",
        "clinician_notes",
        "fired_rules",
        "review_flags",
        "priority",
        "ruleset_version",
        "ruleset_hash",
    }
    assert output["outcome"] == "URGENT_HELP"
    assert output["underlying_outcome"] == "CLINICIAN_REVIEW"
    assert output["warnings"][0]["id"] == "W-CRISIS-NOW"
    assert "Samaritans" in output["warnings"][0]["text"]
    assert output["warnings"][0]["severity"] == "critical"
    assert "R-U01" in output["fired_rules"]
    assert output["ruleset_version"] == RULESET_VERSION
    assert output["ruleset_hash"].startswith("sha256:")


@pytest.mark.parametrize(
    ("stdin", "expected_lines"),
    [
        (json.dumps({"answers": answers_with(age_years=130)}), ["age_years: must be a whole number from 0 to 120"]),
        (
            json.dumps({"answers": {"age_years": True, "ibd": "x"}}),
            ["age_years: must be a whole number from 0 to 120", "ibd: must be one of: yes, no"],
        ),
        (
            json.dumps({"answers": answers_with(), "config": {"jurisdiction": "FR", "phq2_cutoff": 9}}),
            ["config.jurisdiction: must be one of: US, UK", "config.phq2_cutoff: must be a whole number from 0 to 6"],
        ),
        ('{"answers": {"age_years": 30,}', ["input: is not valid JSON (line 1, column 30"]),
        ('{"answers": {"age_years": NaN}}', ["input: is not valid JSON"]),
        ("", ["input: is not valid JSON"]),
        ("[1, 2]", ['input: must be a JSON object with an "answers" object']),
    ],
)
def test_invalid_input_exits_2_with_one_line_per_problem_and_no_output(stdin: str, expected_lines: list[str]) -> None:
    result = screener("evaluate", stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == len(expected_lines)
    for line, expected in zip(lines, expected_lines, strict=True):
        assert line.startswith(expected)


def test_jsonl_keeps_going_past_a_bad_line_and_exits_2() -> None:
    good = json.dumps({"answers": answers_with()})
    lines = f"{good}\nnot json\n{json.dumps({'answers': {'ibd': 'x'}})}\n{good}\n"
    result = screener("evaluate", "--jsonl", stdin=lines)
    assert result.returncode == 2
    outputs = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [("errors" in o) for o in outputs] == [False, True, True, False]
    assert outputs[0]["outcome"] == "DISCUSSION_APPROPRIATE"
    assert outputs[2] == {"errors": [{"field": "ibd", "message": "must be one of: yes, no"}]}
    assert "line 2: input: is not valid JSON" in result.stderr.decode()


def test_rules_prints_the_catalogue_for_review() -> None:
    result = screener("rules")
    assert result.returncode == 0
    text = result.stdout.decode()
    assert f"Ruleset {RULESET_VERSION}  sha256:" in text
    for rule_id in ("R-G01", "R-U01", "R-N06", "R-O02", "R-R14", "R-F04a", "R-C07"):
        assert f"\n{rule_id}  " in text
    assert "When:    cap AND pregnant_now = not_sure" in text
    assert "Sources: S23, S24, S25" in text


def test_a_missing_file_is_a_usage_error() -> None:
    result = screener("evaluate", "/nonexistent/answers.json")
    assert result.returncode == 2
    assert result.stdout == b""
