"""The question catalogue (rules.md sections 3 and 4): the one source of truth for questions.

Every screen, the API, the command line and the clinician view read questions from here.
Patient wording is written once, in English, wrapped in ``N_`` so that the translation
tools can find it; the web layer translates it at display time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .clinic import ClinicConfig

#: A validated answer: a code, a whole number, or a tuple of codes ("pick all").
AnswerValue = str | int | tuple[str, ...]


def N_(text: str) -> str:
    """Mark a string for translation without translating it (gettext's ``N_`` convention)."""
    return text


class Kind(StrEnum):
    """How a question is answered."""

    CHOICE = "choice"  # exactly one code
    MULTI = "multi"  # "pick all": a list of distinct codes; ``none`` stands alone
    INTEGER = "integer"  # a whole number within [minimum, maximum]


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    hint: str | None = None


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    staff_only: bool = False


#: The answers a condition can see: only answers already known to be enabled.
EnableInputs = Mapping[str, AnswerValue]


@dataclass(frozen=True, eq=False)  # identity: each condition is one named object
class EnableWhen:
    """A named condition under which a question is asked (FHIR ``enableWhen``)."""

    name: str
    description: str
    depends_on: tuple[str, ...]
    test: Callable[[EnableInputs, ClinicConfig], bool]


def _always(_answers: EnableInputs, _config: ClinicConfig) -> bool:
    return True


def age_gate_open(answers: EnableInputs, _config: ClinicConfig) -> bool:
    """Sections B-H and N are asked unless the age is known and below 12."""
    age = answers.get("age_years")
    return not (isinstance(age, int) and age < MINIMUM_AGE)


def could_get_pregnant(answers: EnableInputs, config: ClinicConfig) -> bool:
    """``cap``: "not sure" is treated as "could get pregnant" (rules.md principle 5)."""
    return age_gate_open(answers, config) and answers.get("can_get_pregnant") in {"yes", "not_sure"}


def _phq2_positive(answers: EnableInputs, config: ClinicConfig) -> bool:
    q1, q2 = answers.get("phq9_q1"), answers.get("phq9_q2")
    if not (isinstance(q1, int) and isinstance(q2, int)):
        return False
    return age_gate_open(answers, config) and q1 + q2 >= config.phq2_cutoff


def _item9_positive(answers: EnableInputs, _config: ClinicConfig) -> bool:
    q9 = answers.get("phq9_q9")
    return isinstance(q9, int) and q9 >= 1


#: Isotretinoin is not licensed below this age (R-N01); it also closes the age gate.
MINIMUM_AGE: Final = 12

ALWAYS = EnableWhen("always", "Always asked.", (), _always)
AGE_GATE = EnableWhen(
    "age_gate",
    "Asked unless the age is known and below 12.",
    ("age_years",),
    age_gate_open,
)
CAP = EnableWhen(
    "cap",
    "Asked when the person could get pregnant: can_get_pregnant is yes or not_sure (and the age gate is open).",
    ("age_years", "can_get_pregnant"),
    could_get_pregnant,
)
PHQ2_POSITIVE = EnableWhen(
    "phq2_positive",
    "Asked when phq9_q1 + phq9_q2 is at least the clinic's phq2_cutoff (default 3).",
    ("age_years", "phq9_q1", "phq9_q2"),
    _phq2_positive,
)
ITEM9_POSITIVE = EnableWhen(
    "phq9_item9_positive",
    "Enabled when phq9_q9 is 1 or more, whatever the age (an urgent answer is never discarded by the age gate).",
    ("phq9_q9",),
    _item9_positive,
)
URGENT_ANSWER = EnableWhen(
    "urgent_answer",
    "Asked unless the age is known and below 12; an answer given anyway is kept whatever the age "
    "(an urgent answer is never discarded by the age gate).",
    (),
    _always,
)
ENABLE_CONDITIONS: Final = (ALWAYS, AGE_GATE, CAP, PHQ2_POSITIVE, ITEM9_POSITIVE, URGENT_ANSWER)


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    text: str
    kind: Kind
    options: tuple[Option, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False
    enable_when: EnableWhen = AGE_GATE
    hint: str | None = None
    #: An urgent answer (phq9_q9, suicide_now, fulminans_flags): the age gate closes it to patients
    #: and makes it optional, but never discards an answer given anyway (rules.md principle 8).
    age_gate_exempt: bool = False

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(option.code for option in self.options)

    def label_for(self, code: str) -> str:
        """The patient wording of one answer code (the code itself if unknown)."""
        for option in self.options:
            if option.code == code:
                return option.label
        return code

    @property
    def staff_only(self) -> bool:
        return SECTIONS_BY_ID[self.section].staff_only


SECTIONS: Final = (
    Section("A", N_("About you")),
    Section("B", N_("Pregnancy and breastfeeding")),
    Section("C", N_("Your acne")),
    Section("D", N_("Treatments you have tried")),
    Section("E", N_("Your mood")),
    Section("F", N_("Health conditions and allergies")),
    Section("G", N_("Medicines and supplements")),
    Section("H", N_("Plans")),
    Section("N", N_("Examination and tests (staff only)"), staff_only=True),
)
SECTIONS_BY_ID: Final = {section.id: section for section in SECTIONS}


def _options(*pairs: tuple[str, str] | tuple[str, str, str]) -> tuple[Option, ...]:
    return tuple(Option(*pair) for pair in pairs)


YES_NO: Final = _options(("yes", N_("Yes")), ("no", N_("No")))
YES_NO_UNSURE: Final = (*YES_NO, Option("not_sure", N_("Not sure")))
PHQ_SCALE: Final = _options(
    ("0", N_("Not at all")),
    ("1", N_("Several days")),
    ("2", N_("More than half the days")),
    ("3", N_("Nearly every day")),
)
PHQ_STEM: Final = N_("Over the last 2 weeks, how often have you been bothered by this?")


def _yes_no(qid: str, section: str, text: str, *, unsure: bool = False, hint: str | None = None) -> Question:
    return Question(qid, section, text, Kind.CHOICE, YES_NO_UNSURE if unsure else YES_NO, hint=hint)


def _phq(number: int, text: str, enable_when: EnableWhen) -> Question:
    """A PHQ-9 item, scored 0-3; the options carry the published labels for the scores."""
    return Question(
        f"phq9_q{number}",
        "E",
        text,
        Kind.INTEGER,
        PHQ_SCALE,
        minimum=0,
        maximum=3,
        required=True,
        enable_when=enable_when,
        hint=PHQ_STEM,
        age_gate_exempt=enable_when is URGENT_ANSWER,
    )


QUESTIONS: Final[tuple[Question, ...]] = (
    # A. About you (always enabled)
    Question(
        "completed_by",
        "A",
        N_("Who is filling in this form?"),
        Kind.CHOICE,
        _options(
            ("self", N_("Me")),
            ("parent_guardian", N_("A parent or guardian, for the patient")),
            ("nurse", N_("A nurse, with the patient")),
        ),
        required=True,
        enable_when=ALWAYS,
    ),
    Question(
        "age_years",
        "A",
        N_("How old are you?"),
        Kind.INTEGER,
        minimum=0,
        maximum=120,
        required=True,
        enable_when=ALWAYS,
        hint=N_("Age in years. If you are filling this in for someone else, give their age."),
    ),
    # B. Pregnancy and breastfeeding
    Question(
        "can_get_pregnant",
        "B",
        N_("Could your body get pregnant?"),
        Kind.CHOICE,
        YES_NO_UNSURE,
        required=True,
        hint=N_(
            "Answer 'no' only if you have had your womb (uterus) removed, or both ovaries removed, or a "
            "doctor has confirmed you have been through menopause. If your tubes are tied or blocked, "
            "answer 'yes'. If you are not sure, answer 'not sure'."
        ),
    ),
    Question(
        "pregnant_now",
        "B",
        N_("Are you pregnant now, or could you be?"),
        Kind.CHOICE,
        YES_NO_UNSURE,
        required=True,
        enable_when=CAP,
    ),
    Question(
        "planning_pregnancy_6mo",
        "B",
        N_("Are you trying to get pregnant, or hoping to in the next 6 months?"),
        Kind.CHOICE,
        YES_NO_UNSURE,
        required=True,
        enable_when=CAP,
    ),
    Question(
        "breastfeeding",
        "B",
        N_("Are you breastfeeding (or chestfeeding) or pumping milk for a baby?"),
        Kind.CHOICE,
        YES_NO,
        required=True,
    ),
    Question(
        "contraception_methods",
        "B",
        N_("What do you use now to prevent pregnancy?"),
        Kind.MULTI,
        _options(
            ("none", N_("Nothing")),
            ("abstinence", N_("Not having sex that could cause pregnancy")),
            ("iud", N_("IUD or coil")),
            ("implant", N_("Implant")),
            ("injection", N_("Injection (shot)")),
            ("combined_hormonal", N_("Pill, patch or ring with estrogen")),
            ("progestin_only_pill", N_('Progestin-only pill ("mini-pill")')),
            ("condoms", N_("Condoms")),
            ("barrier_other", N_("Diaphragm, cap or sponge")),
            ("partner_vasectomy", N_("Partner has had a vasectomy")),
            ("tubal", N_("Tubes tied or blocked")),
            ("other_not_sure", N_("Something else, or not sure")),
        ),
        required=True,
        enable_when=CAP,
        hint=N_("Pick all that apply."),
    ),
    Question(
        "willing_pregnancy_prevention",
        "B",
        N_(
            "If you take isotretinoin, you must not get pregnant. Would you be willing to use birth "
            "control as your doctor advises (or not have sex that could cause pregnancy) from 1 month "
            "before, during, and 1 month after treatment, and have regular pregnancy tests?"
        ),
        Kind.CHOICE,
        YES_NO_UNSURE,
        required=True,
        enable_when=CAP,
    ),
    # C. Your acne
    Question(
        "self_severity",
        "C",
        N_("Which best describes your acne on most days?"),
        Kind.CHOICE,
        _options(
            ("clear", N_("Clear"), N_("No spots, or 1 or 2 now and then")),
            ("almost_clear", N_("Almost clear"), N_("A few blackheads or whiteheads, maybe 1 small red spot")),
            (
                "mild",
                N_("Mild"),
                N_("Some blackheads or whiteheads and a few small red or pus spots, no deep lumps"),
            ),
            (
                "moderate",
                N_("Moderate"),
                N_("Many blackheads, whiteheads, red or pus spots, maybe 1 deep painful lump"),
            ),
            ("severe", N_("Severe"), N_("Lots of red or pus spots and several deep, painful lumps or cysts")),
        ),
        required=True,
    ),
    Question(
        "nodules",
        "C",
        N_("How many deep, painful lumps under the skin do you usually have?"),
        Kind.CHOICE,
        _options(("none", N_("None")), ("one_or_two", N_("1 or 2")), ("three_or_more", N_("3 or more"))),
        required=True,
        hint=N_("About the size of a pencil eraser (5 mm) or bigger, lasting days or weeks."),
    ),
    Question(
        "inflammatory_count",
        "C",
        N_("About how many red spots or pus spots do you have on your face, chest and back together on a typical day?"),
        Kind.CHOICE,
        _options(
            ("up_to_10", N_("Up to 10")),
            ("11_to_34", N_("11 to 34")),
            ("35_or_more", N_("35 or more")),
            ("not_sure", N_("Not sure")),
        ),
    ),
    Question(
        "sites",
        "C",
        N_("Where is your acne?"),
        Kind.MULTI,
        _options(("face", N_("Face")), ("chest", N_("Chest")), ("back", N_("Back")), ("other", N_("Other"))),
        hint=N_("Pick all that apply."),
    ),
    Question(
        "scarring",
        "C",
        N_("Has your acne left scars (dents, pits, or raised marks)?"),
        Kind.CHOICE,
        _options(
            ("none", N_("No scars")),
            ("some", N_("Some scars")),
            ("many", N_("Many scars")),
            ("not_sure", N_("Not sure")),
        ),
    ),
    _yes_no("dark_marks_persistent", "C", N_("Does your acne leave dark marks that last for months?")),
    Question(
        "fulminans_flags",
        "C",
        N_(
            "In the last few weeks, has your acne suddenly become much worse, with open, bleeding or "
            "crusted sores, and fever or painful joints?"
        ),
        Kind.CHOICE,
        YES_NO,
        enable_when=URGENT_ANSWER,
        age_gate_exempt=True,
    ),
    Question(
        "impact",
        "C",
        N_("How much does your acne affect your mood, confidence, school or work, or social life?"),
        Kind.CHOICE,
        _options(
            ("not_at_all", N_("It does not affect me")),
            ("a_little", N_("A little")),
            ("a_lot", N_("A lot")),
            ("very_much", N_("Very much")),
        ),
    ),
    # D. Treatments you have tried
    _yes_no(
        "topical_rx_12wk",
        "D",
        N_("Have you used a prescription cream or gel for acne for at least 12 weeks?"),
        unsure=True,
    ),
    Question(
        "oral_abx",
        "D",
        N_("Have you taken antibiotic pills for acne?"),
        Kind.CHOICE,
        _options(
            ("never", N_("Never")),
            ("current_helping", N_("Taking them now, and they are helping")),
            ("current_not_helping", N_("Taking them now, but they are not helping enough")),
            ("finished_helped", N_("Finished at least 12 weeks, and they helped")),
            ("finished_not_helped", N_("Finished at least 12 weeks, and they did not help enough")),
            ("stopped_side_effects", N_("Had to stop because of side effects")),
        ),
        hint=N_("For example doxycycline, minocycline or lymecycline."),
    ),
    Question(
        "completed_courses",
        "D",
        N_(
            "How many full courses (12 weeks or more) of prescription acne treatment have you "
            "finished that did not clear your acne well enough?"
        ),
        Kind.CHOICE,
        _options(("none", N_("None")), ("one", N_("One")), ("two_or_more", N_("Two or more"))),
    ),
    Question(
        "prior_isotretinoin",
        "D",
        N_("Have you taken isotretinoin before?"),
        Kind.CHOICE,
        _options(
            ("never", N_("Never")),
            ("finished_under_8_weeks", N_("Yes, I finished less than 8 weeks ago")),
            ("finished_8_weeks_or_more", N_("Yes, I finished 8 weeks ago or more")),
            ("taking_now", N_("Yes, I am taking it now")),
        ),
    ),
    # E. Mood: PHQ-9 as published, item 9 always asked, plus one acuity question
    _phq(1, N_("Little interest or pleasure in doing things"), AGE_GATE),
    _phq(2, N_("Feeling down, depressed, or hopeless"), AGE_GATE),
    _phq(3, N_("Trouble falling or staying asleep, or sleeping too much"), PHQ2_POSITIVE),
    _phq(4, N_("Feeling tired or having little energy"), PHQ2_POSITIVE),
    _phq(5, N_("Poor appetite or overeating"), PHQ2_POSITIVE),
    _phq(
        6,
        N_("Feeling bad about yourself - or that you are a failure or have let yourself or your family down"),
        PHQ2_POSITIVE,
    ),
    _phq(
        7,
        N_("Trouble concentrating on things, such as reading the newspaper or watching television"),
        PHQ2_POSITIVE,
    ),
    _phq(
        8,
        N_(
            "Moving or speaking so slowly that other people could have noticed? Or the opposite - "
            "being so fidgety or restless that you have been moving around a lot more than usual"
        ),
        PHQ2_POSITIVE,
    ),
    _phq(9, N_("Thoughts that you would be better off dead or of hurting yourself in some way"), URGENT_ANSWER),
    Question(
        "suicide_now",
        "E",
        N_("Are you having thoughts of ending your life right now, or have you made a plan?"),
        Kind.CHOICE,
        YES_NO,
        required=True,
        enable_when=ITEM9_POSITIVE,
        age_gate_exempt=True,
    ),
    Question(
        "mh_history",
        "E",
        N_("Have you ever been diagnosed with, or treated for, any of these?"),
        Kind.MULTI,
        _options(
            ("none", N_("None of these")),
            ("depression", N_("Depression")),
            ("anxiety", N_("Anxiety")),
            ("bipolar", N_("Bipolar disorder")),
            ("psychosis", N_("Psychosis (seeing or hearing things others do not)")),
            ("self_harm", N_("Self-harm or a suicide attempt")),
            ("eating_disorder", N_("An eating disorder")),
            ("body_dysmorphic", N_("Body dysmorphic disorder (worrying a lot about a part of your looks)")),
            ("other", N_("Something else")),
        ),
        hint=N_("Pick all that apply."),
    ),
    _yes_no(
        "mh_family_history",
        "E",
        N_("Has a close family member had serious mental illness or died by suicide?"),
        unsure=True,
    ),
    # F. Health conditions and allergies (all optional)
    _yes_no(
        "liver_disease",
        "F",
        N_(
            "Do you have liver disease (like hepatitis or cirrhosis), or have you been told your "
            "liver tests are not normal?"
        ),
        unsure=True,
    ),
    _yes_no(
        "high_lipids",
        "F",
        N_("Has a doctor told you that your triglycerides or cholesterol (blood fats) are high?"),
        unsure=True,
    ),
    _yes_no("pancreatitis_history", "F", N_("Have you ever had pancreatitis (a swollen, painful pancreas)?")),
    _yes_no("ibd", "F", N_("Do you have Crohn's disease or ulcerative colitis?")),
    _yes_no("diabetes", "F", N_("Do you have diabetes?")),
    _yes_no(
        "bone_condition",
        "F",
        N_("Do you have osteoporosis or weak bones, or have you broken a bone from a small fall?"),
    ),
    _yes_no(
        "iih_history",
        "F",
        N_(
            "Have you ever been told you had high pressure around the brain (idiopathic intracranial "
            "hypertension or pseudotumor cerebri)?"
        ),
    ),
    _yes_no("hearing_problem", "F", N_("Do you have hearing loss or ringing in your ears?")),
    _yes_no(
        "vision_night_or_contacts",
        "F",
        N_("Do you have trouble seeing in the dark, or do you wear contact lenses?"),
    ),
    Question(
        "allergies",
        "F",
        N_("Are you allergic to any of these?"),
        Kind.MULTI,
        _options(
            ("none", N_("None of these")),
            ("retinoid", N_("Isotretinoin or a similar medicine such as acitretin or alitretinoin")),
            ("vitamin_a", N_("Vitamin A")),
            ("soy", N_("Soy")),
            ("peanut", N_("Peanut")),
            ("parabens", N_("Parabens (a preservative)")),
            ("other", N_("Something else")),
        ),
        hint=N_("Pick all that apply."),
    ),
    # G. Medicines and supplements (all optional)
    _yes_no(
        "tetracycline_current",
        "G",
        N_("Are you taking doxycycline, minocycline, tetracycline, lymecycline, sarecycline or demeclocycline now?"),
        unsure=True,
    ),
    _yes_no(
        "vitamin_a_supplement",
        "G",
        N_("Do you take vitamin A, fish-liver oil, or a multivitamin with vitamin A?"),
        unsure=True,
    ),
    _yes_no(
        "other_oral_retinoid",
        "G",
        N_("Do you take acitretin, alitretinoin, bexarotene, or tretinoin capsules?"),
    ),
    _yes_no(
        "systemic_steroid_long_term",
        "G",
        N_("Do you take steroid pills or shots (like prednisone) for more than a few weeks at a time?"),
    ),
    _yes_no("anti_seizure_phenytoin", "G", N_("Do you take phenytoin or another seizure medicine?")),
    _yes_no("st_johns_wort", "G", N_("Do you take St. John's Wort?")),
    # H. Plans (optional)
    _yes_no("blood_donation_plan", "H", N_("Do you plan to give blood in the next 6 months?")),
    # N. Staff-only fields (never shown to patients)
    Question(
        "nurse_iga",
        "N",
        N_("Investigator's Global Assessment from examination"),
        Kind.INTEGER,
        _options(
            ("0", N_("0 - clear")),
            ("1", N_("1 - almost clear")),
            ("2", N_("2 - mild")),
            ("3", N_("3 - moderate")),
            ("4", N_("4 - severe")),
        ),
        minimum=0,
        maximum=4,
        hint=N_("FDA 2018 scale."),
    ),
    Question(
        "nurse_nodule_count",
        "N",
        N_("Nodules of 5 mm or more counted on examination"),
        Kind.INTEGER,
        minimum=0,
        maximum=500,
    ),
    Question(
        "nurse_scarring",
        "N",
        N_("Scarring seen"),
        Kind.CHOICE,
        _options(
            ("none", N_("None")),
            ("mild", N_("Mild")),
            ("moderate", N_("Moderate")),
            ("severe", N_("Severe")),
        ),
    ),
    Question(
        "preg_test_result",
        "N",
        N_("Pregnancy test today"),
        Kind.CHOICE,
        _options(("positive", N_("Positive")), ("negative", N_("Negative")), ("not_done", N_("Not done"))),
    ),
    Question(
        "tg_mg_dl",
        "N",
        N_("Most recent fasting triglycerides, mg/dL"),
        Kind.INTEGER,
        minimum=0,
        maximum=10000,
    ),
)

QUESTIONS_BY_ID: Final[Mapping[str, Question]] = {question.id: question for question in QUESTIONS}

#: Questions that feed no rule, derived value or enable condition, and why they are asked anyway.
#: Clinicians see every answer; tests/rules/test_question_coverage.py fails for any other unread
#: question, and for an entry here that a rule has come to read.
INFORMATIONAL: Final[Mapping[str, str]] = {
    "completed_by": "shown to clinicians: who filled in the form (the patient, a parent or guardian, or a nurse); "
    "no rule depends on it, and R-R14 only checks that it was answered",
    "sites": "shown to clinicians; no rule uses where the acne is",
    "topical_rx_12wk": "shown to clinicians; by design one topical course does not count towards signal "
    "(rules.md section 5: NICE asks for two completed courses or an oral antibiotic)",
}


def questions_in(section: str) -> tuple[Question, ...]:
    return tuple(question for question in QUESTIONS if question.section == section)


def enabled_answers(
    answers: Mapping[str, AnswerValue], config: ClinicConfig
) -> tuple[dict[str, AnswerValue], tuple[str, ...]]:
    """Split answers into those whose question is enabled and the IDs of those discarded.

    Conditions only look at questions earlier in the catalogue, so one pass in catalogue
    order sees every answer a condition depends on already filtered (rules.md principle 8).
    """
    kept: dict[str, AnswerValue] = {}
    discarded: list[str] = []
    for question in QUESTIONS:
        if question.id not in answers:
            continue
        if question.enable_when.test(kept, config):
            kept[question.id] = answers[question.id]
        else:
            discarded.append(question.id)
    return kept, tuple(discarded)


def is_asked(question: Question, kept: EnableInputs, config: ClinicConfig) -> bool:
    """Whether the questionnaire asks ``question`` under answers already filtered by the enable rules.

    Urgent answers exempt from the age gate are still not asked of a person under 12.
    """
    if not question.enable_when.test(kept, config):
        return False
    return not question.age_gate_exempt or age_gate_open(kept, config)


def asked_questions(answers: Mapping[str, AnswerValue], config: ClinicConfig) -> tuple[Question, ...]:
    """The questions the patient questionnaire asks under these answers, in catalogue order."""
    kept, _ = enabled_answers(answers, config)
    return tuple(question for question in QUESTIONS if is_asked(question, kept, config))


def enabled_questions(answers: Mapping[str, AnswerValue], config: ClinicConfig) -> tuple[Question, ...]:
    """The questions whose answers are kept under these answers: what staff intake shows.

    This is every asked question plus the urgent ones a nurse must be able to enter whatever the
    age (rules.md BT7).
    """
    kept, _ = enabled_answers(answers, config)
    return tuple(question for question in QUESTIONS if question.enable_when.test(kept, config))
