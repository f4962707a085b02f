"""evaluate(answers, config) -> Decision: the outcome by precedence, and every warning fired.

All warnings accumulate; only the outcome uses precedence (rules.md principle 3). The
outcome beneath URGENT_HELP is kept for clinicians. Evaluation fails closed: if any rule
raises, the result needs clinician review and carries an explicit error warning.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from .answers import Answers
from .catalogue import ERROR_RULE, RULES, Outcome, Rule, Severity, always
from .clinic import ClinicConfig, Jurisdiction
from .derived import Facts, derive
from .questions import QUESTIONS

#: Bump on every clinical change, with a CHANGES.md entry naming the rule IDs and the source.
RULESET_VERSION: Final = "2026.11-draft.1"


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
            "ruleset_version": self.ruleset_version,
            "ruleset_hash": self.ruleset_hash,
        }


@dataclass(frozen=True)
class Ruleset:
    """A versioned set of rules; its hash changes whenever any reviewed content changes."""

    version: str
    rules: tuple[Rule, ...]

    @cached_property
    def hash(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def canonical_json(self) -> str:
        """Everything a clinical reviewer signs off, in a stable order."""
        content = {
            "version": self.version,
            "rules": [_rule_content(rule) for rule in (*self.rules, ERROR_RULE)],
            "questions": [
                {
                    "id": q.id,
                    "section": q.section,
                    "text": q.text,
                    "kind": q.kind.value,
                    "options": [[o.code, o.label] for o in q.options],
                    "range": [q.minimum, q.maximum],
                    "required": q.required,
                    "enable_when": q.enable_when.description,
                }
                for q in QUESTIONS
            ],
        }
        return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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
        "alerts_staff": rule.alerts_staff,
    }


CURRENT_RULESET: Final = Ruleset(RULESET_VERSION, RULES)


def evaluate(answers: Answers, config: ClinicConfig, ruleset: Ruleset = CURRENT_RULESET) -> Decision:
    """Apply every rule that holds in the clinic's jurisdiction; never raises (fails closed)."""
    applicable = [rule for rule in ruleset.rules if rule.jurisdiction in (None, config.jurisdiction)]
    fired: list[Rule] = []
    failed = False
    try:
        facts: Facts | None = derive(answers, config)
    except Exception:  # noqa: BLE001 - any internal fault must fail closed, never open
        facts, failed = None, True
    for rule in applicable:
        try:
            # Without facts only the unconditional rules (universal warnings) can be applied.
            holds = rule.when is always if facts is None else rule.when.test(facts)
        except Exception:  # noqa: BLE001 - see above
            failed = True
            continue
        if holds:
            fired.append(rule)
    if failed:
        fired.append(ERROR_RULE)
    return _decide(fired, failed, ruleset, config)


def _decide(fired: list[Rule], failed: bool, ruleset: Ruleset, config: ClinicConfig) -> Decision:
    outcomes = [rule.outcome for rule in fired if rule.outcome is not None]
    beneath = [outcome for outcome in outcomes if outcome is not Outcome.URGENT_HELP]
    underlying = max(beneath, key=lambda o: o.rank, default=Outcome.DISCUSSION_APPROPRIATE)
    if failed and underlying.rank < Outcome.NOT_APPROPRIATE_NOW.rank:
        # Urgent and not-now outcomes already reached stand; anything milder needs a clinician.
        underlying = Outcome.CLINICIAN_REVIEW
    outcome = Outcome.URGENT_HELP if Outcome.URGENT_HELP in outcomes else underlying
    jurisdiction = config.jurisdiction
    warnings = [
        FiredWarning(
            rule.warning.id,
            rule.warning.severity,
            rule.warning.wording.for_jurisdiction(jurisdiction),
            rule.sources,
            rule.id,
        )
        for rule in fired
        if rule.warning is not None
    ]
    # Most severe first; within a severity, what this person's answers triggered comes before the
    # universal warnings everyone sees, then catalogue order (the sort is stable).
    universal = {rule.id for rule in fired if rule.when is always}
    warnings.sort(key=lambda warning: (warning.severity.order, warning.rule_id in universal))
    notes = tuple(FiredNote(rule.note.id, rule.note.text, rule.sources, rule.id) for rule in fired if rule.note)
    return Decision(
        outcome=outcome,
        underlying_outcome=underlying,
        warnings=tuple(warnings),
        clinician_notes=notes,
        fired_rules=tuple(rule.id for rule in fired),
        ruleset_version=ruleset.version,
        ruleset_hash=ruleset.hash,
        jurisdiction=jurisdiction,
    )
