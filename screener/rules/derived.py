"""Derived values (rules.md section 5): what the rules test, computed once per evaluation.

Examination supersedes self-report (principle 7): a staff-entered value replaces the
patient's answer for that concept. ``None`` means "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass

from .answers import Answers
from .clinic import ClinicConfig
from .questions import MINIMUM_AGE, QUESTIONS, age_gate_open, could_get_pregnant

SEVERITY_SCORE = {"clear": 0, "almost_clear": 1, "mild": 2, "moderate": 3, "severe": 4}
FAILED_ANTIBIOTIC = frozenset({"current_not_helping", "finished_not_helped", "stopped_side_effects"})
HORMONAL_METHODS = frozenset({"combined_hormonal", "progestin_only_pill", "implant", "injection"})
UNSURE_HEALTH_QUESTIONS = ("liver_disease", "high_lipids", "tetracycline_current", "vitamin_a_supplement")
ADULT_AGE = 18
PHQ9_ITEMS = tuple(f"phq9_q{number}" for number in range(1, 10))


@dataclass(frozen=True)
class Facts:
    """The answers, the clinic configuration and every derived value of rules.md section 5."""

    answers: Answers
    config: ClinicConfig
    age_gate: bool
    cap: bool
    sev: int | None
    nod3: bool
    any_nodule: bool
    scar: bool
    failed_abx: bool
    failed2: bool
    burden: bool
    phq9_total: int | None
    hormonal: bool
    #: Required questions (rules.md "Req.") that are enabled but unanswered, in catalogue order.
    missing_required: tuple[str, ...]

    def answer(self, question_id: str) -> object:
        return self.answers.get(question_id)

    def includes(self, question_id: str, code: str) -> bool:
        """Whether a "pick all" answer lists ``code``."""
        value = self.answers.get(question_id)
        return isinstance(value, tuple) and code in value

    def number(self, question_id: str) -> int | None:
        value = self.answers.get(question_id)
        return value if isinstance(value, int) else None

    @property
    def age(self) -> int | None:
        return self.number("age_years")

    @property
    def active(self) -> bool:
        return (self.sev is not None and self.sev >= 2) or self.any_nodule

    @property
    def severe(self) -> bool:
        return self.sev == 4 or self.nod3 or self.answer("inflammatory_count") == "35_or_more"

    @property
    def signal(self) -> bool:
        """An isotretinoin discussion may be indicated (AAD 2024, NICE NG198 referral triggers)."""
        return self.active and (self.severe or self.scar or self.failed_abx or self.failed2 or self.burden)

    @property
    def teen(self) -> bool:
        return self.age is not None and MINIMUM_AGE <= self.age <= ADULT_AGE - 1

    @property
    def unsure_health_answers(self) -> tuple[str, ...]:
        """The health and medicine questions answered "not sure" (R-F14 lists them for clinicians)."""
        return tuple(qid for qid in UNSURE_HEALTH_QUESTIONS if self.answer(qid) == "not_sure")


def derive(answers: Answers, config: ClinicConfig) -> Facts:
    values = answers.values
    iga, nodule_count = answers.get("nurse_iga"), answers.get("nurse_nodule_count")
    self_severity = answers.get("self_severity")
    if isinstance(iga, int):
        sev: int | None = iga
    elif isinstance(self_severity, str):
        sev = SEVERITY_SCORE[self_severity]
    else:
        sev = None
    if isinstance(nodule_count, int):
        nod3, any_nodule = nodule_count >= 3, nodule_count > 0
    else:
        nodules = answers.get("nodules")
        nod3, any_nodule = nodules == "three_or_more", nodules in ("one_or_two", "three_or_more")
    nurse_scarring = answers.get("nurse_scarring")
    if nurse_scarring is not None:
        scar = nurse_scarring in ("mild", "moderate", "severe")
    else:
        scar = answers.get("scarring") in ("some", "many")
    items = [item for item in (answers.get(qid) for qid in PHQ9_ITEMS) if isinstance(item, int)]
    phq9_total = sum(items) if len(items) == len(PHQ9_ITEMS) else None  # only when all nine were asked
    methods = answers.get("contraception_methods")
    return Facts(
        answers=answers,
        config=config,
        age_gate=age_gate_open(values, config),
        cap=could_get_pregnant(values, config),
        sev=sev,
        nod3=nod3,
        any_nodule=any_nodule,
        scar=scar,
        failed_abx=answers.get("oral_abx") in FAILED_ANTIBIOTIC,
        failed2=answers.get("completed_courses") == "two_or_more",
        burden=answers.get("impact") in ("a_lot", "very_much"),
        phq9_total=phq9_total,
        hormonal=isinstance(methods, tuple) and not HORMONAL_METHODS.isdisjoint(methods),
        missing_required=tuple(
            question.id
            for question in QUESTIONS
            if question.required and question.id not in values and question.enable_when.test(values, config)
        ),
    )
