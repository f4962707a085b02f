"""The engine's one-pass ``_decide`` (effects looked up in the per-jurisdiction plan) against the plain
interpreter it replaced (issue 12, item 2): the same Decision for the public worked cases and for at
least 10,000 generated answer sets, and for any set of fired rules, with and without a fault."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.rules import (
    CURRENT_RULESET,
    ERROR_RULE,
    OUTCOME_LABELS,
    ClinicConfig,
    Jurisdiction,
    Outcome,
    Rule,
    engine,
)
from screener.rules.catalogue import OUTCOME_RANK, urgent_panels
from screener.rules.derived import derive
from screener.rules.engine import Decision

from .answersets import CASES
from .test_properties import configs, raw_answers

assert OUTCOME_LABELS  # the catalogue is loaded


def plain_decide(fired: list[Rule], failed: bool, ruleset: engine.Ruleset, plan: Any) -> Decision:
    """The interpreter as it was before the plan carried each rule's effects (kept verbatim)."""
    urgent = False
    underlying = Outcome.DISCUSSION_APPROPRIATE
    for rule in fired:
        outcome = rule.outcome
        if outcome is None:
            continue
        if outcome is Outcome.URGENT_HELP:
            urgent = True
        elif OUTCOME_RANK[outcome] > OUTCOME_RANK[underlying]:
            underlying = outcome
    if failed and OUTCOME_RANK[underlying] < OUTCOME_RANK[Outcome.NOT_APPROPRIATE_NOW]:
        underlying = Outcome.CLINICIAN_REVIEW
    shown = sorted(plan.warnings[rule.id] for rule in fired if rule.id in plan.warnings)
    return Decision(
        outcome=Outcome.URGENT_HELP if urgent else underlying,
        underlying_outcome=underlying,
        warnings=tuple(warning for _key, warning in shown),
        clinician_notes=tuple(plan.notes[rule.id] for rule in fired if rule.id in plan.notes),
        fired_rules=tuple(rule.id for rule in fired),
        review_flags=tuple(sorted(rule.id for rule in fired if rule.flags_review)),
        priority=any(rule.sets_priority for rule in fired),
        panels=urgent_panels(rule.id for rule in fired),
        ruleset_version=ruleset.version,
        ruleset_hash=ruleset.hash,
        jurisdiction=plan.jurisdiction,
    )


def fired_rules(answers: dict[str, Any], config: ClinicConfig) -> list[Rule]:
    from screener.rules import parse_answers

    plan = CURRENT_RULESET.plan(config.jurisdiction)
    facts = derive(parse_answers(answers, config), config)
    return [rule for test, rule in plan.steps if test is None or test(facts)]


def assert_same(fired: list[Rule], jurisdiction: Jurisdiction) -> None:
    plan = CURRENT_RULESET.plan(jurisdiction)
    for failed, rules in ((False, fired), (True, [*fired, ERROR_RULE])):
        assert engine._decide(rules, failed, CURRENT_RULESET, plan) == plain_decide(
            rules, failed, CURRENT_RULESET, plan
        )


def test_the_public_cases_decide_the_same() -> None:
    from screener.rules import parse_request

    for case in CASES:
        answers, config = parse_request(case)
        plan = CURRENT_RULESET.plan(config.jurisdiction)
        facts = derive(answers, config)
        fired = [rule for test, rule in plan.steps if test is None or test(facts)]
        assert_same(fired, config.jurisdiction)
        assert engine.evaluate(answers, config) == plain_decide(fired, False, CURRENT_RULESET, plan), case["id"]


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_answers(), configs)
def test_generated_answer_sets_decide_the_same(answers: dict[str, Any], config: ClinicConfig) -> None:
    assert_same(fired_rules(answers, config), config.jurisdiction)


@settings(max_examples=2_000, deadline=None)
@given(st.sampled_from(Jurisdiction), st.data())
def test_any_set_of_fired_rules_decides_the_same(jurisdiction: Jurisdiction, data: st.DataObject) -> None:
    """Combinations that answers rarely reach (several outcomes, urgent with priority ...)."""
    rules = [rule for _test, rule in CURRENT_RULESET.plan(jurisdiction).steps]
    fired = data.draw(st.lists(st.sampled_from(rules), unique_by=lambda rule: rule.id, max_size=25))
    order = {rule.id: position for position, rule in enumerate(rules)}
    assert_same(sorted(fired, key=lambda rule: order[rule.id]), jurisdiction)
