"""Clinician review (rules.md 7.6): a condition, uncertainty or missing answer needs a clinician.

Every rule here is listed in the result's ``review_flags`` when it fires, whatever the final
outcome (section 9). R-R16 is the one staff flag with no outcome and no patient warning.
"""

from __future__ import annotations

from typing import Final

from ..derived import Facts
from ..questions import N_
from .base import CRITICAL, HIGH, INFO, MEDIUM, Condition, Family, Outcome, Rule, WarningDef, condition, warning

#: PHQ-9 total of the "severe" band (S23): a priority for staff when item 9 is 0 (R-R16).
PHQ9_SEVERE: Final = 20


@condition("cap AND pregnant_now = not_sure AND preg_test_result is not negative (not entered, or not_done)")
def unsure_if_pregnant(f: Facts) -> bool:
    return f.cap and f.answer("pregnant_now") == "not_sure" and f.answer("preg_test_result") != "negative"


@condition("cap AND pregnant_now = not_sure AND preg_test_result = negative (staff entered a negative test)")
def unsure_if_pregnant_tested_negative(f: Facts) -> bool:
    return f.cap and f.answer("pregnant_now") == "not_sure" and f.answer("preg_test_result") == "negative"


@condition("can_get_pregnant = not_sure")
def unsure_if_could_get_pregnant(f: Facts) -> bool:
    return f.answer("can_get_pregnant") == "not_sure"


@condition("cap AND willing_pregnancy_prevention = not_sure")
def unsure_about_pregnancy_prevention(f: Facts) -> bool:
    return f.cap and f.answer("willing_pregnancy_prevention") == "not_sure"


@condition("phq9_total >= phq9_review_cutoff (only when all nine PHQ-9 items were asked)")
def low_mood(f: Facts) -> bool:
    return f.phq9_total is not None and f.phq9_total >= f.config.phq9_review_cutoff


@condition("mh_history includes anything other than none")
def mental_health_history(f: Facts) -> bool:
    history = f.answer("mh_history")
    return isinstance(history, tuple) and any(code != "none" for code in history)


@condition("liver_disease = yes")
def liver_disease(f: Facts) -> bool:
    return f.answer("liver_disease") == "yes"


@condition("high_lipids = yes OR pancreatitis_history = yes OR tg_mg_dl >= tg_review_threshold_mg_dl (when set)")
def lipid_risk(f: Facts) -> bool:
    threshold, triglycerides = f.config.tg_review_threshold_mg_dl, f.number("tg_mg_dl")
    high_tg = threshold is not None and triglycerides is not None and triglycerides >= threshold
    return f.answer("high_lipids") == "yes" or f.answer("pancreatitis_history") == "yes" or high_tg


@condition("ibd = yes")
def inflammatory_bowel_disease(f: Facts) -> bool:
    return f.answer("ibd") == "yes"


@condition("iih_history = yes")
def intracranial_hypertension_history(f: Facts) -> bool:
    return f.answer("iih_history") == "yes"


@condition("allergies includes soy OR peanut")
def soy_or_peanut_allergy(f: Facts) -> bool:
    return f.includes("allergies", "soy") or f.includes("allergies", "peanut")


@condition("allergies includes parabens")
def paraben_allergy(f: Facts) -> bool:
    return f.includes("allergies", "parabens")


@condition("other_oral_retinoid = yes")
def other_oral_retinoid(f: Facts) -> bool:
    return f.answer("other_oral_retinoid") == "yes"


@condition("prior_isotretinoin is finished_under_8_weeks or taking_now")
def recent_isotretinoin(f: Facts) -> bool:
    return f.answer("prior_isotretinoin") in ("finished_under_8_weeks", "taking_now")


@condition("a required question (rules.md section 3) is enabled but not answered")
def required_answer_missing(f: Facts) -> bool:
    return bool(f.missing_required)


@condition("cap AND planning_pregnancy_6mo = not_sure")
def unsure_about_pregnancy_plans(f: Facts) -> bool:
    return f.cap and f.answer("planning_pregnancy_6mo") == "not_sure"


@condition(f"phq9_total >= {PHQ9_SEVERE} AND phq9_q9 = 0")
def severe_low_mood_without_item9(f: Facts) -> bool:
    return f.phq9_total is not None and f.phq9_total >= PHQ9_SEVERE and f.number("phq9_q9") == 0


def _review(rule_id: str, title: str, when: Condition, shown: WarningDef, *sources: str) -> Rule:
    return Rule(rule_id, title, Family.REVIEW, when, outcome=Outcome.CLINICIAN_REVIEW, warning=shown, sources=sources)


