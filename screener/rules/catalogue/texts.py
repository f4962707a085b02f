"""Patient-facing clinical wording beyond the warnings: result explanations, contact panels, About page.

Written here, once, so that the ruleset hash and the staff rule catalogue cover every clinical
word a patient reads; templates hold layout only. Texts differ by jurisdiction where UK
conventions apply (rules.md 7.1: programme, diarrhoea, licensed, Roaccutane, GP, A&E).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ..clinic import Jurisdiction
from ..questions import N_
from .base import UK, US, Outcome, Panel, Severity, WarningDef, Wording, wording
from .universal import BIRTH_DEFECTS, COMMON_SIDE_EFFECTS, MOOD, SEXUAL_SIDE_EFFECTS, WHEN_TO_STOP

# --- The result page ------------------------------------------------------------------------

#: "What this means" for each outcome but URGENT_HELP, whose text depends on the panels (6.1).
OUTCOME_EXPLANATIONS: Final = {
    Outcome.NOT_APPROPRIATE_NOW: wording(
        N_(
            "Something in your answers means isotretinoin cannot be used right now. Your visit can still go "
            "ahead: your doctor can suggest other acne treatments."
        )
    ),
    Outcome.OTHER_TREATMENTS_FIRST: wording(
        N_(
            "Isotretinoin is usually kept for severe acne, acne that scars, or acne that other treatments "
            "have not cleared. Other treatments may help you first. Keep your visit to plan the best next step."
        )
    ),
    Outcome.CLINICIAN_REVIEW: wording(
        N_(
            "Your doctor needs to go over some of your answers with you before talking about starting "
            "isotretinoin. This is common and does not mean the answer is no."
        )
    ),
    Outcome.DISCUSSION_APPROPRIATE: wording(
        N_(
            "From your answers, it makes sense to talk with your doctor about isotretinoin at your visit. "
            "Your doctor will decide with you whether it is right for you."
        )
    ),
}

#: The URGENT_HELP explanation (rules.md 6.1), by panel; both panels: crisis text first.
URGENT_EXPLANATIONS: Final = {
    Panel.CRISIS: N_(
        "Your answers show you need support today. Please use the crisis contacts on this page. We have "
        "told your care team."
    ),
    Panel.MEDICAL: N_(
        "Your answers show your skin may need a doctor today. Please use the medical contacts on this "
        "page. We have told your care team."
    ),
}

#: "What happens next" on every result; the last line only where the clinic has set a phone number.
NEXT_STEPS: Final = (
    N_("Your care team will see your answers before or at your visit."),
    N_("Bring a list of the medicines and vitamins you take."),
)
CLINIC_PHONE_STEP: Final = N_("Questions before your visit? Call %(clinic)s on %(phone)s.")


#: Check your answers, when every health and medicine question was skipped: a nudge, never a block.
HEALTH_NUDGE: Final = N_(
    "You did not answer the questions about your health and medicines. These help your doctor check "
    "isotretinoin is safe for you."
)
#: Introduces the warnings of a result that is not a discussion now: they apply only to a later start.
CONSIDER_LATER: Final = N_("If you and your doctor consider isotretinoin later, these warnings apply:")
#: Check your answers for a person under 12: why the questionnaire ended after the first page.
UNDER_12_CHECK: Final = N_(
    "The person is under 12. Isotretinoin is not used for children under 12, so we do not need to ask the "
    "other questions. Please send these answers so the care team can see them."
)


def next_steps(outcome: Outcome) -> tuple[str, ...]:
    """ "What happens next", only where true: an urgent result's care team has already been told."""
    return NEXT_STEPS[1:] if outcome is Outcome.URGENT_HELP else NEXT_STEPS


def explanation(outcome: Outcome, panels: tuple[Panel, ...], jurisdiction: Jurisdiction) -> tuple[str, ...]:
    """What the outcome means, in the reader's jurisdiction (rules.md 6.1 for URGENT_HELP)."""
    if outcome is Outcome.URGENT_HELP:
        return tuple(URGENT_EXPLANATIONS[panel] for panel in panels)
    return (OUTCOME_EXPLANATIONS[outcome].for_jurisdiction(jurisdiction),)


