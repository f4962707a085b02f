"""Universal warnings (rules.md 7.2): part of every result, every outcome, every age."""

from __future__ import annotations

from typing import Final

from ..questions import N_
from .base import CRITICAL, HIGH, INFO, MEDIUM, Family, Rule, WarningDef, always, warning


def _universal(rule_id: str, title: str, shown: WarningDef, *sources: str) -> Rule:
    return Rule(rule_id, title, Family.UNIVERSAL, always, warning=shown, sources=sources)


#: List warnings (rules.md 7.1): the lead-in, then one item per line, no bullets, no full stops.
SIDE_EFFECTS: Final = N_(
    "Common side effects include:\nDry, cracked lips\nDry skin\nDry eyes\nNosebleeds\nBack or joint pain\nUpset stomach"
)
STOP_SIGNS_US: Final = N_(
    "Stop taking isotretinoin and get medical help fast if you get any of these:\n"
    "A rash with fever, blisters or peeling skin\n"
    "Very bad stomach pain\n"
    "Blood in your stools, or bad diarrhea\n"
    "Yellow skin or eyes\n"
    "A bad headache with blurry vision or throwing up\n"
    "New problems hearing or seeing"
)
STOP_SIGNS_UK: Final = N_(
    "Stop taking isotretinoin and get medical help fast if you get any of these:\n"
    "A rash with fever, blisters or peeling skin\n"
    "Very bad stomach pain\n"
    "Blood in your stools, or bad diarrhoea\n"
    "Yellow skin or eyes\n"
    "A bad headache with blurry vision or throwing up\n"
    "New problems hearing or seeing"
)

NOT_TREATMENT: Final = warning(
    "W-GEN-NOTRX",
    INFO,
    N_(
        "This check does not decide your treatment. It helps you and your care team get ready to "
        "talk. Only a doctor or other prescriber can decide if isotretinoin is right for you."
    ),
)
BIRTH_DEFECTS: Final = warning(
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
)
MOOD: Final = warning(
    "W-GEN-MOOD",
    HIGH,
    N_(
        "Some people taking isotretinoin have had depression, strange thoughts, angry feelings, or "
        "thoughts of suicide. If you or your family see changes in your mood, stop taking it. Call "
        "your doctor right away."
    ),
)
COMMON_SIDE_EFFECTS: Final = warning("W-GEN-SIDE", INFO, SIDE_EFFECTS)
NEVER_SHARE: Final = warning(
    "W-GEN-SHARE",
    HIGH,
    N_(
        "Never share isotretinoin with anyone. Never buy it online without a prescription. It is "
        "only safe with a doctor's care."
    ),
)
NO_BLOOD_DONATION: Final = warning(
    "W-GEN-BLOOD",
    HIGH,
    N_(
        "Do not give blood while you take isotretinoin or for 1 month after you stop. If a pregnant "
        "person got your blood, it could harm the baby."
    ),
)
WHEN_TO_STOP: Final = warning("W-GEN-STOP", HIGH, STOP_SIGNS_US, STOP_SIGNS_UK)
SEXUAL_SIDE_EFFECTS: Final = warning(
    "W-SEXUAL",
    MEDIUM,
    N_(
        "Some people have had sexual problems while taking isotretinoin, such as lower sex drive or "
        "trouble getting an erection. Tell your doctor if this happens. Rarely, it has lasted after "
        "stopping."
    ),
)

UNIVERSAL_RULES: Final = (
    _universal("R-G01", "This check does not decide treatment", NOT_TREATMENT, "design"),
    _universal("R-G02", "Birth defects and the pregnancy safety programme", BIRTH_DEFECTS, "S1", "S2", "S15"),
    _universal("R-G03", "Mood changes on isotretinoin", MOOD, "S2", "S11"),
    _universal("R-G04", "Common side effects", COMMON_SIDE_EFFECTS, "S1", "S2"),
    _universal("R-G05", "Never share or buy without a prescription", NEVER_SHARE, "S35", "S6"),
    _universal("R-G06", "No blood donation during and after treatment", NO_BLOOD_DONATION, "S35"),
    _universal("R-G07", "When to stop and get medical help", WHEN_TO_STOP, "S1", "S2"),
    _universal("R-G08", "Sexual side effects", SEXUAL_SIDE_EFFECTS, "S11", "S28"),
)
