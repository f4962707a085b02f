"""The rule catalogue (rules.md sections 6-8): every rule, warning, clinician note and patient text.

One module per rule family, each with its own predicates beside its rules; ``base`` holds the
shared types and ``texts`` the clinical wording outside the warnings. Clinical reviewers read
the same entries through ``screener rules`` and the staff rule-catalogue page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..derived import Facts
from ..questions import N_
from .base import (
    CLINICAL_OUTCOME_LABELS,
    OUTCOME_LABELS,
    OUTCOME_QUALIFIERS,
    OUTCOME_RANK,
    Condition,
    Family,
    NoteDef,
    Outcome,
    Panel,
    Rule,
    Severity,
    WarningDef,
    Wording,
    always,
    clinical_outcome,
    condition,
    warning,
)
from .flags import FLAG_RULES
from .indication import INDICATION_RULES
from .not_now import NOT_NOW_RULES
from .notes import NOTE_RULES
from .review import REVIEW_RULES
from .universal import UNIVERSAL_RULES
from .urgent import URGENT_RULES

#: Bump on every clinical change, with a CHANGES.md entry naming the rule IDs and the source.
RULESET_VERSION: Final = "2026.12-draft.2"

#: Every rule, in the order of rules.md section 7 then section 8.
RULES: Final[tuple[Rule, ...]] = (
    *UNIVERSAL_RULES,
    *URGENT_RULES,
    *NOT_NOW_RULES,
    *INDICATION_RULES,
    *REVIEW_RULES,
    *FLAG_RULES,
    *NOTE_RULES,
)

#: Rules whose firing alerts staff and shows an urgent panel at once (rules.md BT1).
URGENT_RULE_IDS: Final = frozenset(rule.id for rule in RULES if rule.alerts_staff)
_PANEL_OF_RULE: Final = {rule.id: rule.panel for rule in RULES if rule.panel is not None}
#: Each outcome rule's warning and the outcome it sets: the result leads with the warnings behind it.
OUTCOME_OF_WARNING: Final = {rule.warning.id: rule.outcome for rule in RULES if rule.outcome and rule.warning}
#: The urgent rules' warnings, by the panel they belong to (the result page shows them in it).
PANEL_OF_WARNING: Final = {rule.warning.id: rule.panel for rule in RULES if rule.panel and rule.warning}


def urgent_panels(fired_rules: Iterable[str]) -> tuple[Panel, ...]:
    """The urgent contact panels these fired rules call for, crisis first (rules.md 6.1)."""
    wanted = {_PANEL_OF_RULE[rule_id] for rule_id in fired_rules if rule_id in _PANEL_OF_RULE}
    return tuple(panel for panel in Panel if panel in wanted)


@condition("a rule or derived value raised an error during evaluation")
def evaluation_failed(_facts: Facts) -> bool:
    return True  # never tested by the engine: applied when evaluation fails (fail closed)


#: Fail closed: when evaluation raises, the result needs a clinician, never DISCUSSION_APPROPRIATE.
ERROR_RULE: Final = Rule(
    "R-E01",
    "Evaluation error (fail closed)",
    Family.ERROR,
    evaluation_failed,
    outcome=Outcome.CLINICIAN_REVIEW,
    warning=warning(
        "W-ERROR",
        Severity.CRITICAL,
        N_(
            "Something went wrong while checking your answers, so this result is not complete. Someone "
            "from your care team will go over your answers with you."
        ),
    ),
    sources=("design",),
    effect_detail="at least CLINICIAN_REVIEW; urgent and not-now outcomes that were reached still stand",
)

__all__ = [
    "CLINICAL_OUTCOME_LABELS",
    "ERROR_RULE",
    "OUTCOME_LABELS",
    "OUTCOME_OF_WARNING",
    "OUTCOME_QUALIFIERS",
    "OUTCOME_RANK",
    "PANEL_OF_WARNING",
    "RULES",
    "RULESET_VERSION",
    "URGENT_RULE_IDS",
    "Condition",
    "Family",
    "NoteDef",
    "Outcome",
    "Panel",
    "Rule",
    "Severity",
    "WarningDef",
    "Wording",
    "always",
    "clinical_outcome",
    "urgent_panels",
]
