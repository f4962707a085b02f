"""evaluate(answers, config) -> Decision: the outcome by precedence, and every warning fired.

All warnings accumulate; only the outcome uses precedence (rules.md principle 3). The
outcome beneath URGENT_HELP is kept for clinicians. Evaluation fails closed: if any rule
raises, the result needs clinician review and carries an explicit error warning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from .answers import Answers
from .catalogue import (
    CLINICAL_OUTCOME_LABELS,
    ERROR_RULE,
    OUTCOME_LABELS,
    OUTCOME_QUALIFIERS,
    OUTCOME_RANK,
    RULES,
    RULESET_VERSION,
    Outcome,
    Panel,
    Rule,
    Severity,
)
from .catalogue import texts as patient_texts
from .catalogue.base import Family, always
from .clinic import ClinicConfig, Jurisdiction
from .derived import Facts, derive
from .questions import QUESTIONS
from .sources import SOURCES


@dataclass(frozen=True)
class FiredWarning:
    id: str
    severity: Severity
    text: str
    sources: tuple[str, ...]
    rule_id: str


@dataclass(frozen=True)
class FiredNote:
    id: str
    text: str
    sources: tuple[str, ...]
    rule_id: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    #: The outcome the other rules reached; differs from ``outcome`` only under URGENT_HELP.
    underlying_outcome: Outcome
    warnings: tuple[FiredWarning, ...]
    clinician_notes: tuple[FiredNote, ...]
    fired_rules: tuple[str, ...]
    #: Every fired clinician-review rule, whatever the outcome, in ascending ID order (rules.md 9).
    review_flags: tuple[str, ...]
    #: A priority for staff (R-R16): PHQ-9 total of 20 or more with item 9 = 0.
    priority: bool
    #: The urgent contact panels to show, crisis first (rules.md 6.1).
    panels: tuple[Panel, ...]
    ruleset_version: str
    ruleset_hash: str
    jurisdiction: Jurisdiction

    @property
    def alerts_staff(self) -> bool:
        """An urgent rule fired: staff must be alerted for same-day contact."""
        return self.outcome is Outcome.URGENT_HELP

    @property
    def failed(self) -> bool:
        return ERROR_RULE.id in self.fired_rules

    def to_json(self) -> dict[str, object]:
        """The documented output of ``screener evaluate`` and ``POST /api/v1/evaluate``."""
        return {
            "outcome": self.outcome.value,
            "underlying_outcome": self.underlying_outcome.value,
            "warnings": [
                {"id": w.id, "severity": w.severity.value, "text": w.text, "sources": list(w.sources)}
                for w in self.warnings
            ],
            "clinician_notes": [{"id": n.id, "text": n.text, "sources": list(n.sources)} for n in self.clinician_notes],
            "fired_rules": list(self.fired_rules),
            "review_flags": list(self.review_flags),
            "priority": self.priority,
            "ruleset_version": self.ruleset_version,
            "ruleset_hash": self.ruleset_hash,
        }


@dataclass(frozen=True)
class _Plan:
    """A ruleset prepared for one jurisdiction: what evaluation needs, computed once."""

    jurisdiction: Jurisdiction
    #: (condition or None for "always", rule) in catalogue order.
    steps: tuple[tuple[Callable[[Facts], bool] | None, Rule], ...]
    #: Each rule's warning as shown in this jurisdiction, with its sort key.
    warnings: dict[str, tuple[tuple[int, bool, int], FiredWarning]]
    notes: dict[str, FiredNote]
    #: Each rule's effects, looked up once per fired rule when the decision is made.
    effects: dict[str, _Effect]


@dataclass(frozen=True)
class _Effect:
    """What one fired rule contributes to a decision (derived from the rule, for one jurisdiction)."""

    outcome: Outcome | None
    urgent: bool
    rank: int
    warning: tuple[tuple[int, bool, int], FiredWarning] | None
    note: FiredNote | None
    flags_review: bool
    sets_priority: bool
    panel: Panel | None


@dataclass(frozen=True)
class Ruleset:
    """A versioned set of rules; its hash changes whenever any reviewed content changes."""

    version: str
    rules: tuple[Rule, ...]

    @cached_property
    def hash(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @cached_property
    def _plans(self) -> dict[Jurisdiction, _Plan]:
        return {jurisdiction: self._plan(jurisdiction) for jurisdiction in Jurisdiction}

    def plan(self, jurisdiction: Jurisdiction) -> _Plan:
        return self._plans[jurisdiction]

    def _plan(self, jurisdiction: Jurisdiction) -> _Plan:
        rules = [rule for rule in (*self.rules, ERROR_RULE) if rule.jurisdiction in (None, jurisdiction)]
        warnings = {}
        for position, rule in enumerate(rules):
            if rule.warning is not None:
                text = rule.warning.wording.for_jurisdiction(jurisdiction)
                shown = FiredWarning(rule.warning.id, rule.warning.severity, text, rule.sources, rule.id)
                # Most severe first; within a severity, what this person's answers triggered comes
                # before the universal warnings everyone sees, then catalogue order.
                warnings[rule.id] = ((rule.warning.severity.order, rule.family is Family.UNIVERSAL, position), shown)
        notes = {rule.id: FiredNote(rule.note.id, rule.note.text, rule.sources, rule.id) for rule in rules if rule.note}
        effects = {
            rule.id: _Effect(
                outcome=rule.outcome,
                urgent=rule.outcome is Outcome.URGENT_HELP,
                rank=OUTCOME_RANK[rule.outcome] if rule.outcome is not None else -1,
                warning=warnings.get(rule.id),
                note=notes.get(rule.id),
                flags_review=rule.flags_review,
                sets_priority=rule.sets_priority,
                panel=rule.panel,
            )
            for rule in rules
        }
        return _Plan(
            jurisdiction=jurisdiction,
            steps=tuple(
                (None if rule.when is always else rule.when.test, rule) for rule in rules if rule is not ERROR_RULE
            ),
            warnings=warnings,
            notes=notes,
            effects=effects,
        )

    def canonical_json(self) -> str:
        """Everything a clinical reviewer signs off, in a stable order: rules, questions, patient texts."""
        content = {
            "version": self.version,
            "rules": [_rule_content(rule) for rule in (*self.rules, ERROR_RULE)],
            "outcome_labels": {outcome.value: label for outcome, label in OUTCOME_LABELS.items()},
            "clinical_outcome_labels": {o.value: label for o, label in CLINICAL_OUTCOME_LABELS.items()},
            "outcome_qualifiers": OUTCOME_QUALIFIERS,
            "patient_texts": _patient_texts(),
            "questions": [
                {
                    "id": q.id,
                    "section": q.section,
                    "text": q.text,
                    "hint": q.hint,
                    "kind": q.kind.value,
                    "options": [[o.code, o.label, o.hint] for o in q.options],
                    "range": [q.minimum, q.maximum],
                    "required": q.required,
                    "enable_when": q.enable_when.description,
                    "age_gate_exempt": q.age_gate_exempt,
                }
                for q in QUESTIONS
            ],
            "sources": [[source.id, source.title, source.confidence] for source in SOURCES.values()],
        }
        return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _patient_texts() -> dict[str, object]:
    """The clinical wording outside the warnings (catalogue/texts.py), as reviewed."""
    return {
        "outcome_explanations": {
            outcome.value: [text.us, text.uk] for outcome, text in patient_texts.OUTCOME_EXPLANATIONS.items()
        },
        "urgent_explanations": {panel.value: text for panel, text in patient_texts.URGENT_EXPLANATIONS.items()},
        "next_steps": [*patient_texts.NEXT_STEPS, patient_texts.CLINIC_PHONE_STEP],
        "result_page": [patient_texts.CONSIDER_LATER, patient_texts.STOP_OR_CARRY_ON],
        "check_page": [patient_texts.UNDER_12_CHECK, patient_texts.HEALTH_NUDGE],
        "contact_panels": [
            [
                panel.panel.value,
                jurisdiction.value,
                panel.title,
                [[c.label, c.number, c.dial, c.texts, c.clinic_phone] for c in panel.contacts],
                panel.closing,
            ]
            for (_kind, jurisdiction), panel in patient_texts.CONTACT_PANELS.items()
        ],
        "footer": [patient_texts.FOOTER_TITLE, patient_texts.FOOTER_INTRO, patient_texts.FOOTER_CLOSING],
        "clinic_phone_label": patient_texts.CLINIC_PHONE_LABEL,
        "contact_offer": [patient_texts.CONTACT_OFFER_TITLE, patient_texts.CONTACT_OFFER_INTRO],
        "start_page": [patient_texts.START_INTRO.us, patient_texts.START_INTRO.uk, *patient_texts.START_POINTS],
        "about_page": [
            [part.block.value, part.wording.us, part.wording.uk, part.severity.value if part.severity else None]
            for part in patient_texts.ABOUT_PAGE
        ],
    }


def _rule_content(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "title": rule.title,
        "condition": [rule.when.name, rule.when.description],
        "effect": rule.effect,
        "outcome": rule.outcome.value if rule.outcome else None,
        "warning": (
            [rule.warning.id, rule.warning.severity.value, rule.warning.wording.us, rule.warning.wording.uk]
            if rule.warning
            else None
        ),
        "note": [rule.note.id, rule.note.text] if rule.note else None,
        "sources": list(rule.sources),
        "jurisdiction": rule.jurisdiction.value if rule.jurisdiction else None,
        "family": rule.family.value,
        "panel": rule.panel.value if rule.panel else None,
        "sets_priority": rule.sets_priority,
    }


CURRENT_RULESET: Final = Ruleset(RULESET_VERSION, RULES)


def evaluate(answers: Answers, config: ClinicConfig, ruleset: Ruleset = CURRENT_RULESET) -> Decision:
    """Apply every rule that holds in the clinic's jurisdiction; never raises (fails closed)."""
    plan = ruleset.plan(config.jurisdiction)
    try:
        facts = derive(answers, config)
        fired = [rule for test, rule in plan.steps if test is None or test(facts)]
    except Exception:  # noqa: BLE001 - any internal fault must fail closed, never open
        return _decide(_fired_despite_fault(plan, answers, config), True, ruleset, plan)
    return _decide(fired, False, ruleset, plan)


