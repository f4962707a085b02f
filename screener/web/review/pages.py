"""The clinician's view of one screening, assembled from what was stored: the review flags and
priority, the answers (self-report beside examination), the decision as shown, why each rule fired,
versions, reviews and re-evaluations.

Read-only: nothing here recomputes a stored decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from screener.models import Reevaluation, Review, Screening, ScreeningVersion
from screener.rules import (
    CURRENT_RULESET,
    ERROR_RULE,
    QUESTIONS_BY_ID,
    RULES,
    SECTIONS,
    UNSURE_HEALTH_QUESTIONS,
    ClinicConfig,
    InvalidInput,
    Kind,
    Question,
    Rule,
    asked_questions,
    parse_config,
    questions_in,
)
from screener.store import current_version
from screener.store import review as review_store
from screener.web.restricted import Restriction
from screener.web.review.summary import ClinicianSummary, clinician_summary

#: Self-report beside examination (rules.md principle 7): the examination value is the one the rules use.
EXAMINED = (
    ("Severity", "self_severity", "nurse_iga"),
    ("Nodules", "nodules", "nurse_nodule_count"),
    ("Scarring", "scarring", "nurse_scarring"),
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in (*RULES, ERROR_RULE)}


# --- One screening ------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    question: Question
    #: answered, not_answered (asked but blank) or not_asked (not enabled under these answers).
    state: str
    shown: str = ""


@dataclass(frozen=True)
class FiredRule:
    rule_id: str
    #: From the current catalogue; None if the rule is no longer in it.
    rule: Rule | None
    #: R-F14: the questions answered "not sure".
    unsure: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Difference:
    """A re-evaluation beside the decision it re-ran."""

    reevaluation: Reevaluation
    performed_by: str
    original: ScreeningVersion | None
    warnings_added: list[Mapping[str, Any]]
    warnings_removed: list[Mapping[str, Any]]
    notes_added: list[Mapping[str, Any]]
    notes_removed: list[Mapping[str, Any]]
    rules_added: list[str]
    rules_removed: list[str]
    flags_added: list[str] = field(default_factory=list)
    flags_removed: list[str] = field(default_factory=list)

    @property
    def outcome_changed(self) -> bool:
        return self.original is None or self.original.outcome != self.reevaluation.outcome

    @property
    def priority_changed(self) -> bool:
        return self.original is None or self.original.priority != self.reevaluation.priority

    @property
    def unchanged(self) -> bool:
        lists = (self.warnings_added, self.warnings_removed, self.notes_added, self.notes_removed)
        rules = (self.rules_added, self.rules_removed, self.flags_added, self.flags_removed)
        return not self.outcome_changed and not self.priority_changed and not any(lists) and not any(rules)


@dataclass(frozen=True)
class ScreeningPage:
    """Everything the detail and print pages show, read in one transaction."""

    screening: Screening
    version: ScreeningVersion
    #: The version's review flags with their rules (current catalogue), shown first on the page.
    review_flags: list[FiredRule]
    config: ClinicConfig | None
    sections: list[tuple[str, list[AnswerRow]]]
    unknown_answers: list[tuple[str, Any]]
    examined: list[tuple[str, AnswerRow, AnswerRow]]
    fired: list[FiredRule]
    versions: list[ScreeningVersion]
    reviews: list[tuple[Review, str]]
    differences: list[Difference]
    older_ruleset: bool
    hash_differs: bool
    discarded: list[str] = field(default_factory=list)
    #: What a clinician reads first (clinical outcome, age, pregnancy, severity, mood, flags).
    summary: ClinicianSummary | None = None
    #: Whether it is restricted to its care team, and how the person looking reached it.
    restriction: Restriction | None = None


def _as_value(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _shown(question: Question, value: Any) -> str:
    """An answer in the catalogue's words (the code itself when the catalogue no longer knows it)."""
    if isinstance(value, list | tuple):
        return ", ".join(question.label_for(str(code)) for code in value)
    if question.kind is Kind.INTEGER and question.options:
        label = question.label_for(str(value))  # PHQ-9 items: "Not at all"; IGA: "4 - severe"
        return label if label.startswith(str(value)) else f"{value} – {label}"
    if question.kind is Kind.INTEGER:
        return str(value)
    return question.label_for(str(value))


