"""The clinician's summary: the facts a busy clinician reads first, from the stored version only.

Age, pregnancy and the test, severity, nodules and scarring (self-report beside examination),
treatments tried, PHQ-2, PHQ-9 and item 9, flags and priority, and the outcome in clinical words
beside the patient's wording. Staff pages are English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from screener.rules import OUTCOME_LABELS, QUESTIONS_BY_ID, Outcome, clinical_outcome

NOT_ANSWERED = "Not answered"
PHQ2_ITEMS = ("phq9_q1", "phq9_q2")
PHQ9_ITEMS = tuple(f"phq9_q{number}" for number in range(1, 10))
#: (label, question) for the treatments tried, in the order a clinician asks about them.
TREATMENTS = (
    ("Antibiotics", "oral_abx"),
    ("failed courses", "completed_courses"),
    ("topical 12 weeks", "topical_rx_12wk"),
    ("isotretinoin before", "prior_isotretinoin"),
)


@dataclass(frozen=True)
class SummaryRow:
    label: str
    #: What the patient said (or the one value there is).
    value: str
    #: The examination's value, which the rules use instead (rules.md principle 7).
    examined: str | None = None


@dataclass(frozen=True)
class ClinicianSummary:
    rows: list[SummaryRow]
    #: e.g. "Discussion appropriate (on-label)".
    clinical_outcome: str
    patient_outcome: str


def _label(answers: Mapping[str, Any], question_id: str) -> str | None:
    value = answers.get(question_id)
    if value is None:
        return None
    question = QUESTIONS_BY_ID[question_id]
    if isinstance(value, list):
        return ", ".join(question.label_for(str(code)) for code in value)
    return question.label_for(str(value)) if question.options else str(value)


def _pregnancy(answers: Mapping[str, Any]) -> str:
    could = answers.get("can_get_pregnant")
    if could is None:
        return NOT_ANSWERED if "age_years" not in answers or answers["age_years"] >= 12 else "Not asked (under 12)"
    if could == "no":
        parts = ["Cannot get pregnant"]
    else:
        parts = [f"Could get pregnant: {_label(answers, 'can_get_pregnant')}"]
        parts.append(f"pregnant now: {_label(answers, 'pregnant_now') or NOT_ANSWERED.lower()}")
        parts.append(f"planning within 6 months: {_label(answers, 'planning_pregnancy_6mo') or 'not answered'}")
    parts.append(f"test today: {_label(answers, 'preg_test_result') or 'not entered'}")
    if answers.get("breastfeeding") == "yes":
        parts.append("breastfeeding")
    return "; ".join(parts)


def _mood(answers: Mapping[str, Any]) -> str:
    items = [answers.get(item) for item in PHQ9_ITEMS]
    phq2 = [answers.get(item) for item in PHQ2_ITEMS]
    scored2 = [item for item in phq2 if isinstance(item, int)]
    parts = [f"PHQ-2 {sum(scored2)}" if len(scored2) == len(phq2) else "PHQ-2 not answered"]
    scored = [item for item in items if isinstance(item, int)]
    complete = len(scored) == len(items)
    parts.append(f"PHQ-9 {sum(scored)}" if complete else "PHQ-9 not complete (items 3-8 not asked or blank)")
    item9 = answers.get("phq9_q9")
    parts.append(f"item 9: {item9}" if isinstance(item9, int) else "item 9 not answered")
    if answers.get("suicide_now") is not None:
        parts.append(f"thoughts right now: {_label(answers, 'suicide_now')}")
    return "; ".join(parts)


def clinician_summary(
    answers: Mapping[str, Any], *, outcome: str, note_ids: list[str], review_flags: list[str], priority: bool
) -> ClinicianSummary:
    age = answers.get("age_years")
    treatments = "; ".join(f"{label}: {_label(answers, qid) or '—'}" for label, qid in TREATMENTS)
    flags = ", ".join(review_flags) if review_flags else "None"
    rows = [
        SummaryRow("Age", str(age) if age is not None else NOT_ANSWERED),
        SummaryRow("Pregnancy", _pregnancy(answers)),
        SummaryRow("Severity", _label(answers, "self_severity") or NOT_ANSWERED, _label(answers, "nurse_iga")),
        SummaryRow("Nodules", _label(answers, "nodules") or NOT_ANSWERED, _label(answers, "nurse_nodule_count")),
        SummaryRow("Scarring", _label(answers, "scarring") or NOT_ANSWERED, _label(answers, "nurse_scarring")),
        SummaryRow("Mood", _mood(answers)),
        SummaryRow("Review flags", f"{flags}{'; PRIORITY' if priority else ''}"),
        SummaryRow("Treatments", treatments),
    ]
    known = outcome in {o.value for o in Outcome}
    return ClinicianSummary(
        rows=rows,
        clinical_outcome=clinical_outcome(Outcome(outcome), note_ids) if known else outcome,
        patient_outcome=OUTCOME_LABELS[Outcome(outcome)] if known else "",
    )
