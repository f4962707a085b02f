"""A decision as it is stored: the answers, the outcome and every warning exactly as shown.

Shared by every path that stores a screening version (the patient's self-screen, a nurse's
intake or amendment), so a stored version always has the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from enum import Enum
from typing import Any

from screener import store
from screener.rules import URGENT_RULE_IDS, Answers, ClinicConfig, Decision, evaluate


def config_json(config: ClinicConfig) -> dict[str, Any]:
    return {key: value.value if isinstance(value, Enum) else value for key, value in asdict(config).items()}


def decision_fields(decision: Decision, translate: Callable[[str], str] = str) -> dict[str, Any]:
    """A decision as plain data, the warnings' text as the reader saw it (``translate``)."""
    return {
        "outcome": decision.outcome.value,
        "underlying_outcome": decision.underlying_outcome.value,
        "warnings": [
            {"id": w.id, "severity": w.severity.value, "text": translate(w.text), "sources": list(w.sources)}
            for w in decision.warnings
        ],
        "clinician_notes": [{"id": n.id, "text": n.text, "sources": list(n.sources)} for n in decision.clinician_notes],
        "fired_rules": list(decision.fired_rules),
        "review_flags": list(decision.review_flags),
        "priority": decision.priority,
        "ruleset_version": decision.ruleset_version,
        "ruleset_hash": decision.ruleset_hash,
        "jurisdiction": decision.jurisdiction.value,
    }


def version_record(
    answers: Answers,
    config: ClinicConfig,
    *,
    author_role: str,
    author_id: int | None,
    source: str | None,
    language: str,
    translate: Callable[[str], str] = str,
) -> store.VersionRecord:
    """Evaluate the answers and keep the warnings' text as the reader saw it (``translate``)."""
    return store.VersionRecord(
        author_role=author_role,
        author_id=author_id,
        source=source,
        answers=answers.to_json(),
        discarded=list(answers.discarded),
        language=language,
        config=config_json(config),
        **decision_fields(evaluate(answers, config), translate),
    )


def urgent_rule_ids(record: store.VersionRecord) -> list[str]:
    """The urgent rules a stored decision fired (staff alerts name them)."""
    return [rule_id for rule_id in record.fired_rules if rule_id in URGENT_RULE_IDS]