REVIEW_RULES: Final = (
    _review(
        "R-R01",
        "Not sure if pregnant",
        unsure_if_pregnant,
        warning(
            "W-PREG-UNSURE",
            CRITICAL,
            N_(
                "You are not sure if you are pregnant. Please take a pregnancy test and tell your care team "
                "the result. Isotretinoin cannot be started until tests show you are not pregnant."
            ),
        ),
        "S1",
        "S8",
    ),
    _review(
        "R-R01b",
        "Not sure if pregnant, negative test today",
        unsure_if_pregnant_tested_negative,
        warning(
            "W-PREG-UNSURE-TESTED",
            HIGH,
            N_("You had a pregnancy test today. Your care team will tell you what comes next."),
        ),
        "S1",
        "S8",
    ),
    _review(
        "R-R02",
        "Not sure if could get pregnant",
        unsure_if_could_get_pregnant,
        warning(
            "W-PREGCAP-UNSURE",
            HIGH,
            N_(
                "You are not sure if you could get pregnant. Your care team will go over this with you. "
                "Until then, we will treat you as someone who could get pregnant, to keep you safe."
            ),
        ),
        "S7",
        "S16",
    ),
    _review(
        "R-R03",
        "Not sure about pregnancy prevention",
        unsure_about_pregnancy_prevention,
        warning(
            "W-PPP-UNSURE",
            HIGH,
            N_(
                "You are not sure about the pregnancy safety rules yet. That is OK. Your care team will "
                "explain them so you can decide."
            ),
        ),
        "S7",
        "S16",
    ),
    _review(
        "R-R04",
        "PHQ-9 total at or above the review cutoff",
        low_mood,
        warning(
            "W-MH-MOOD",
            HIGH,
            N_(
                "Your answers show you may be feeling down a lot. Please talk with your doctor about how "
                "you feel. Help for your mood matters, whatever you decide about acne treatment."
            ),
        ),
        "S2",
        "S11",
        "S23",
    ),
    _review(
        "R-R05",
        "Mental health history",
        mental_health_history,
        warning(
            "W-MH-HISTORY",
            HIGH,
            N_(
                "You told us about a mental health condition, now or in the past. This does not always rule "
                "out isotretinoin. Your doctor needs to know, and will check on your mood before and during "
                "treatment."
            ),
        ),
        "S2",
        "S3",
        "S10",
        "S11",
    ),
    _review(
        "R-R06",
        "Liver disease",
        liver_disease,
        warning(
            "W-LIVER",
            HIGH,
            N_(
                "Isotretinoin can affect the liver. Because you have liver problems, your doctor must check "
                "your liver before deciding."
            ),
            N_(
                "Isotretinoin can affect the liver. Because you have liver problems, your doctor must check "
                "your liver before deciding. In the UK it must not be used by people whose liver does not "
                "work well enough."
            ),
        ),
        "S2",
        "S15",
    ),
    _review(
        "R-R07",
        "High blood fats or past pancreatitis",
        lipid_risk,
        warning(
            "W-LIPIDS",
            HIGH,
            N_(
                "Isotretinoin can raise blood fats (triglycerides and cholesterol). Very high levels can "
                "cause a painful, swollen pancreas. Your doctor will check your blood before deciding."
            ),
        ),
        "S2",
        "S15",
    ),
    _review(
        "R-R08",
        "Inflammatory bowel disease",
        inflammatory_bowel_disease,
        warning(
            "W-IBD",
            HIGH,
            N_(
                "Isotretinoin has been linked with bowel inflammation. Because you have Crohn's disease or "
                "colitis, your doctor needs to talk this through with you."
            ),
        ),
        "S2",
    ),
    _review(
        "R-R09",
        "Past idiopathic intracranial hypertension",
        intracranial_hypertension_history,
        warning(
            "W-IIH",
            HIGH,
            N_(
                "Isotretinoin can raise the pressure around the brain. This can cause bad headaches and "
                "vision problems. Because you have had this before, your doctor needs to review it."
            ),
        ),
        "S2",
    ),
    _review(
        "R-R10",
        "Soy or peanut allergy",
        soy_or_peanut_allergy,
        warning(
            "W-SOY",
            HIGH,
            N_(
                "Most isotretinoin capsules contain soybean oil. Because you have a soy or peanut allergy, "
                "your doctor and pharmacist need to check which product, if any, is safe for you."
            ),
            N_(
                "Most isotretinoin capsules contain soybean oil. Because you have a soy or peanut allergy, "
                "your doctor and pharmacist need to check which product, if any, is safe for you. In the "
                "UK, some isotretinoin capsules must not be used by people who are allergic to peanut or "
                "soya. Your doctor will check."
            ),
        ),
        "S5",
        "S15",
    ),
    _review(
        "R-R11",
        "Paraben allergy",
        paraben_allergy,
        warning(
            "W-PARABEN",
            MEDIUM,
            N_(
                "Some isotretinoin capsules contain parabens. Your doctor or pharmacist will check the "
                "ingredients before you take any."
            ),
        ),
        "S3",
        "S5",
    ),
    _review(
        "R-R12",
        "Taking another oral retinoid",
        other_oral_retinoid,
        warning(
            "W-OTHER-RETINOID",
            HIGH,
            N_(
                "You take another vitamin A-type medicine. It should not be taken with isotretinoin. Your "
                "doctor will review this."
            ),
        ),
        "S2",
        "S3",
    ),
    _review(
        "R-R13",
        "Isotretinoin taken recently or now",
        recent_isotretinoin,
        warning(
            "W-PRIOR-ISO",
            MEDIUM,
            N_(
                "You have taken isotretinoin recently. A new course is usually not started until at least 2 "
                "months after the last one, because skin can keep getting better. If you are taking it now, "
                "contact your prescriber with any questions."
            ),
        ),
        "S1",
    ),
    _review(
        "R-R14",
        "A required answer is missing",
        required_answer_missing,
        warning(
            "W-INCOMPLETE",
            INFO,
            N_("Some important questions were not answered. Someone from your care team will go over them with you."),
        ),
        "design",
    ),
    _review(
        "R-R15",
        "Not sure about pregnancy plans",
        unsure_about_pregnancy_plans,
        warning(
            "W-PREG-PLAN-UNSURE",
            HIGH,
            N_(
                "You are not sure about your plans for pregnancy. That is fine. Your doctor will talk with "
                "you about timing, because you must not get pregnant during treatment or for 1 month after."
            ),
        ),
        "S6",
    ),
    Rule(
        "R-R16",
        "Severe PHQ-9 total without thoughts of self-harm",
        Family.REVIEW,
        severe_low_mood_without_item9,
        sources=("S23", "S10"),
        sets_priority=True,
        effect_detail="a staff flag only: no outcome and no patient warning",
    ),
)
