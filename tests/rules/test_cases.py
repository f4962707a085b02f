"""Every worked example of cases.json gives its expected outcome, warnings and clinician notes."""

from __future__ import annotations

from typing import Any

import pytest

from screener.rules import Outcome

from .answersets import CASES, run


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_worked_case(case: dict[str, Any]) -> None:
    decision = run(case["answers"], case.get("config"))
    expected = case["expected"]
    assert decision.outcome.value == expected["outcome"]
    assert sorted(w.id for w in decision.warnings) == sorted(expected["warnings"])
    assert sorted(n.id for n in decision.clinician_notes) == sorted(expected["clinician_notes"])


def test_cases_cover_every_outcome() -> None:
    outcomes = {case["expected"]["outcome"] for case in CASES}
    assert outcomes == {outcome.value for outcome in Outcome}


def test_cases_file_matches_the_shared_specification() -> None:
    """tests/rules/cases.json is a copy; when ../shared is beside the repo it must not drift."""
    from .answersets import CASES_FILE

    shared = CASES_FILE.parents[3] / "shared" / "clinical" / "cases.json"
    if not shared.exists():
        pytest.skip(f"no shared specification beside the repository ({shared})")
    assert shared.read_bytes() == CASES_FILE.read_bytes()
