"""Indication (rules.md 7.5): no indication signal means other treatments are usually tried first."""

from __future__ import annotations

from typing import Final

from ..derived import Facts
from ..questions import N_
from .base import INFO, Family, Outcome, Rule, condition, warning


@condition("age gate open AND NOT signal AND NOT (scar AND NOT active)")
def no_indication(f: Facts) -> bool:
    return f.age_gate and not f.signal and not (f.scar and not f.active)


@condition("age gate open AND NOT signal AND scar AND NOT active")
def scars_without_active_acne(f: Facts) -> bool:
    return f.age_gate and not f.signal and f.scar and not f.active


INDICATION_RULES: Final = (
    Rule(
        "R-O01",
        "No indication signal",
        Family.INDICATION,
        no_indication,
        outcome=Outcome.OTHER_TREATMENTS_FIRST,
        warning=warning(
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
        Family.INDICATION,
        scars_without_active_acne,
        outcome=Outcome.OTHER_TREATMENTS_FIRST,
        warning=warning(
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