# --- Urgent contact panels (rules.md 6.1, BT1, BT2) ----------------------------------------


@dataclass(frozen=True)
class Contact:
    """One line of a contact panel: the label, then the number to dial, if it has one."""

    label: str
    number: str | None = None
    #: What a phone dials: digits only.
    dial: str | None = None
    #: The line also takes text messages.
    texts: bool = False
    #: The number is the clinic's own, shown where the clinic has set one.
    clinic_phone: bool = False


@dataclass(frozen=True)
class ContactPanel:
    panel: Panel
    title: str
    contacts: tuple[Contact, ...]
    closing: str


def _call(label: str, number: str, *, texts: bool = False) -> Contact:
    return Contact(label, number, number.replace(" ", ""), texts=texts)


#: The crisis contacts: the crisis panel, and the footer on every patient page (BT2).
CRISIS_CONTACTS: Final = {
    US: (
        _call(N_("Suicide & Crisis Lifeline: call or text"), "988", texts=True),
        _call(N_("Emergency: call"), "911"),
    ),
    UK: (
        _call(N_("Emergency: call"), "999"),
        _call(N_("NHS 111, then choose the mental health option: call"), "111"),
        _call(N_("Samaritans, free, day or night: call"), "116 123"),
        _call(N_("Northern Ireland: Lifeline, free, day or night: call"), "0808 808 8000"),
    ),
}
#: The same-day medical contacts (R-U03); never in the footer.
MEDICAL_CONTACTS: Final = {
    US: (
        Contact(N_("Call your clinic or doctor today."), clinic_phone=True),
        Contact(N_("If you cannot reach them, go to urgent care or an emergency room.")),
        _call(N_("If you are very unwell, call 911."), "911"),
    ),
    UK: (
        Contact(N_("Call your GP surgery today.")),
        _call(N_("Or call NHS 111 (not the mental health option)."), "111"),
        _call(N_("If you are very unwell, call 999 or go to A&E."), "999"),
    ),
}
TELL_STAFF: Final = N_("You can also tell a member of staff now.")
#: Only on a question page, where it is true: the questionnaire is not finished yet.
STOP_OR_CARRY_ON: Final = N_("You can stop here, or carry on with the questions.")

CONTACT_PANELS: Final = {
    (panel, jurisdiction): ContactPanel(panel, title, contacts[jurisdiction], TELL_STAFF)
    for panel, title, contacts in (
        (Panel.CRISIS, N_("Please get help today"), CRISIS_CONTACTS),
        (Panel.MEDICAL, N_("Your skin may need a doctor today"), MEDICAL_CONTACTS),
    )
    for jurisdiction in Jurisdiction
}

#: The optional offer beside an urgent panel: who sees the details, and when (issue 8).
CONTACT_OFFER_TITLE: Final = N_("Can we contact you?")
CONTACT_OFFER_INTRO: Final = N_(
    "This is up to you. If you leave a name and phone number, the care team will see them with the alert "
    "we sent them. They may call you. Please still use the contacts above if you need help now."
)
#: The crisis footer on every patient page (BT2): its heading and the words around the contacts.
FOOTER_TITLE: Final = N_("Need help now?")
FOOTER_INTRO: Final = N_(
    "If you are thinking about hurting yourself or ending your life, or you feel unsafe, get help now:"
)
FOOTER_CLOSING: Final = N_("Or tell a member of staff right away.")
#: Shown beside W-CRISIS-SOON where the clinic has set its phone number (rules.md change 4).
CLINIC_PHONE_LABEL: Final = N_("Your clinic's phone number:")


# --- The start page -----------------------------------------------------------------------

START_INTRO: Final = wording(
    N_(
        "Isotretinoin (often called Accutane) is a strong medicine for severe acne. This check helps you and "
        "your care team get ready to talk about it."
    ),
    N_(
        "Isotretinoin (often called Roaccutane) is a strong medicine for severe acne. This check helps you "
        "and your care team get ready to talk about it."
    ),
)
#: What the check is for and who it is for (the minimum age is R-N01's).
START_POINTS: Final = (
    N_("It is for people aged 12 or older with acne. A parent or guardian can fill it in with a child."),
    N_("It does not decide your treatment. Only a doctor or other prescriber can do that."),
)


