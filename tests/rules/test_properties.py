"""Invariants over the whole valid answer space (design.md section 7, rules.md section 9)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.rules import (
    CURRENT_RULESET,
    QUESTIONS,
    ClinicConfig,
    Jurisdiction,
    Kind,
    Outcome,
    Question,
    Severity,
    enabled_answers,
    evaluate,
    parse_answers,
)

from .answersets import UNIVERSAL_WARNINGS


def answer_values(question: Question) -> st.SearchStrategy[Any]:
    if question.kind is Kind.INTEGER:
        assert question.minimum is not None
        assert question.maximum is not None
        return st.integers(question.minimum, question.maximum)
    if question.kind is Kind.CHOICE:
        return st.sampled_from(question.codes)
    others = [code for code in question.codes if code != "none"]
    some = st.lists(st.sampled_from(others), min_size=1, unique=True)
    return some | st.just(["none"]) if "none" in question.codes else some


@st.composite
def raw_answers(draw: st.DrawFn) -> dict[str, Any]:
    """Any subset of questions with any valid answer, enabled or not."""
    answers: dict[str, Any] = {}
    for question in QUESTIONS:
        if draw(st.booleans()):
            answers[question.id] = draw(answer_values(question))
    return answers


configs = st.builds(
    ClinicConfig,
    jurisdiction=st.sampled_from(Jurisdiction),
    phq2_cutoff=st.integers(0, 6),
    phq9_review_cutoff=st.integers(0, 27),
    uk_under18_second_prescriber=st.booleans(),
    tg_review_threshold_mg_dl=st.none() | st.integers(0, 10000),
)

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_exactly_one_outcome_and_a_consistent_underlying_outcome(raw: dict[str, Any], config: ClinicConfig) -> None:
    decision = evaluate(parse_answers(raw, config), config)
    assert isinstance(decision.outcome, Outcome)
    assert decision.underlying_outcome is not Outcome.URGENT_HELP
    if decision.outcome is not Outcome.URGENT_HELP:
        assert decision.underlying_outcome is decision.outcome
    assert decision.ruleset_version == CURRENT_RULESET.version
    assert not decision.failed


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_pregnant_or_planning_never_gives_discussion_appropriate(raw: dict[str, Any], config: ClinicConfig) -> None:
    answers = parse_answers(raw, config)
    decision = evaluate(answers, config)
    pregnant_or_planning = answers.get("pregnant_now") == "yes" or answers.get("planning_pregnancy_6mo") == "yes"
    if pregnant_or_planning:
        assert decision.underlying_outcome is Outcome.NOT_APPROPRIATE_NOW
        assert decision.outcome is not Outcome.DISCUSSION_APPROPRIATE


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_item_9_positive_always_gives_urgent_help(raw: dict[str, Any], config: ClinicConfig) -> None:
    answers = parse_answers(raw, config)
    decision = evaluate(answers, config)
    q9 = answers.get("phq9_q9")
    if isinstance(q9, int) and q9 >= 1:
        assert decision.outcome is Outcome.URGENT_HELP
        assert decision.alerts_staff


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_jurisdiction_never_changes_the_outcome(raw: dict[str, Any], config: ClinicConfig) -> None:
    us, uk = replace(config, jurisdiction=Jurisdiction.US), replace(config, jurisdiction=Jurisdiction.UK)
    in_us, in_uk = evaluate(parse_answers(raw, us), us), evaluate(parse_answers(raw, uk), uk)
    assert (in_us.outcome, in_us.underlying_outcome) == (in_uk.outcome, in_uk.underlying_outcome)
    assert {w.id for w in in_us.warnings} == {w.id for w in in_uk.warnings}


@PROPERTY_SETTINGS
@given(raw_answers(), raw_answers(), configs)
def test_answers_to_disabled_questions_never_change_the_result(
    raw: dict[str, Any], extra: dict[str, Any], config: ClinicConfig
) -> None:
    answers = parse_answers(raw, config)
    kept, _ = enabled_answers(answers.values, config)
    # Add answers only for questions that are disabled under the current answers.
    disabled_extra = {
        qid: value
        for qid, value in extra.items()
        if qid not in kept and not _enabled(qid, {**kept, qid: value}, config)
    }
    widened = parse_answers({**raw, **disabled_extra}, config)
    assert widened.values == answers.values
    assert evaluate(widened, config) == evaluate(answers, config)


def _enabled(qid: str, answers: dict[str, Any], config: ClinicConfig) -> bool:
    kept, _ = enabled_answers(answers, config)
    return qid in kept


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_evaluation_is_deterministic(raw: dict[str, Any], config: ClinicConfig) -> None:
    assert evaluate(parse_answers(raw, config), config) == evaluate(parse_answers(dict(raw), config), config)


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_universal_warnings_always_shown_and_ordered_by_severity(raw: dict[str, Any], config: ClinicConfig) -> None:
    decision = evaluate(parse_answers(raw, config), config)
    ids = [w.id for w in decision.warnings]
    assert set(ids) >= UNIVERSAL_WARNINGS
    assert len(ids) == len(set(ids))
    order = [list(Severity).index(w.severity) for w in decision.warnings]
    assert order == sorted(order)
    if decision.outcome is Outcome.URGENT_HELP:
        assert decision.warnings[0].id in {"W-CRISIS-NOW", "W-CRISIS-SOON", "W-FULMINANS"}


@PROPERTY_SETTINGS
@given(raw_answers(), configs)
def test_discussion_appropriate_only_with_a_signal_and_no_blocking_rule(
    raw: dict[str, Any], config: ClinicConfig
) -> None:
    decision = evaluate(parse_answers(raw, config), config)
    if decision.outcome is Outcome.DISCUSSION_APPROPRIATE:
        blocking = [r for r in CURRENT_RULESET.rules if r.id in decision.fired_rules and r.outcome is not None]
        assert blocking == []


def test_no_patient_or_staff_text_says_approved_or_eligible() -> None:
    texts = [q.text for q in QUESTIONS] + [o.label for q in QUESTIONS for o in q.options]
    for rule in CURRENT_RULESET.rules:
        if rule.warning:
            texts += [rule.warning.wording.us, rule.warning.wording.uk]
    texts += [outcome.label for outcome in Outcome]
    for text in texts:
        lowered = text.lower()
        assert "approved for you" not in lowered
        assert "you are eligible" not in lowered
        assert "eligible to take" not in lowered
