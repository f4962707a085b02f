"""Derived values (rules.md section 5): what the rules test, computed once per evaluation.

Examination supersedes self-report (principle 7): a staff-entered value replaces the
patient's answer for that concept. ``None`` means "unknown".
"""

from __future__ import annotations

from collections.abc import Callable

from .answers import Answers
from .clinic import ClinicConfig
from .questions import MINIMUM_AGE, QUESTIONS, AnswerValue, age_gate_open, could_get_pregnant, is_asked

SEVERITY_SCORE = {"clear": 0, "almost_clear": 1, "mild": 2, "moderate": 3, "severe": 4}
FAILED_ANTIBIOTIC = frozenset({"current_not_helping", "finished_not_helped", "stopped_side_effects"})
HORMONAL_METHODS = frozenset({"combined_hormonal", "progestin_only_pill", "implant", "injection"})
UNSURE_HEALTH_QUESTIONS = ("liver_disease", "high_lipids", "tetracycline_current", "vitamin_a_supplement")
ADULT_AGE = 18
PHQ9_ITEMS = tuple(f"phq9_q{number}" for number in range(1, 10))
REQUIRED_QUESTIONS = tuple(question for question in QUESTIONS if question.required)


class Facts:
    """The answers, the clinic configuration and every derived value of rules.md section 5.

    Built once per evaluation and read by every rule, so each value is computed here once.
    """

    __slots__ = (
        "active",
        "age",
        "age_gate",
        "answer",
        "answers",
        "any_nodule",
        "below_uk_licence",
        "burden",
        "cap",
        "config",
        "failed2",
        "failed_abx",
        "hormonal",
        "missing_required",
        "nod3",
        "phq9_total",
        "scar",
        "sev",
        "severe",
        "signal",
        "teen",
    )

    def __init__(self, answers: Answers, config: ClinicConfig) -> None:
        values = answers.values
        answer = values.get
        self.answers, self.config = answers, config
        #: ``answer(question_id)``: the validated answer, or ``None`` when not answered.
        self.answer: Callable[[str], AnswerValue | None] = answer
        age = answer("age_years")
        self.age: int | None = age if isinstance(age, int) else None
        self.age_gate: bool = age_gate_open(values, config)
        self.cap: bool = could_get_pregnant(values, config)
        self.teen: bool = self.age is not None and MINIMUM_AGE <= self.age < ADULT_AGE

        # Examination supersedes self-report, concept by concept (principle 7).
        iga, nodule_count, self_severity = answer("nurse_iga"), answer("nurse_nodule_count"), answer("self_severity")
        if isinstance(iga, int):
            self.sev: int | None = iga
        else:
            self.sev = SEVERITY_SCORE[self_severity] if isinstance(self_severity, str) else None
        if isinstance(nodule_count, int):
            self.nod3, self.any_nodule = nodule_count >= 3, nodule_count > 0
        else:
            nodules = answer("nodules")
            self.nod3, self.any_nodule = nodules == "three_or_more", nodules in ("one_or_two", "three_or_more")
        nurse_scarring = answer("nurse_scarring")
        if nurse_scarring is not None:
            self.scar: bool = nurse_scarring in ("mild", "moderate", "severe")
        else:
            self.scar = answer("scarring") in ("some", "many")
        self.failed_abx: bool = answer("oral_abx") in FAILED_ANTIBIOTIC
        self.failed2: bool = answer("completed_courses") == "two_or_more"
        self.burden: bool = answer("impact") in ("a_lot", "very_much")
        self.active: bool = (self.sev is not None and self.sev >= 2) or self.any_nodule
        self.severe: bool = self.sev == 4 or self.nod3 or answer("inflammatory_count") == "35_or_more"
        #: An isotretinoin discussion may be indicated (AAD 2024, NICE NG198 referral triggers).
        self.signal: bool = self.active and (self.severe or self.scar or self.failed_abx or self.failed2 or self.burden)
        #: Below the UK licence's "severe": any nodule or scarring counts as severe; spot counts do not.
        self.below_uk_licence: bool = self.sev != 4 and not self.any_nodule and not self.scar

        items = [item for item in map(answer, PHQ9_ITEMS) if isinstance(item, int)]
        #: Defined only when all nine items were answered (items 3-8 enabled).
        self.phq9_total: int | None = sum(items) if len(items) == len(PHQ9_ITEMS) else None
        methods = answer("contraception_methods")
        self.hormonal: bool = isinstance(methods, tuple) and not HORMONAL_METHODS.isdisjoint(methods)
        #: Required questions (rules.md "Req.") that are enabled but unanswered, in catalogue order.
        self.missing_required: tuple[str, ...] = tuple(
            q.id for q in REQUIRED_QUESTIONS if q.id not in values and is_asked(q, values, config)
        )

    def includes(self, question_id: str, code: str) -> bool:
        """Whether a "pick all" answer lists ``code``."""
        value = self.answer(question_id)
        return isinstance(value, tuple) and code in value

    def number(self, question_id: str) -> int | None:
        value = self.answer(question_id)
        return value if isinstance(value, int) else None

    @property
    def unsure_health_answers(self) -> tuple[str, ...]:
        """The health and medicine questions answered "not sure" (R-F14 lists them for clinicians)."""
        return tuple(qid for qid in UNSURE_HEALTH_QUESTIONS if self.answer(qid) == "not_sure")


def derive(answers: Answers, config: ClinicConfig) -> Facts:
    return Facts(answers, config)
