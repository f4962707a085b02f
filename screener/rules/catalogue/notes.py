"""Clinician-only notes (rules.md section 8): shown to staff, never to the patient.

R-C01 to R-C06 and R-C08 apply only when the age gate is open; R-C07 is part of every UK result.
"""

from __future__ import annotations

from typing import Final

from ..derived import Facts
from .base import UK, US, Family, NoteDef, Rule, always, condition


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


@condition("age gate open AND below_uk_licence (not severe by sev, no nodule at all, no scarring)")
def below_uk_licence(f: Facts) -> bool:
    return f.age_gate and f.below_uk_licence


NOTE_RULES: Final = (
    Rule(
        "R-C01",
        "Fits the FDA labelled indication",
        Family.NOTE,
        fits_us_label,
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
        Family.NOTE,
        outside_us_label,
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
        Family.NOTE,
        severe_without_antibiotics,
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
        Family.NOTE,
        nice_referral_criterion,
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
        Family.NOTE,
        outside_uk_licence,
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
        Family.NOTE,
        second_prescriber_for_under_18,
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
        Family.NOTE,
        always,
        note=NoteDef(
            "C-UK-MHSF",
            "MHRA: assess mental health and sexual function before starting and at follow-ups; counsel on "
            "both; complete the Acknowledgement of Risk Form; PPP for anyone of childbearing potential.",
        ),
        sources=("S11", "S12", "S13"),
        jurisdiction=UK,
    ),
    Rule(
        "R-C08",
        "Severity below the UK licensed indication",
        Family.NOTE,
        below_uk_licence,
        note=NoteDef(
            "C-UK-OFFLICENCE",
            "Severity below the UK licensed indication (severe acne); document the rationale on the "
            "Acknowledgement of Risk Form.",
        ),
        sources=("S14", "S15", "S13"),
        jurisdiction=UK,
    ),
)