def _fired_despite_fault(plan: _Plan, answers: Answers, config: ClinicConfig) -> list[Rule]:
    """The rules that still evaluate cleanly, then the error rule (the slow path, after a fault)."""
    try:
        facts: Facts | None = derive(answers, config)
    except Exception:  # noqa: BLE001
        facts = None
    fired: list[Rule] = []
    for test, rule in plan.steps:
        try:
            # Without facts only the unconditional rules (universal warnings) can be applied.
            if test is None or (facts is not None and test(facts)):
                fired.append(rule)
        except Exception:  # noqa: BLE001, S112 - the fault is recorded as R-E01 below
            continue
    fired.append(ERROR_RULE)
    return fired


def _decide(fired: list[Rule], failed: bool, ruleset: Ruleset, plan: _Plan) -> Decision:
    """One pass over the fired rules, each rule's effects looked up in the plan."""
    urgent = False
    underlying = Outcome.DISCUSSION_APPROPRIATE  # the default when no rule sets an outcome
    underlying_rank = OUTCOME_RANK[underlying]
    shown: list[tuple[tuple[int, bool, int], FiredWarning]] = []
    notes: list[FiredNote] = []
    flags: list[str] = []
    priority = False
    panels: set[Panel] = set()
    effects = plan.effects
    for rule in fired:
        effect = effects[rule.id]
        if effect.outcome is not None:
            if effect.urgent:
                urgent = True
            elif effect.rank > underlying_rank:
                underlying, underlying_rank = effect.outcome, effect.rank
        if effect.warning is not None:
            shown.append(effect.warning)
        if effect.note is not None:
            notes.append(effect.note)
        if effect.flags_review:
            flags.append(rule.id)
        if effect.sets_priority:
            priority = True
        if effect.panel is not None:
            panels.add(effect.panel)
    if failed and underlying_rank < OUTCOME_RANK[Outcome.NOT_APPROPRIATE_NOW]:
        # Urgent and not-now outcomes already reached stand; anything milder needs a clinician.
        underlying = Outcome.CLINICIAN_REVIEW
    shown.sort()
    return Decision(
        outcome=Outcome.URGENT_HELP if urgent else underlying,
        underlying_outcome=underlying,
        warnings=tuple(warning for _key, warning in shown),
        clinician_notes=tuple(notes),
        fired_rules=tuple(rule.id for rule in fired),
        review_flags=tuple(sorted(flags)),
        priority=priority,
        panels=tuple(panel for panel in Panel if panel in panels) if panels else (),
        ruleset_version=ruleset.version,
        ruleset_hash=ruleset.hash,
        jurisdiction=plan.jurisdiction,
    )