def _stored_config(version: ScreeningVersion) -> ClinicConfig | None:
    try:
        return parse_config(dict(version.config))
    except InvalidInput:
        return None


def _answer_rows(answers: Mapping[str, Any], config: ClinicConfig) -> dict[str, AnswerRow]:
    asked = set(asked_questions({qid: _as_value(value) for qid, value in answers.items()}, config))
    rows = {}
    for question in QUESTIONS_BY_ID.values():
        if question.id in answers:
            rows[question.id] = AnswerRow(question, "answered", _shown(question, answers[question.id]))
        else:
            rows[question.id] = AnswerRow(question, "not_answered" if question in asked else "not_asked")
    return rows


def _difference(reevaluation: Reevaluation, original: ScreeningVersion | None, performed_by: str) -> Difference:
    def added(new: Sequence[Mapping[str, Any]], old: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        old_ids = {item.get("id") for item in old}
        return [item for item in new if item.get("id") not in old_ids]

    before_warnings = original.warnings if original else []
    before_notes = original.clinician_notes if original else []
    before_rules = original.fired_rules if original else []
    before_flags = original.review_flags if original else []
    return Difference(
        reevaluation=reevaluation,
        performed_by=performed_by,
        original=original,
        warnings_added=added(reevaluation.warnings, before_warnings),
        warnings_removed=added(before_warnings, reevaluation.warnings),
        notes_added=added(reevaluation.clinician_notes, before_notes),
        notes_removed=added(before_notes, reevaluation.clinician_notes),
        rules_added=[rule for rule in reevaluation.fired_rules if rule not in before_rules],
        rules_removed=[rule for rule in before_rules if rule not in reevaluation.fired_rules],
        flags_added=[rule for rule in reevaluation.review_flags if rule not in before_flags],
        flags_removed=[rule for rule in before_flags if rule not in reevaluation.review_flags],
    )


def screening_page(db: Session, screening: Screening) -> ScreeningPage:
    version = current_version(db, screening)
    config = _stored_config(version)
    answers = dict(version.answers)
    rows = _answer_rows(answers, config or ClinicConfig())
    sections = [(section.title, [rows[q.id] for q in questions_in(section.id)]) for section in SECTIONS]
    examined = [
        (concept, rows[self_id], rows[exam_id])
        for concept, self_id, exam_id in EXAMINED
        if rows[self_id].state == "answered" and rows[exam_id].state == "answered"
    ]
    unsure = tuple(QUESTIONS_BY_ID[qid] for qid in UNSURE_HEALTH_QUESTIONS if answers.get(qid) == "not_sure")
    fired = [
        FiredRule(rule_id, RULES_BY_ID.get(rule_id), unsure if rule_id == "R-F14" else ())
        for rule_id in version.fired_rules
    ]
    history = review_store.versions(db, screening)
    reviews = review_store.reviews(db, screening)
    reruns = review_store.reevaluations(db, screening)
    names = review_store.staff_names(db, [r.reviewer_id for r in reviews] + [r.performed_by for r in reruns])
    by_number = {v.number: v for v in history}
    return ScreeningPage(
        screening=screening,
        version=version,
        review_flags=[FiredRule(rule_id, RULES_BY_ID.get(rule_id)) for rule_id in version.review_flags],
        config=config,
        sections=sections,
        unknown_answers=[(qid, value) for qid, value in answers.items() if qid not in QUESTIONS_BY_ID],
        examined=examined,
        fired=fired,
        versions=history,
        reviews=[(review, names.get(review.reviewer_id, "unknown")) for review in reviews],
        differences=[
            _difference(rerun, by_number.get(rerun.version_number), names.get(rerun.performed_by, "unknown"))
            for rerun in reruns
        ],
        older_ruleset=version.ruleset_version != CURRENT_RULESET.version,
        hash_differs=version.ruleset_version == CURRENT_RULESET.version
        and version.ruleset_hash != CURRENT_RULESET.hash,
        discarded=[QUESTIONS_BY_ID[q].text if q in QUESTIONS_BY_ID else q for q in version.discarded],
        summary=clinician_summary(
            answers,
            outcome=version.outcome,
            note_ids=[note.get("id", "") for note in version.clinician_notes],
            review_flags=list(version.review_flags),
            priority=version.priority,
        ),
    )
