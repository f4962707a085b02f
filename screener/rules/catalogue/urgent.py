"""Urgent rules (rules.md 7.3): URGENT_HELP, an urgent contact panel at once, and a staff alert.

The answers these rules read (``phq9_q9``, ``suicide_now``, ``fulminans_flags``) are never
discarded by the age gate (principle 8): an urgent answer is acted on whatever the age.
"""

from __future__ import annotations

from typing import Final

from ..derived import Facts
from ..questions import N_
from .base import CRITICAL, Family, Outcome, Panel, Rule, condition, warning


@condition("phq9_q9 >= 1 AND suicide_now = yes")
def suicidal_thoughts_now(f: Facts) -> bool:
    return (f.number("phq9_q9") or 0) >= 1 and f.answer("suicide_now") == "yes"


@condition("phq9_q9 >= 1 AND suicide_now is not yes (no, or not answered)")
def suicidal_thoughts_not_now(f: Facts) -> bool:
    return (f.number("phq9_q9") or 0) >= 1 and f.answer("suicide_now") != "yes"


@condition("fulminans_flags = yes")
def possible_fulminans(f: Facts) -> bool:
    return f.answer("fulminans_flags") == "yes"


CRISIS_NOW: Final = warning(
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
        "choose the mental health option, or call Samaritans free on 116 123, day or night. In "
        "Northern Ireland, call Lifeline free on 0808 808 8000, day or night."
    ),
)
CRISIS_SOON: Final = warning(
    "W-CRISIS-SOON",
    CRITICAL,
    N_(
        "You told us you have had thoughts that you would be better off dead or of hurting "
        "yourself. You are not alone, and help works. We have told your care team. If you have not "
        "heard from us by the end of the next working day, call the clinic. Please talk to someone "
        "today. Call or text 988 at any time, day or night. If you feel you might act on these "
        "thoughts, call 911 now."
    ),
    N_(
        "You told us you have had thoughts that you would be better off dead or of hurting "
        "yourself. You are not alone, and help works. We have told your care team. If you have not "
        "heard from us by the end of the next working day, call the clinic. Please talk to someone "
        "today. Call Samaritans free on 116 123, or NHS 111 and choose the mental health option, at "
        "any time, day or night. In Northern Ireland, call Lifeline free on 0808 808 8000. If you "
        "feel you might act on these thoughts, call 999 now."
    ),
)
FULMINANS: Final = warning(
    "W-FULMINANS",
    CRITICAL,
    N_(
        "Acne that suddenly gets much worse, with open or bleeding sores and fever or painful "
        "joints, can be a rare, serious kind of acne. Please call your clinic or doctor today. If "
        "you cannot reach them, go to urgent care or an emergency room. If you are very unwell, "
        "call 911."
    ),
    N_(
        "Acne that suddenly gets much worse, with open or bleeding sores and fever or painful "
        "joints, can be a rare, serious kind of acne. Please call your GP surgery today, or call "
        "NHS 111 (not the mental health option). If you are very unwell, call 999 or go to A&E."
    ),
)

URGENT_RULES: Final = (
    Rule(
        "R-U01",
        "Suicidal thoughts right now",
        Family.URGENT,
        suicidal_thoughts_now,
        outcome=Outcome.URGENT_HELP,
        warning=CRISIS_NOW,
        sources=("S23", "S24", "S25", "S39"),
        panel=Panel.CRISIS,
    ),
    Rule(
        "R-U02",
        "Thoughts of death or self-harm (PHQ-9 item 9)",
        Family.URGENT,
        suicidal_thoughts_not_now,
        outcome=Outcome.URGENT_HELP,
        warning=CRISIS_SOON,
        sources=("S23", "S24", "S25", "S39"),
        panel=Panel.CRISIS,
        effect_detail="the clinic acts on the alert by the end of the next working day",
    ),
    Rule(
        "R-U03",
        "Possible acne fulminans",
        Family.URGENT,
        possible_fulminans,
        outcome=Outcome.URGENT_HELP,
        warning=FULMINANS,
        sources=("S10",),
        panel=Panel.MEDICAL,
        effect_detail="never the crisis contacts panel",
    ),
)
