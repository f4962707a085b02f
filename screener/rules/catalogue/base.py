"""The shared types of the rule catalogue: outcomes, severities, wording, rules and contact panels.

Every rule family module builds its rules from these types, next to its own predicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ..clinic import Jurisdiction
from ..derived import Facts
from ..questions import N_


class Outcome(StrEnum):
    """Outcomes in order of precedence: the highest-ranked triggered outcome wins."""

    URGENT_HELP = "URGENT_HELP"
    NOT_APPROPRIATE_NOW = "NOT_APPROPRIATE_NOW"
    OTHER_TREATMENTS_FIRST = "OTHER_TREATMENTS_FIRST"
    CLINICIAN_REVIEW = "CLINICIAN_REVIEW"
    DISCUSSION_APPROPRIATE = "DISCUSSION_APPROPRIATE"

    @property
    def label(self) -> str:
        """The patient-facing label; never says "approved" or "eligible" (principle 1)."""
        return OUTCOME_LABELS[self]


OUTCOME_LABELS: Final = {
    Outcome.URGENT_HELP: N_("Please get help today"),
    Outcome.NOT_APPROPRIATE_NOW: N_("Isotretinoin is not an option right now"),
    Outcome.OTHER_TREATMENTS_FIRST: N_("Other treatments are usually tried first"),
    Outcome.CLINICIAN_REVIEW: N_("Your doctor needs to go over a few things with you"),
    Outcome.DISCUSSION_APPROPRIATE: N_("It makes sense to talk with your doctor about isotretinoin"),
}
#: The outcome in clinical words, for staff (the clinician's summary shows it beside the patient wording).
CLINICAL_OUTCOME_LABELS: Final = {
    Outcome.URGENT_HELP: "Urgent help: same-day contact",
    Outcome.NOT_APPROPRIATE_NOW: "Not appropriate now: contraindication or firm barrier",
    Outcome.OTHER_TREATMENTS_FIRST: "Other treatments first: no indication signal",
    Outcome.CLINICIAN_REVIEW: "Clinician review before a discussion",
    Outcome.DISCUSSION_APPROPRIATE: "Discussion appropriate",
}
#: Clinician notes that qualify the outcome in clinical words, e.g. "Discussion appropriate (on-label)".
OUTCOME_QUALIFIERS: Final = {
    "C-ONLABEL": "on-label",
    "C-OFFLABEL": "off-label",
    "C-UK-OFFLICENCE": "below the UK licensed severity",
    "C-UK-ABX": "outside the UK licence: no failed systemic antibacterial",
}


def clinical_outcome(outcome: Outcome, note_ids: Iterable[str]) -> str:
    """The outcome in clinical words, qualified by the notes that fired (staff only)."""
    qualifiers = [OUTCOME_QUALIFIERS[note] for note in note_ids if note in OUTCOME_QUALIFIERS]
    label = CLINICAL_OUTCOME_LABELS[outcome]
    return f"{label} ({'; '.join(qualifiers)})" if qualifiers else label


OUTCOME_RANK: Final = {
    Outcome.URGENT_HELP: 5,
    Outcome.NOT_APPROPRIATE_NOW: 4,
    Outcome.OTHER_TREATMENTS_FIRST: 3,
    Outcome.CLINICIAN_REVIEW: 2,
    Outcome.DISCUSSION_APPROPRIATE: 1,
}


class Severity(StrEnum):
    CRITICAL = "critical"  # must be read before anything else
    HIGH = "high"
    MEDIUM = "medium"
    INFO = "info"

    @property
    def order(self) -> int:
        return tuple(Severity).index(self)


class Family(StrEnum):
    """The rule families of rules.md section 7 and 8; each has its own module."""

    UNIVERSAL = "universal"
    URGENT = "urgent"
    NOT_NOW = "not appropriate now"
    INDICATION = "indication"
    REVIEW = "clinician review"
    FLAG = "flag"
    NOTE = "clinician note"
    ERROR = "evaluation error"


class Panel(StrEnum):
    """The urgent contact panels of rules.md section 6.1."""

    CRISIS = "crisis"  # mental-health crisis contacts (R-U01, R-U02), also the footer on every page
    MEDICAL = "medical"  # same-day medical contacts (R-U03), never in the footer


@dataclass(frozen=True)
class Wording:
    """Patient text by jurisdiction; most texts read the same in both."""

    us: str
    uk: str

    @classmethod
    def same(cls, text: str) -> Wording:
        return cls(text, text)

    def for_jurisdiction(self, jurisdiction: Jurisdiction) -> str:
        return self.uk if jurisdiction is Jurisdiction.UK else self.us


def wording(us: str, uk: str | None = None) -> Wording:
    return Wording(us, us if uk is None else uk)


@dataclass(frozen=True)
class WarningDef:
    """A patient warning. A list warning's text is the lead-in, then one item per line (rules.md 7.1)."""

    id: str
    severity: Severity
    wording: Wording


@dataclass(frozen=True)
class NoteDef:
    """A note shown to staff only, never to the patient."""

    id: str
    text: str


@dataclass(frozen=True)
class Condition:
    """A named predicate over the derived facts, with the condition in words for reviewers."""

    name: str
    description: str
    test: Callable[[Facts], bool]


def condition(description: str) -> Callable[[Callable[[Facts], bool]], Condition]:
    """Declare a predicate function as a named ``Condition`` (its name is the function's)."""

    def declare(test: Callable[[Facts], bool]) -> Condition:
        return Condition(test.__name__, description, test)

    return declare


@condition("always")
def always(_facts: Facts) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    family: Family
    when: Condition
    outcome: Outcome | None = None
    warning: WarningDef | None = None
    note: NoteDef | None = None
    sources: tuple[str, ...] = ()
    #: The rule only applies in this jurisdiction (clinician notes); ``None``: everywhere.
    jurisdiction: Jurisdiction | None = None
    #: The urgent contact panel shown at once when an urgent rule fires (rules.md 6.1).
    panel: Panel | None = None
    #: The result is a priority for staff (R-R16).
    sets_priority: bool = False
    #: What the effect adds beyond the fields above, in words for reviewers.
    effect_detail: str | None = None

    @property
    def alerts_staff(self) -> bool:
        """Staff must be alerted for same-day contact (every urgent rule, BT1)."""
        return self.family is Family.URGENT

    @property
    def flags_review(self) -> bool:
        """Listed in the result's ``review_flags`` whatever the outcome (rules.md section 9)."""
        return self.family is Family.REVIEW

    @property
    def effect(self) -> str:
        """The rule's effect in words, derived from its fields (the catalogue pages show it)."""
        parts = [self.outcome.value if self.outcome else "no outcome"]
        if self.panel is not None:
            parts.append(f"the {self.panel.value} contacts panel at once")
        if self.alerts_staff:
            parts.append("staff alert for same-day contact")
        if self.flags_review:
            parts.append("listed in review_flags")
        if self.sets_priority:
            parts.append("sets priority")
        if self.warning is not None:
            parts.append(f"{self.family.value} warning {self.warning.id}")
        if self.note is not None:
            parts.append(f"clinician note {self.note.id}")
        if self.effect_detail:
            parts.append(self.effect_detail)
        return "; ".join(parts)


def warning(wid: str, severity: Severity, us: str, uk: str | None = None) -> WarningDef:
    return WarningDef(wid, severity, wording(us, uk))


CRITICAL, HIGH, MEDIUM, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO
US, UK = Jurisdiction.US, Jurisdiction.UK