# --- The About isotretinoin page ------------------------------------------------------------


class Block(StrEnum):
    HEADING = "heading"
    LEAD = "lead"
    PARAGRAPH = "paragraph"
    #: Every line is an item of a bulleted list.
    LIST = "list"


@dataclass(frozen=True)
class AboutPart:
    """One part of the About page: text of its own, or a warning shown exactly as in results."""

    block: Block
    wording: Wording
    severity: Severity | None = None


def _part(block: Block, us: str, uk: str | None = None) -> AboutPart:
    return AboutPart(block, wording(us, uk))


def _warning(shown: WarningDef) -> AboutPart:
    return AboutPart(Block.PARAGRAPH, shown.wording, shown.severity)


ABOUT_PAGE: Final = (
    _part(
        Block.LEAD,
        N_("Isotretinoin is a medicine for severe acne. It is often called by an old brand name, Accutane."),
        N_("Isotretinoin is a medicine for severe acne. It is often called by its brand name, Roaccutane."),
    ),
    _part(Block.HEADING, N_("What it is")),
    _part(
        Block.PARAGRAPH,
        N_(
            "Isotretinoin comes from vitamin A. It is a capsule you take by mouth, usually for several months. "
            "Only a doctor or other prescriber can decide if it is right for you."
        ),
    ),
    _part(Block.HEADING, N_("How it works")),
    _part(
        Block.LIST,
        N_(
            "It shrinks the oil glands in your skin, by an estimated 35 to 58 percent. Your skin makes less "
            "oil, so fewer acne bacteria can live in it.\n"
            "It calms the swollen, painful lumps (nodules) that can break the walls of hair follicles and "
            "leave scars.\n"
            "It slows the build-up of skin cells that block pores."
        ),
    ),
    _part(Block.HEADING, N_("Side effects")),
    _part(Block.PARAGRAPH, N_("Most people get some side effects. Your care team can help you manage them.")),
    _warning(COMMON_SIDE_EFFECTS),
    _warning(WHEN_TO_STOP),
    _warning(MOOD),
    _warning(SEXUAL_SIDE_EFFECTS),
    _part(Block.HEADING, N_("Pregnancy")),
    _warning(BIRTH_DEFECTS),
    _part(
        Block.PARAGRAPH,
        N_(
            "People who could get pregnant must not get pregnant from 1 month before, during, and for 1 month "
            "after treatment. They have regular pregnancy tests in a safety program."
        ),
        N_(
            "People who could get pregnant must not get pregnant from 1 month before, during, and for 1 month "
            "after treatment. They have regular pregnancy tests in a safety programme."
        ),
    ),
    _part(Block.HEADING, N_("Why it is kept for severe or stubborn acne")),
    _part(
        Block.PARAGRAPH,
        N_(
            "Because of these risks, isotretinoin is used for severe acne, acne that leaves scars, or acne "
            "that has not cleared with other treatments. These include creams, gels or antibiotic pills. For "
            "milder acne, other treatments are usually tried first."
        ),
    ),
)


def every_text() -> tuple[str, ...]:
    """Every patient-facing text of this module, both jurisdictions, once each (translation, review)."""
    texts: list[str] = [
        *(text for wording_ in OUTCOME_EXPLANATIONS.values() for text in (wording_.us, wording_.uk)),
        *URGENT_EXPLANATIONS.values(),
        *NEXT_STEPS,
        CLINIC_PHONE_STEP,
        CONSIDER_LATER,
        UNDER_12_CHECK,
        HEALTH_NUDGE,
        STOP_OR_CARRY_ON,
        *(text for panel in CONTACT_PANELS.values() for text in (panel.title, panel.closing)),
        *(contact.label for panel in CONTACT_PANELS.values() for contact in panel.contacts),
        CONTACT_OFFER_TITLE,
        CONTACT_OFFER_INTRO,
        FOOTER_TITLE,
        FOOTER_INTRO,
        FOOTER_CLOSING,
        CLINIC_PHONE_LABEL,
        START_INTRO.us,
        START_INTRO.uk,
        *START_POINTS,
        *(text for part in ABOUT_PAGE for text in (part.wording.us, part.wording.uk)),
    ]
    return tuple(dict.fromkeys(texts))
