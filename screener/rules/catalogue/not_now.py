"""Not appropriate now (rules.md 7.4): a label contraindication or a firm barrier applies now."""

from __future__ import annotations

from typing import Final

from ..derived import Facts
from ..questions import MINIMUM_AGE, N_
from .base import CRITICAL, HIGH, Condition, Family, Outcome, Rule, WarningDef, condition, warning


@condition(f"age_years < {MINIMUM_AGE}")
def under_12(f: Facts) -> bool:
    return f.age is not None and f.age < MINIMUM_AGE


@condition("(cap AND pregnant_now = yes) OR preg_test_result = positive")
def pregnant(f: Facts) -> bool:
    return (f.cap and f.answer("pregnant_now") == "yes") or f.answer("preg_test_result") == "positive"


@condition("cap AND planning_pregnancy_6mo = yes")
def planning_pregnancy(f: Facts) -> bool:
    return f.cap and f.answer("planning_pregnancy_6mo") == "yes"


@condition("breastfeeding = yes")
def breastfeeding(f: Facts) -> bool:
    return f.answer("breastfeeding") == "yes"


@condition("cap AND willing_pregnancy_prevention = no")
def unwilling_pregnancy_prevention(f: Facts) -> bool:
    return f.cap and f.answer("willing_pregnancy_prevention") == "no"


@condition("allergies includes retinoid OR vitamin_a")
def retinoid_allergy(f: Facts) -> bool:
    return f.includes("allergies", "retinoid") or f.includes("allergies", "vitamin_a")


def _not_now(
    rule_id: str, title: str, when: Condition, shown: WarningDef, *sources: str, detail: str | None = None
) -> Rule:
    return Rule(
        rule_id,
        title,
        Family.NOT_NOW,
        when,
        outcome=Outcome.NOT_APPROPRIATE_NOW,
        warning=shown,
        sources=sources,
        effect_detail=detail,
    )


NOT_NOW_RULES: Final = (
    _not_now(
        "R-N01",
        "Under 12",
        under_12,
        warning(
            "W-AGE-UNDER12",
            HIGH,
            N_(
                "Isotretinoin is not approved for children under 12. Your child's doctor can suggest other "
                "acne treatments."
            ),
            N_(
                "Isotretinoin is not licensed for children under 12. Your child's doctor can suggest other "
                "acne treatments."
            ),
        ),
        "S1",
        "S15",
        detail="the patient questionnaire ends after section A",
    ),
    _not_now(
        "R-N02",
        "Pregnant, or a positive pregnancy test",
        pregnant,
        warning(
            "W-PREG-NOW",
            CRITICAL,
            N_(
                "Isotretinoin must never be taken during pregnancy. Please talk with your pregnancy care "
                "provider about safe ways to care for your skin."
            ),
        ),
        "S1",
        "S2",
        "S15",
    ),
    _not_now(
        "R-N03",
        "Planning pregnancy within 6 months",
        planning_pregnancy,
        warning(
            "W-PREG-PLAN",
            CRITICAL,
            N_(
                "You said you want to get pregnant soon. You must not get pregnant while taking "
                "isotretinoin or for 1 month after you stop. Your doctor can suggest other acne treatments "
                "that fit your plans."
            ),
        ),
        "S6",
    ),
    _not_now(
        "R-N04",
        "Breastfeeding",
        breastfeeding,
        warning(
            "W-BREASTFEED",
            HIGH,
            N_(
                "Isotretinoin should not be used while you are breastfeeding or chestfeeding. Ask your "
                "doctor about acne treatments that are safe while you feed your baby."
            ),
        ),
        "S2",
        "S35",
        "S15",
    ),
    _not_now(
        "R-N05",
        "Unwilling to follow pregnancy prevention",
        unwilling_pregnancy_prevention,
        warning(
            "W-PPP-UNWILLING",
            CRITICAL,
            N_(
                "To take isotretinoin, people who could get pregnant must follow pregnancy safety rules. "
                "They must use birth control, or not have sex that could cause pregnancy, from 1 month "
                "before until 1 month after treatment. They must also have regular pregnancy tests. You "
                "said you do not want to do this. So isotretinoin is not an option right now. Other acne "
                "treatments can still help."
            ),
        ),
        "S7",
        "S8",
        "S15",
        "S16",
    ),
    _not_now(
        "R-N06",
        "Allergy to isotretinoin, a retinoid or vitamin A",
        retinoid_allergy,
        warning(
            "W-ALLERGY-ISO",
            CRITICAL,
            N_(
                "You said you have had an allergic reaction to isotretinoin, a similar medicine, or vitamin "
                "A. People with this allergy should not take isotretinoin. Please tell your doctor what "
                "happened."
            ),
        ),
        "S2",
        "S15",
    ),
)
