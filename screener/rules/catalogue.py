"""The rule catalogue (rules.md sections 6-8): every rule, warning and clinician note.

Each rule has a stable ID, a one-line title, its condition as a named predicate with the
condition in words, its effect, the warning's severity and US/UK wording, and its sources.
This module is data: the engine decides nothing on its own, and clinical reviewers read the
same entries through ``screener rules`` and the staff rule-catalogue page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .clinic import Jurisdiction
from .derived import Facts
from .questions import MINIMUM_AGE, N_


class Outcome(StrEnum):
    """Outcomes in order of precedence: the highest-ranked triggered outcome wins."""

    URGENT_HELP = "URGENT_HELP"
    NOT_APPROPRIATE_NOW = "NOT_APPROPRIATE_NOW"
    OTHER_TREATMENTS_FIRST = "OTHER_TREATMENTS_FIRST"
    CLINICIAN_REVIEW = "CLINICIAN_REVIEW"
    DISCUSSION_APPROPRIATE = "DISCUSSION_APPROPRIATE"

    @property
    def rank(self) -> int:
        return OUTCOME_RANK[self]

    @property
    def label(self) -> str:
        """The patient-facing label; never says "approved" or "eligible" (principle 1)."""
        return OUTCOME_LABELS[self]


OUTCOME_RANK: Final = {
    Outcome.URGENT_HELP: 5,
    Outcome.NOT_APPROPRIATE_NOW: 4,
    Outcome.OTHER_TREATMENTS_FIRST: 3,
    Outcome.CLINICIAN_REVIEW: 2,
    Outcome.DISCUSSION_APPROPRIATE: 1,
}
OUTCOME_LABELS: Final = {
    Outcome.URGENT_HELP: N_("Please get help today"),
    Outcome.NOT_APPROPRIATE_NOW: N_("Isotretinoin is not an option right now"),
    Outcome.OTHER_TREATMENTS_FIRST: N_("Other treatments are usually tried first"),
    Outcome.CLINICIAN_REVIEW: N_("Your doctor needs to go over a few things with you"),
    Outcome.DISCUSSION_APPROPRIATE: N_("It makes sense to talk with your doctor about isotretinoin"),
}


class Severity(StrEnum):
    CRITICAL = "critical"  # must be read before anything else
    HIGH = "high"
    MEDIUM = "medium"
    INFO = "info"

    @property
    def order(self) -> int:
        return tuple(Severity).index(self)


@dataclass(frozen=True)
class Wording:
    """Patient text by jurisdiction; most warnings read the same in both."""

    us: str
    uk: str

    @classmethod
    def same(cls, text: str) -> Wording:
        return cls(text, text)

    def for_jurisdiction(self, jurisdiction: Jurisdiction) -> str:
        return self.uk if jurisdiction is Jurisdiction.UK else self.us


@dataclass(frozen=True)
class WarningDef:
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


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    when: Condition
    effect: str  # in words, for reviewers
    outcome: Outcome | None = None
    warning: WarningDef | None = None
    note: NoteDef | None = None
    sources: tuple[str, ...] = ()
    #: The rule only applies in this jurisdiction (clinician notes); ``None``: everywhere.
    jurisdiction: Jurisdiction | None = None
    #: Staff must be alerted for same-day contact (URGENT_HELP rules).
    alerts_staff: bool = False


@dataclass(frozen=True)
class CrisisContact:
    """One way to get help now, shown in the crisis footer and panel (rules.md BT2)."""

    text: str
    number: str
    #: What a phone dials: digits only.
    dial: str
    #: Whether the line also takes text messages.
    texts: bool = False


#: Crisis contacts by jurisdiction (rules.md BT2; sources S24, S25).
CRISIS_CONTACTS: Final = {
    Jurisdiction.US: (
        CrisisContact(N_("Suicide & Crisis Lifeline: call or text"), "988", "988", texts=True),
        CrisisContact(N_("Emergency: call"), "911", "911"),
    ),
    Jurisdiction.UK: (
        CrisisContact(N_("Emergency: call"), "999", "999"),
        CrisisContact(N_("NHS 111, then choose the mental health option: call"), "111", "111"),
        CrisisContact(N_("Samaritans, free, day or night: call"), "116 123", "116123"),
    ),
}


# --- Conditions -------------------------------------------------------------------------


@condition("always")
def always(_facts: Facts) -> bool:
    return True


@condition("phq9_q9 >= 1 AND suicide_now = yes")
def suicidal_thoughts_now(f: Facts) -> bool:
    return (f.number("phq9_q9") or 0) >= 1 and f.answer("suicide_now") == "yes"


@condition("phq9_q9 >= 1 AND suicide_now is not yes (no, or not answered)")
def suicidal_thoughts_not_now(f: Facts) -> bool:
    return (f.number("phq9_q9") or 0) >= 1 and f.answer("suicide_now") != "yes"


@condition("fulminans_flags = yes")
def possible_fulminans(f: Facts) -> bool:
    return f.answer("fulminans_flags") == "yes"


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


@condition("age gate open AND NOT signal AND NOT (scar AND NOT active)")
def no_indication(f: Facts) -> bool:
    return f.age_gate and not f.signal and not (f.scar and not f.active)


@condition("age gate open AND NOT signal AND scar AND NOT active")
def scars_without_active_acne(f: Facts) -> bool:
    return f.age_gate and not f.signal and f.scar and not f.active


@condition("cap AND pregnant_now = not_sure")
def unsure_if_pregnant(f: Facts) -> bool:
    return f.cap and f.answer("pregnant_now") == "not_sure"


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


@condition("cap AND planning_pregnancy_6mo = not_sure")
def unsure_about_pregnancy_plans(f: Facts) -> bool:
    return f.cap and f.answer("planning_pregnancy_6mo") == "not_sure"


@condition("a required question (rules.md section 3) is enabled but not answered")
def required_answer_missing(f: Facts) -> bool:
    return bool(f.missing_required)


@condition("12 <= age_years <= 17")
def teenager(f: Facts) -> bool:
    return f.teen


@condition(
    "cap AND pregnant_now is not yes AND planning_pregnancy_6mo is not yes AND "
    "willing_pregnancy_prevention is not no AND preg_test_result is not positive"
)
def needs_pregnancy_prevention(f: Facts) -> bool:
    return (
        f.cap
        and f.answer("pregnant_now") != "yes"
        and f.answer("planning_pregnancy_6mo") != "yes"
        and f.answer("willing_pregnancy_prevention") != "no"
        and f.answer("preg_test_result") != "positive"
    )


@condition("cap AND contraception_methods includes progestin_only_pill")
def relies_on_minipill(f: Facts) -> bool:
    return f.cap and f.includes("contraception_methods", "progestin_only_pill")


@condition("st_johns_wort = yes AND cap AND hormonal contraception")
def st_johns_wort_with_hormonal_contraception(f: Facts) -> bool:
    return f.answer("st_johns_wort") == "yes" and f.cap and f.hormonal


@condition("st_johns_wort = yes AND NOT (cap AND hormonal contraception)")
def st_johns_wort_only(f: Facts) -> bool:
    return f.answer("st_johns_wort") == "yes" and not (f.cap and f.hormonal)


@condition("tetracycline_current = yes")
def taking_tetracycline(f: Facts) -> bool:
    return f.answer("tetracycline_current") == "yes"


@condition("vitamin_a_supplement = yes")
def taking_vitamin_a(f: Facts) -> bool:
    return f.answer("vitamin_a_supplement") == "yes"


@condition("systemic_steroid_long_term = yes OR anti_seizure_phenytoin = yes")
def bone_weakening_medicines(f: Facts) -> bool:
    return f.answer("systemic_steroid_long_term") == "yes" or f.answer("anti_seizure_phenytoin") == "yes"


@condition("diabetes = yes")
def diabetes(f: Facts) -> bool:
    return f.answer("diabetes") == "yes"


@condition("bone_condition = yes")
def bone_condition(f: Facts) -> bool:
    return f.answer("bone_condition") == "yes"


@condition("hearing_problem = yes")
def hearing_problem(f: Facts) -> bool:
    return f.answer("hearing_problem") == "yes"


@condition("vision_night_or_contacts = yes")
def night_vision_or_contacts(f: Facts) -> bool:
    return f.answer("vision_night_or_contacts") == "yes"


@condition("blood_donation_plan = yes")
def plans_blood_donation(f: Facts) -> bool:
    return f.answer("blood_donation_plan") == "yes"


@condition("mh_family_history = yes")
def family_mental_health_history(f: Facts) -> bool:
    return f.answer("mh_family_history") == "yes"


@condition("not_sure to liver_disease, high_lipids, tetracycline_current or vitamin_a_supplement")
def unsure_health_answers(f: Facts) -> bool:
    return bool(f.unsure_health_answers)


@condition("age gate open AND signal AND nod3 AND failed_abx")
def fits_us_label(f: Facts) -> bool:
    return f.age_gate and f.signal and f.nod3 and f.failed_abx


@condition("age gate open AND signal AND NOT (nod3 AND failed_abx)")
def outside_us_label(f: Facts) -> bool:
    return f.age_gate and f.signal and not (f.nod3 and f.failed_abx)


@condition("age gate open AND signal AND nod3 AND oral_abx = never")
def severe_without_antibiotics(f: Facts) -> bool:
    return f.age_gate and f.signal and f.nod3 and f.answer("oral_abx") == "never"


@condition("age gate open AND (signal OR dark_marks_persistent = yes)")
def nice_referral_criterion(f: Facts) -> bool:
    return f.age_gate and (f.signal or f.answer("dark_marks_persistent") == "yes")


@condition("age gate open AND signal AND NOT failed_abx")
def outside_uk_licence(f: Facts) -> bool:
    return f.age_gate and f.signal and not f.failed_abx


@condition("12 <= age_years <= 17 AND uk_under18_second_prescriber = true")
def second_prescriber_for_under_18(f: Facts) -> bool:
    return f.teen and f.config.uk_under18_second_prescriber


# --- Wording ------------------------------------------------------------------------------


def _warning(wid: str, severity: Severity, text: str, uk: str | None = None) -> WarningDef:
    return WarningDef(wid, severity, Wording(text, uk if uk is not None else text))


CRITICAL, HIGH, MEDIUM, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO
US, UK = Jurisdiction.US, Jurisdiction.UK
URGENT = Outcome.URGENT_HELP
NOT_NOW = Outcome.NOT_APPROPRIATE_NOW
OTHERS_FIRST = Outcome.OTHER_TREATMENTS_FIRST
REVIEW = Outcome.CLINICIAN_REVIEW

UNIVERSAL_RULES: Final = (
    Rule(
        "R-G01",
        "This check does not decide treatment",
        always,
        "none (universal warning)",
        warning=_warning(
            "W-GEN-NOTRX",
            INFO,
            N_(
                "This check does not decide your treatment. It helps you and your care team get ready to "
                "talk. Only a doctor or other prescriber can decide if isotretinoin is right for you."
            ),
        ),
        sources=("design",),
    ),
    Rule(
        "R-G02",
        "Birth defects and the pregnancy safety programme",
        always,
        "none (universal warning)",
        warning=_warning(
            "W-GEN-BIRTH",
            CRITICAL,
            N_(
                "Isotretinoin can cause very serious birth defects. It can also cause miscarriage, early "
                "birth, or a baby's death. Even a short time on it during pregnancy can do this. No one who "
                "is pregnant may take it. People who could get pregnant must follow strict safety rules in "
                "a program called iPLEDGE."
            ),
            N_(
                "Isotretinoin can cause very serious birth defects. It can also cause miscarriage, early "
                "birth, or a baby's death. Even a short time on it during pregnancy can do this. No one who "
                "is pregnant may take it. People who could get pregnant must follow strict safety rules in "
                "a Pregnancy Prevention Programme."
            ),
        ),
        sources=("S1", "S2", "S15"),
    ),
    Rule(
        "R-G03",
        "Mood changes on isotretinoin",
        always,
        "none (universal warning)",
        warning=_warning(
            "W-GEN-MOOD",
            HIGH,
            N_(
                "Some people taking isotretinoin have had depression, strange thoughts, angry feelings, or "
                "thoughts of suicide. If you or your family notice changes in your mood, stop taking it and "
                "call your doctor right away."
            ),
        ),
        sources=("S2", "S11"),
    ),
    Rule(
        "R-G04",
        "Common and serious side effects",
        always,
        "none (universal warning)",
        warning=_warning(
            "W-GEN-SIDE",
            INFO,
            N_(
                "Common side effects are dry, cracked lips, dry skin, dry eyes, nosebleeds, and back or "
                "joint pain. Stop and get medical help fast if you get: a rash with fever, blisters or "
                "peeling skin; very bad stomach pain; bloody stools or bad diarrhea; yellow skin or eyes; "
                "a bad headache with blurry vision or throwing up; or new hearing or vision problems."
            ),
        ),
        sources=("S1", "S2"),
    ),
    Rule(
        "R-G05",
        "Never share or buy without a prescription",
        always,
        "none (universal warning)",
        warning=_warning(
            "W-GEN-SHARE",
            HIGH,
            N_(
                "Never share isotretinoin with anyone. Never buy it online without a prescription. It is "
                "only safe with a doctor's care."
            ),
        ),
        sources=("S35", "S6"),
    ),
    Rule(
        "R-G06",
        "No blood donation during and after treatment",
        always,
        "none (universal warning)",
        warning=_warning(
            "W-GEN-BLOOD",
            HIGH,
            N_(
                "Do not give blood while you take isotretinoin or for 1 month after you stop. If a pregnant "
                "person got your blood, it could harm the baby."
            ),
        ),
        sources=("S35",),
    ),
)

URGENT_RULES: Final = (
    Rule(
        "R-U01",
        "Suicidal thoughts right now",
        suicidal_thoughts_now,
        "URGENT_HELP; real-time staff alert",
        outcome=URGENT,
        warning=_warning(
            "W-CRISIS-NOW",
            CRITICAL,
            N_(
                "You told us you are thinking about ending your life right now. Please get help now. Call "
                "or text 988 to reach the Suicide & Crisis Lifeline, or chat at 988lifeline.org. If you are "
                "in danger or have hurt yourself, call 911 or go to the nearest emergency room. You can "
                "also tell a staff member right now."
            ),
            N_(
                "You told us you are thinking about ending your life right now. Please get help now. Call "
                "999 or go to A&E if you are in danger or have hurt yourself. You can also call NHS 111 and "
                "choose the mental health option, or call Samaritans free on 116 123, day or night."
            ),
        ),
        sources=("S23", "S24", "S25"),
        alerts_staff=True,
    ),
    Rule(
        "R-U02",
        "Thoughts of death or self-harm (PHQ-9 item 9)",
        suicidal_thoughts_not_now,
        "URGENT_HELP; staff alert, same-day contact",
        outcome=URGENT,
        warning=_warning(
            "W-CRISIS-SOON",
            CRITICAL,
            N_(
                "You told us you have had thoughts that you would be better off dead or of hurting "
                "yourself. You are not alone, and help works. Please talk to someone today. Call or text "
                "988 any time. If you feel you might act on these thoughts, call 911 now. Someone from our "
                "care team will contact you."
            ),
            N_(
                "You told us you have had thoughts that you would be better off dead or of hurting "
                "yourself. You are not alone, and help works. Please talk to someone today. Call "
                "Samaritans on 116 123 or NHS 111 (mental health option). If you feel you might act on "
                "these thoughts, call 999 now. Someone from our care team will contact you."
            ),
        ),
        sources=("S23", "S24", "S25"),
        alerts_staff=True,
    ),
    Rule(
        "R-U03",
        "Possible acne fulminans",
        possible_fulminans,
        "URGENT_HELP; staff alert",
        outcome=URGENT,
        warning=_warning(
            "W-FULMINANS",
            CRITICAL,
            N_(
                "Acne that suddenly gets much worse, with open or bleeding sores and fever or painful "
                "joints, can be a rare, serious kind of acne. Please contact a doctor today."
            ),
        ),
        sources=("S10",),
        alerts_staff=True,
    ),
)

NOT_NOW_RULES: Final = (
    Rule(
        "R-N01",
        "Under 12",
        under_12,
        "NOT_APPROPRIATE_NOW; the questionnaire ends after section A",
        outcome=NOT_NOW,
        warning=_warning(
            "W-AGE-UNDER12",
            HIGH,
            N_(
                "Isotretinoin is not approved for children under 12. Your child's doctor can suggest other "
                "acne treatments."
            ),
        ),
        sources=("S1", "S15"),
    ),
    Rule(
        "R-N02",
        "Pregnant, or a positive pregnancy test",
        pregnant,
        "NOT_APPROPRIATE_NOW",
        outcome=NOT_NOW,
        warning=_warning(
            "W-PREG-NOW",
            CRITICAL,
            N_(
                "Isotretinoin must never be taken during pregnancy. Please talk with your pregnancy care "
                "provider about safe ways to care for your skin."
            ),
        ),
        sources=("S1", "S2", "S15"),
    ),
    Rule(
        "R-N03",
        "Planning pregnancy within 6 months",
        planning_pregnancy,
        "NOT_APPROPRIATE_NOW",
        outcome=NOT_NOW,
        warning=_warning(
            "W-PREG-PLAN",
            CRITICAL,
            N_(
                "You said you want to get pregnant soon. You must not get pregnant while taking "
                "isotretinoin or for 1 month after you stop. Your doctor can suggest other acne treatments "
                "that fit your plans."
            ),
        ),
        sources=("S6",),
    ),
    Rule(
        "R-N04",
        "Breastfeeding",
        breastfeeding,
        "NOT_APPROPRIATE_NOW",
        outcome=NOT_NOW,
        warning=_warning(
            "W-BREASTFEED",
            HIGH,
            N_(
                "Isotretinoin should not be used while you are breastfeeding or chestfeeding. Ask your "
                "doctor about acne treatments that are safe while you feed your baby."
            ),
        ),
        sources=("S2", "S35", "S15"),
    ),
    Rule(
        "R-N05",
        "Unwilling to follow pregnancy prevention",
        unwilling_pregnancy_prevention,
        "NOT_APPROPRIATE_NOW",
        outcome=NOT_NOW,
        warning=_warning(
            "W-PPP-UNWILLING",
            CRITICAL,
            N_(
                "People who could get pregnant can only take isotretinoin if they follow the pregnancy "
                "safety rules: birth control (or not having sex that could cause pregnancy) from 1 month "
                "before until 1 month after treatment, and regular pregnancy tests. Since you do not want "
                "to do this, isotretinoin is not an option right now. Other acne treatments can still help."
            ),
        ),
        sources=("S7", "S8", "S15", "S16"),
    ),
    Rule(
        "R-N06",
        "Allergy to isotretinoin, a retinoid or vitamin A",
        retinoid_allergy,
        "NOT_APPROPRIATE_NOW",
        outcome=NOT_NOW,
        warning=_warning(
            "W-ALLERGY-ISO",
            CRITICAL,
            N_(
                "You said you have had an allergic reaction to isotretinoin, a similar medicine, or vitamin "
                "A. People with this allergy should not take isotretinoin. Please tell your doctor what "
                "happened."
            ),
        ),
        sources=("S2", "S15"),
    ),
)

INDICATION_RULES: Final = (
    Rule(
        "R-O01",
        "No indication signal",
        no_indication,
        "OTHER_TREATMENTS_FIRST",
        outcome=OTHERS_FIRST,
        warning=_warning(
            "W-TRY-OTHERS",
            INFO,
            N_(
                "From your answers, your acne may get better with other treatments first, such as "
                "prescription creams or gels, or pills your doctor can suggest. Isotretinoin is usually "
                "for severe acne, acne that scars, or acne that has not cleared with other treatment. Keep "
                "your visit so you can plan the best next step."
            ),
        ),
        sources=("S1", "S9", "S10", "S15"),
    ),
    Rule(
        "R-O02",
        "Scars without active acne",
        scars_without_active_acne,
        "OTHER_TREATMENTS_FIRST",
        outcome=OTHERS_FIRST,
        warning=_warning(
            "W-SCARS-ONLY",
            INFO,
            N_(
                "Isotretinoin treats active acne. It does not treat old scars. Ask your care team about "
                "treatments for acne scars."
            ),
        ),
        sources=("S1", "S10"),
    ),
)

REVIEW_RULES: Final = (
    Rule(
        "R-R01",
        "Not sure if pregnant",
        unsure_if_pregnant,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-PREG-UNSURE",
            CRITICAL,
            N_(
                "You are not sure if you are pregnant. Please take a pregnancy test and tell your care team "
                "the result. Isotretinoin cannot be started until tests show you are not pregnant."
            ),
        ),
        sources=("S1", "S8"),
    ),
    Rule(
        "R-R02",
        "Not sure if could get pregnant",
        unsure_if_could_get_pregnant,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-PREGCAP-UNSURE",
            HIGH,
            N_(
                "You are not sure if you could get pregnant. Your care team will go over this with you. "
                "Until then, we will treat you as someone who could get pregnant, to keep you safe."
            ),
        ),
        sources=("S7", "S16"),
    ),
    Rule(
        "R-R03",
        "Not sure about pregnancy prevention",
        unsure_about_pregnancy_prevention,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-PPP-UNSURE",
            HIGH,
            N_(
                "You are not sure about the pregnancy safety rules yet. That is OK. Your care team will "
                "explain them so you can decide."
            ),
        ),
        sources=("S7", "S16"),
    ),
    Rule(
        "R-R04",
        "PHQ-9 total at or above the review cutoff",
        low_mood,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-MH-MOOD",
            HIGH,
            N_(
                "Your answers show you may be feeling down a lot. Please talk with your doctor about how "
                "you feel. Help for your mood matters, whatever you decide about acne treatment."
            ),
        ),
        sources=("S2", "S11", "S23"),
    ),
    Rule(
        "R-R05",
        "Mental health history",
        mental_health_history,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-MH-HISTORY",
            HIGH,
            N_(
                "You told us about a mental health condition, now or in the past. This does not always rule "
                "out isotretinoin. Your doctor needs to know, and will check on your mood before and during "
                "treatment."
            ),
        ),
        sources=("S2", "S3", "S10", "S11"),
    ),
    Rule(
        "R-R06",
        "Liver disease",
        liver_disease,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
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
        sources=("S2", "S15"),
    ),
    Rule(
        "R-R07",
        "High blood fats or past pancreatitis",
        lipid_risk,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-LIPIDS",
            HIGH,
            N_(
                "Isotretinoin can raise blood fats (triglycerides and cholesterol). Very high levels can "
                "cause a painful, swollen pancreas. Your doctor will check your blood before deciding."
            ),
        ),
        sources=("S2", "S15"),
    ),
    Rule(
        "R-R08",
        "Inflammatory bowel disease",
        inflammatory_bowel_disease,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-IBD",
            HIGH,
            N_(
                "Isotretinoin has been linked with bowel inflammation. Because you have Crohn's disease or "
                "colitis, your doctor needs to talk this through with you."
            ),
        ),
        sources=("S2",),
    ),
    Rule(
        "R-R09",
        "Past idiopathic intracranial hypertension",
        intracranial_hypertension_history,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-IIH",
            HIGH,
            N_(
                "Isotretinoin can raise the pressure around the brain. This can cause bad headaches and "
                "vision problems. Because you have had this before, your doctor needs to review it."
            ),
        ),
        sources=("S2",),
    ),
    Rule(
        "R-R10",
        "Soy or peanut allergy",
        soy_or_peanut_allergy,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
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
        sources=("S5", "S15"),
    ),
    Rule(
        "R-R11",
        "Paraben allergy",
        paraben_allergy,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-PARABEN",
            MEDIUM,
            N_(
                "Some isotretinoin capsules contain parabens. Your doctor or pharmacist will check the "
                "ingredients before you take any."
            ),
        ),
        sources=("S3", "S5"),
    ),
    Rule(
        "R-R12",
        "Taking another oral retinoid",
        other_oral_retinoid,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-OTHER-RETINOID",
            HIGH,
            N_(
                "You take another vitamin A-type medicine. It should not be taken with isotretinoin. Your "
                "doctor will review this."
            ),
        ),
        sources=("S2", "S3"),
    ),
    Rule(
        "R-R13",
        "Isotretinoin taken recently or now",
        recent_isotretinoin,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-PRIOR-ISO",
            MEDIUM,
            N_(
                "You have taken isotretinoin recently. A new course is usually not started until at least 2 "
                "months after the last one, because skin can keep getting better. If you are taking it now, "
                "contact your prescriber with any questions."
            ),
        ),
        sources=("S1",),
    ),
    Rule(
        "R-R14",
        "A required answer is missing",
        required_answer_missing,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-INCOMPLETE",
            INFO,
            N_("Some important questions were not answered. Someone from your care team will go over them with you."),
        ),
        sources=("design",),
    ),
    Rule(
        "R-R15",
        "Not sure about pregnancy plans",
        unsure_about_pregnancy_plans,
        "CLINICIAN_REVIEW",
        outcome=REVIEW,
        warning=_warning(
            "W-PREG-PLAN-UNSURE",
            HIGH,
            N_(
                "You are not sure about your plans for pregnancy. That is fine. Your doctor will talk with "
                "you about timing, because you must not get pregnant during treatment or for 1 month after."
            ),
        ),
        sources=("S6",),
    ),
)

FLAG_RULES: Final = (
    Rule(
        "R-F01",
        "Teenager (12 to 17)",
        teenager,
        "none (warning only)",
        warning=_warning(
            "W-TEEN",
            MEDIUM,
            N_(
                "Teens need extra care on isotretinoin. It may affect growing bones, and mood changes must "
                "be watched closely. A parent or guardian should be part of the talk with the doctor."
            ),
        ),
        sources=("S2", "S3", "S11", "S13"),
    ),
    Rule(
        "R-F02",
        "Could get pregnant: pregnancy prevention programme",
        needs_pregnancy_prevention,
        "none (warning only)",
        warning=_warning(
            "W-PPP-INFO",
            HIGH,
            N_(
                "Because you could get pregnant, you would need to join a safety program called iPLEDGE. "
                "You would use 2 kinds of birth control at the same time (or not have sex that could cause "
                "pregnancy) from 1 month before, during, and 1 month after treatment. You would have "
                "pregnancy tests before you start and every month."
            ),
            N_(
                "Because you could get pregnant, you would join a Pregnancy Prevention Programme. You would "
                "use effective birth control that your doctor helps you choose, from 1 month before, "
                "during, and 1 month after treatment, unless you and your doctor agree there is no risk of "
                "pregnancy. You would have pregnancy tests before you start and during treatment."
            ),
        ),
        sources=("S6", "S7", "S8", "S15", "S16"),
    ),
    Rule(
        "R-F03",
        "Relies on the progestin-only pill",
        relies_on_minipill,
        "none (warning only)",
        warning=_warning(
            "W-MINIPILL",
            HIGH,
            N_(
                "The progestin-only 'mini-pill' may not prevent pregnancy well enough during isotretinoin "
                "treatment. Your doctor will help you choose other birth control."
            ),
        ),
        sources=("S3",),
    ),
    Rule(
        "R-F04a",
        "St John's wort with hormonal contraception",
        st_johns_wort_with_hormonal_contraception,
        "none (warning only)",
        warning=_warning(
            "W-SJW-CONTRA",
            HIGH,
            N_(
                "St. John's Wort can make birth control pills, patches, rings, shots, and implants work "
                "less well. Tell your doctor. You may need to stop it or change your birth control."
            ),
        ),
        sources=("S3", "S17"),
    ),
    Rule(
        "R-F04b",
        "St John's wort",
        st_johns_wort_only,
        "none (warning only)",
        warning=_warning(
            "W-SJW",
            MEDIUM,
            N_(
                "Please tell your doctor you take St. John's Wort. Do not use herbal remedies for low mood "
                "without talking to your doctor first."
            ),
        ),
        sources=("S3",),
    ),
    Rule(
        "R-F05",
        "Taking a tetracycline antibiotic",
        taking_tetracycline,
        "none (warning only)",
        warning=_warning(
            "W-TETRA",
            HIGH,
            N_(
                "You take an antibiotic like doxycycline or minocycline. It must not be taken together with "
                "isotretinoin, because the two together can raise pressure around the brain. Do not stop "
                "it on your own. Your doctor will tell you when to stop."
            ),
        ),
        sources=("S2", "S15"),
    ),
    Rule(
        "R-F06",
        "Taking vitamin A supplements",
        taking_vitamin_a,
        "none (warning only)",
        warning=_warning(
            "W-VITA",
            HIGH,
            N_(
                "Do not take vitamin A supplements with isotretinoin. Isotretinoin is related to vitamin A, "
                "so taking both can cause side effects. Tell your doctor about every vitamin you take."
            ),
        ),
        sources=("S2", "S3"),
    ),
    Rule(
        "R-F07",
        "Long-term steroids or phenytoin",
        bone_weakening_medicines,
        "none (warning only)",
        warning=_warning(
            "W-BONE-MEDS",
            MEDIUM,
            N_(
                "Steroid pills (like prednisone) and some seizure medicines (like phenytoin) can weaken "
                "bones. Isotretinoin may affect bones too. Tell your doctor."
            ),
        ),
        sources=("S3",),
    ),
    Rule(
        "R-F08",
        "Diabetes",
        diabetes,
        "none (warning only)",
        warning=_warning(
            "W-DIABETES",
            MEDIUM,
            N_(
                "Isotretinoin has sometimes changed blood sugar control. If you have diabetes, check your "
                "sugar as your doctor advises."
            ),
        ),
        sources=("S3",),
    ),
    Rule(
        "R-F09",
        "Weak bones or osteoporosis",
        bone_condition,
        "none (warning only)",
        warning=_warning(
            "W-BONE",
            MEDIUM,
            N_("Isotretinoin may affect bones. Tell your doctor about weak bones or osteoporosis."),
        ),
        sources=("S2", "S3"),
    ),
    Rule(
        "R-F10",
        "Hearing loss or tinnitus",
        hearing_problem,
        "none (warning only)",
        warning=_warning(
            "W-HEARING",
            MEDIUM,
            N_(
                "Rarely, isotretinoin has affected hearing. Tell your doctor about hearing loss or ringing "
                "in your ears. If it starts or gets worse during treatment, stop and call."
            ),
        ),
        sources=("S2",),
    ),
    Rule(
        "R-F11",
        "Night vision problems or contact lenses",
        night_vision_or_contacts,
        "none (warning only)",
        warning=_warning(
            "W-VISION",
            MEDIUM,
            N_(
                "Isotretinoin can cause dry eyes, make contact lenses hard to wear, and make it harder to "
                "see in the dark, sometimes suddenly. Be careful driving at night."
            ),
        ),
        sources=("S2", "S29", "S30"),
    ),
    Rule(
        "R-F12",
        "Plans to give blood",
        plans_blood_donation,
        "none (warning only)",
        warning=_warning(
            "W-BLOOD-PLAN",
            HIGH,
            N_("You said you plan to give blood. Please wait until at least 1 month after your last dose."),
        ),
        sources=("S35",),
    ),
    Rule(
        "R-F13",
        "Family history of serious mental illness or suicide",
        family_mental_health_history,
        "none (warning only)",
        warning=_warning(
            "W-MH-FAMILY",
            MEDIUM,
            N_(
                "You told us someone in your family has had serious mental illness or died by suicide. "
                "Please tell your doctor so they can watch your mood closely."
            ),
        ),
        sources=("S3", "S28"),
    ),
    Rule(
        "R-F14",
        "Not sure about health or medicine questions",
        unsure_health_answers,
        "none (the clinician view lists which answers were unsure)",
        warning=_warning(
            "W-UNSURE-HEALTH",
            MEDIUM,
            N_(
                "You were not sure about some health or medicine questions. Please bring your medicines, or "
                "a list of them, to your visit. Your care team will go over these questions with you."
            ),
        ),
        sources=("design",),
    ),
)

NOTE_RULES: Final = (
    Rule(
        "R-C01",
        "Fits the FDA labelled indication",
        fits_us_label,
        "clinician note",
        note=NoteDef(
            "C-ONLABEL",
            "Pattern fits the FDA labelled indication (many nodules ≥5 mm, unresponsive to systemic antibiotics).",
        ),
        sources=("S1",),
        jurisdiction=US,
    ),
    Rule(
        "R-C02",
        "Supported by AAD 2024 but outside the FDA label wording",
        outside_us_label,
        "clinician note",
        note=NoteDef(
            "C-OFFLABEL",
            "Supported by AAD 2024 (severe / psychosocial burden / scarring / failed standard therapy) but "
            "outside the FDA label wording; document the rationale.",
        ),
        sources=("S1", "S9"),
        jurisdiction=US,
    ),
    Rule(
        "R-C03",
        "Nodular acne with no prior systemic antibiotic (US)",
        severe_without_antibiotics,
        "clinician note",
        note=NoteDef(
            "C-US-ABX",
            "No prior systemic antibiotic. The label reserves isotretinoin for acne unresponsive to "
            "conventional therapy including systemic antibiotics; AAD strongly recommends it for severe "
            "acne. Clinician decision.",
        ),
        sources=("S1", "S9"),
        jurisdiction=US,
    ),
    Rule(
        "R-C04",
        "NICE NG198 referral criterion met",
        nice_referral_criterion,
        "clinician note",
        note=NoteDef(
            "C-UK-REFER",
            'A NICE NG198 referral criterion is met (for pigmentary change: "consider referral").',
        ),
        sources=("S10",),
        jurisdiction=UK,
    ),
    Rule(
        "R-C05",
        "Outside the UK licence: no failed systemic antibacterial",
        outside_uk_licence,
        "clinician note",
        note=NoteDef(
            "C-UK-ABX",
            "UK licence requires resistance to adequate courses of systemic antibacterials and topical "
            "therapy; document why treatment is considered without this.",
        ),
        sources=("S14", "S15"),
        jurisdiction=UK,
    ),
    Rule(
        "R-C06",
        "Clinic keeps the second-prescriber check for under-18s",
        second_prescriber_for_under_18,
        "clinician note",
        note=NoteDef(
            "C-UK-U18-2P",
            "Clinic has chosen to keep a second-prescriber check (MHRA requirement withdrawn 22 Jan 2026).",
        ),
        sources=("S11", "S13"),
        jurisdiction=UK,
    ),
    Rule(
        "R-C07",
        "MHRA: assess mental health and sexual function",
        always,
        "clinician note",
        note=NoteDef(
            "C-UK-MHSF",
            "MHRA: assess mental health and sexual function before starting and at follow-ups; counsel on "
            "both; complete the Acknowledgement of Risk Form; PPP for anyone of childbearing potential.",
        ),
        sources=("S11", "S12", "S13"),
        jurisdiction=UK,
    ),
)

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


#: Rules whose firing alerts staff and shows the crisis panel at once (rules.md BT1).
URGENT_RULE_IDS: Final = frozenset(rule.id for rule in RULES if rule.alerts_staff)


@condition("a rule or derived value raised an error during evaluation")
def evaluation_failed(_facts: Facts) -> bool:
    return True  # never tested by the engine: applied when evaluation fails (fail closed)


#: Fail closed: when evaluation raises, the result needs a clinician, never DISCUSSION_APPROPRIATE.
ERROR_RULE: Final = Rule(
    "R-E01",
    "Evaluation error (fail closed)",
    evaluation_failed,
    "at least CLINICIAN_REVIEW; urgent and not-now outcomes that were reached still stand",
    outcome=REVIEW,
    warning=_warning(
        "W-ERROR",
        CRITICAL,
        N_(
            "Something went wrong while checking your answers, so this result is not complete. Someone "
            "from your care team will go over your answers with you."
        ),
    ),
    sources=("design",),
)
