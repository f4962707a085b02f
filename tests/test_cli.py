"""The `screener` command, run as a real subprocess through its console entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.rules.answersets import CASES, answers_with

SCREENER = str(Path(sys.executable).with_name("screener"))


def screener(*args: str, stdin: str | bytes = b"") -> subprocess.CompletedProcess[bytes]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([SCREENER, *args], input=data, capture_output=True, timeout=60, check=False)


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
        "ruleset_version",
        "ruleset_hash",
    }
    assert output["outcome"] == "URGENT_HELP"
    assert output["underlying_outcome"] == "CLINICIAN_REVIEW"
    assert output["warnings"][0]["id"] == "W-CRISIS-NOW"
    assert "Samaritans" in output["warnings"][0]["text"]
    assert output["warnings"][0]["severity"] == "critical"
    assert "R-U01" in output["fired_rules"]
    assert output["ruleset_version"] == "2026.11-draft.1"
    assert output["ruleset_hash"].startswith("sha256:")


@pytest.mark.parametrize(
    ("stdin", "expected_lines"),
    [
        (json.dumps({"answers": answers_with(age_years=130)}), ["age_years: must be a whole number from 0 to 120"]),
        (
            json.dumps({"answers": {"age_years": True, "ibd": "x"}}),
            ["age_years: must be a whole number from 0 to 120", "ibd: must be one of: yes, no"],
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
    assert "2026.11-draft.1" in text
    for rule_id in ("R-G01", "R-U01", "R-N06", "R-O02", "R-R14", "R-F04a", "R-C07"):
        assert f"\n{rule_id}  " in text
    assert "When:    cap AND pregnant_now = not_sure" in text
    assert "Sources: S23, S24, S25" in text


def test_a_missing_file_is_a_usage_error() -> None:
    result = screener("evaluate", "/nonexistent/answers.json")
    assert result.returncode == 2
    assert result.stdout == b""
