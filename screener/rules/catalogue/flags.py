"""Flags (rules.md 7.7): warnings that never change the outcome."""

from __future__ import annotations

from typing import Final

from ..derived import Facts
from ..questions import N_
from .base import HIGH, MEDIUM, Family, Rule, condition, warning


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


FLAG_RULES: Final = (
    Rule(
        "R-F01",
        "Teenager (12 to 17)",
        Family.FLAG,
        teenager,
        warning=warning(
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
        Family.FLAG,
        needs_pregnancy_prevention,
        warning=warning(
            "W-PPP-INFO",
            HIGH,
            N_(
                "Because you could get pregnant, you would need to join a safety program called iPLEDGE. "
                "You would use 2 kinds of birth control at the same time (or not have sex that could cause "
                "pregnancy). You would do this from 1 month before, during, and 1 month after treatment. You "
                "would have pregnancy tests before you start, every month, and after you stop."
            ),
            N_(
                "Because you could get pregnant, you would join a Pregnancy Prevention Programme. You would "
                "use birth control that works well. Your doctor will help you choose it. You would use it "
                "from 1 month before, during, and 1 month after treatment. You and your doctor may agree "
                "that you do not need it, if there is no chance of pregnancy. You would have pregnancy tests "
                "before you start, during treatment, and after you stop."
            ),
        ),
        sources=("S6", "S7", "S8", "S36", "S15", "S16"),
    ),
    Rule(
        "R-F03",
        "Relies on the progestin-only pill",
        Family.FLAG,
        relies_on_minipill,
        warning=warning(
            "W-MINIPILL",
            HIGH,
            N_(
                "The 'mini-pill' is a pill with only one hormone (progestin). It may not work well enough "
                "to prevent pregnancy while you take isotretinoin. Your doctor will help you choose other "
                "birth control."
            ),
        ),
        sources=("S3",),
    ),
    Rule(
        "R-F04a",
        "St John's wort with hormonal contraception",
        Family.FLAG,
        st_johns_wort_with_hormonal_contraception,
        warning=warning(
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
        Family.FLAG,
        st_johns_wort_only,
        warning=warning(
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
        Family.FLAG,
        taking_tetracycline,
        warning=warning(
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
        Family.FLAG,
        taking_vitamin_a,
        warning=warning(
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
        Family.FLAG,
        bone_weakening_medicines,
        warning=warning(
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
        Family.FLAG,
        diabetes,
        warning=warning(
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
        Family.FLAG,
        bone_condition,
        warning=warning(
            "W-BONE",
            MEDIUM,
            N_("Isotretinoin may affect bones. Tell your doctor about weak bones or osteoporosis."),
        ),
        sources=("S2", "S3"),
    ),
    Rule(
        "R-F10",
        "Hearing loss or tinnitus",
        Family.FLAG,
        hearing_problem,
        warning=warning(
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
        Family.FLAG,
        night_vision_or_contacts,
        warning=warning(
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
        Family.FLAG,
        plans_blood_donation,
        warning=warning(
            "W-BLOOD-PLAN",
            HIGH,
            N_("You said you plan to give blood. Please wait until at least 1 month after your last dose."),
        ),
        sources=("S35",),
    ),
    Rule(
        "R-F13",
        "Family history of serious mental illness or suicide",
        Family.FLAG,
        family_mental_health_history,
        warning=warning(
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
        Family.FLAG,
        unsure_health_answers,
        effect_detail="the clinician view lists which answers were unsure",
        warning=warning(
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
