"""If evaluation raises internally, the result needs a clinician: never DISCUSSION_APPROPRIATE."""

from __future__ import annotations

from typing import Any

import pytest

from screener.rules import CURRENT_RULESET, ERROR_RULE, Outcome, Rule, Ruleset, evaluate, parse_request
from screener.rules.catalogue import OUTCOME_RANK, Condition, Family
from screener.rules.derived import Facts

from .answersets import CASES, UNIVERSAL_WARNINGS, answers_with


def _explode(_facts: Facts) -> bool:
    raise ZeroDivisionError("injected fault")


FAILING_RULE = Rule("R-TEST", "Always raises", Family.FLAG, Condition("explode", "raises", _explode))


def with_failing_rule() -> Ruleset:
    return Ruleset(CURRENT_RULESET.version, (*CURRENT_RULESET.rules, FAILING_RULE))


def _evaluate(raw: dict[str, Any], ruleset: Ruleset) -> Any:
    answers, config = parse_request({"answers": raw})
    return evaluate(answers, config, ruleset)


def test_a_failing_rule_turns_discussion_appropriate_into_clinician_review() -> None:
    assert _evaluate(answers_with(), CURRENT_RULESET).outcome is Outcome.DISCUSSION_APPROPRIATE
    decision = _evaluate(answers_with(), with_failing_rule())
    assert decision.outcome is Outcome.CLINICIAN_REVIEW
    assert decision.failed
    assert ERROR_RULE.id in decision.fired_rules
    assert decision.warnings[0].id == "W-ERROR"
    assert {w.id for w in decision.warnings} >= UNIVERSAL_WARNINGS


def test_a_failing_rule_never_hides_urgent_help_or_a_firm_barrier() -> None:
    urgent = _evaluate(answers_with(phq9_q9=2, suicide_now="yes"), with_failing_rule())
    assert urgent.outcome is Outcome.URGENT_HELP
    assert urgent.underlying_outcome is Outcome.CLINICIAN_REVIEW
    barrier = _evaluate(answers_with(breastfeeding="yes"), with_failing_rule())
    assert barrier.outcome is Outcome.NOT_APPROPRIATE_NOW


def test_a_failing_rule_does_not_let_other_treatments_first_stand() -> None:
    decision = _evaluate(answers_with(self_severity="mild", nodules="none", oral_abx="never"), with_failing_rule())
    assert decision.outcome is Outcome.CLINICIAN_REVIEW


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_no_worked_case_is_discussion_appropriate_when_a_rule_fails(case: dict[str, Any]) -> None:
    answers, config = parse_request(case)
    decision = evaluate(answers, config, with_failing_rule())
    assert decision.outcome is not Outcome.DISCUSSION_APPROPRIATE
    assert OUTCOME_RANK[decision.outcome] >= OUTCOME_RANK[Outcome.CLINICIAN_REVIEW]


def test_a_fault_while_deriving_values_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import screener.rules.engine as engine

    def broken_derive(*_args: object) -> Facts:
        raise KeyError("injected")

    monkeypatch.setattr(engine, "derive", broken_derive)
    decision = _evaluate(answers_with(), CURRENT_RULESET)
    assert decision.outcome is Outcome.CLINICIAN_REVIEW
    assert {w.id for w in decision.warnings} == UNIVERSAL_WARNINGS | {"W-ERROR"}
