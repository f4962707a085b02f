"""WTForms for the questionnaire, built from the question catalogue (one source of truth).

A section's form has a field for every question of the section; which of them are shown,
and which must be answered, depends on the other answers (the enable rules), so the view
decides that with ``require_answers``. The fields only turn what was typed into an answer,
or an error message, and keep the typed text for the re-rendered page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from screener.rules import QUESTIONS, AnswerValue, Kind, Question, questions_in
from screener.rules.questions import N_


def _(text: str, **variables: object) -> str:
    """gettext, typed: Flask-Babel has no type information."""
    return str(gettext(text, **variables))


class ChoiceAnswer(RadioField):
    """One code (or one score, for scored questions such as PHQ-9 items)."""

    def __init__(self, question: Question, **kwargs: Any) -> None:
        scored = question.kind is Kind.INTEGER
        super().__init__(
            choices=[SelectChoice(option.code, option.label) for option in question.options],
            coerce=str,
            validate_choice=False,
            **kwargs,
        )
        self.question = question
        self.scored = scored

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and self.data not in self.question.codes:
            raise ValidationError(_("Select one of the answers shown"))

    def process_data(self, value: Any) -> None:
        self.data = None if value is None else str(value)

    def answer(self) -> AnswerValue | None:
        if self.data is None or self.data not in self.question.codes:
            return None
        return int(self.data) if self.scored else str(self.data)


class MultiAnswer(SelectMultipleField):
    """A "pick all" question shown as checkboxes; ``none`` must stand alone."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, question: Question, **kwargs: Any) -> None:
        choices = [SelectChoice(option.code, option.label) for option in question.options]
        super().__init__(choices=choices, validate_choice=False, **kwargs)
        self.question = question

    def pre_validate(self, form: Any) -> None:
        chosen = self.data or []
        if any(code not in self.question.codes for code in chosen):
            raise ValidationError(_("Select from the answers shown"))
        if "none" in chosen and len(chosen) > 1:
            raise ValidationError(
                _('Select "%(none)s" on its own, or select the other answers', none=_(self.question.label_for("none")))
            )

    def answer(self) -> AnswerValue | None:
        chosen = [code for code in self.question.codes if code in (self.data or [])]
        return tuple(chosen) if chosen else None


class NumberAnswer(StringField):
    """A whole number typed as text, so what was typed is shown again with the error."""

    def __init__(self, question: Question, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.question = question

    def pre_validate(self, form: Any) -> None:
        text = (self.data or "").strip()
        if text and self._parse(text) is None:
            raise ValidationError(
                _(
                    "Enter a whole number from %(minimum)s to %(maximum)s",
                    minimum=self.question.minimum,
                    maximum=self.question.maximum,
                )
            )

    def process_data(self, value: Any) -> None:
        self.data = "" if value is None else str(value)

    def _parse(self, text: str) -> int | None:
        # ASCII digits only (no signs, decimals or spaces inside; no "²" or "①", which isdigit() accepts and
        # int() refuses), and not thousands of them (int() refuses 4,300): the range check does the rest.
        if not is_ascii_number(text, max_digits=NUMBER_MAX_DIGITS):
            return None
        number = int(text)
        low, high = self.question.minimum or 0, self.question.maximum or 0
        return number if low <= number <= high else None

    def answer(self) -> AnswerValue | None:
        return self._parse((self.data or "").strip())


AnswerField = ChoiceAnswer | MultiAnswer | NumberAnswer
#: More digits than any answer needs, leading zeros included ("007"); longer is never a valid answer.
NUMBER_MAX_DIGITS = 12


def is_ascii_number(text: str, *, max_digits: int) -> bool:
    """``0``-``9`` only, at most ``max_digits`` of them (leading zeros included)."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


#: Format characters a name may hold: the zero-width non-joiner and joiner that Persian, Arabic and Indic
#: names need. Every other control or format character (bidi overrides and isolates, marks, invisible
#: hyphens and spaces) could reorder or hide what staff read, so it is refused.
NAME_JOINERS = frozenset({"\u200c", "\u200d"})


def has_hidden_characters(text: str) -> bool:
    """Any control (Cc) or format (Cf) character but a joiner: a name must read as it was typed."""
    return any(unicodedata.category(char) in ("Cc", "Cf") and char not in NAME_JOINERS for char in text)


def field_for(question: Question) -> Field:
    if question.kind is Kind.MULTI:
        return MultiAnswer(question)
    if question.kind is Kind.CHOICE or question.options:
        return ChoiceAnswer(question)
    return NumberAnswer(question)


class QuestionnaireForm(FlaskForm):
    """Base of every section form: CSRF plus one field per question."""

    class Meta:
        # Fields are named after question IDs; the errors belong to the page, in the person's language.
        locales = False

    def answer_fields(self, questions: Iterable[Question]) -> list[AnswerField]:
        return [self[question.id] for question in questions]

    def answers(self, questions: Iterable[Question]) -> dict[str, AnswerValue]:
        """The valid answers given on this page, by question ID (unanswered ones left out)."""
        given = {}
        for field in self.answer_fields(questions):
            value = field.answer()
            if value is not None and not field.errors:
                given[field.question.id] = value
        return given

    def require_answers(self, questions: Iterable[Question]) -> None:
        """Add a "please answer" error to each of these questions that has no answer."""
        for field in self.answer_fields(questions):
            if field.question.required and field.answer() is None and not field.errors:
                field.errors = [*field.errors, _missing_message(field.question)]

    def error_fields(self, questions: Iterable[Question]) -> list[AnswerField]:
        return [field for field in self.answer_fields(questions) if field.errors]


def _missing_message(question: Question) -> str:
    if question.kind is Kind.MULTI:
        return _("Select at least one answer")
    if question.kind is Kind.INTEGER and not question.options:
        return _(
            "Enter a whole number from %(minimum)s to %(maximum)s", minimum=question.minimum, maximum=question.maximum
        )
    return _("Select an answer")


@cache
def section_form_class(section_id: str) -> type[QuestionnaireForm]:
    """One form class per section, made once: fields are the section's questions."""
    fields = {question.id: field_for(question) for question in questions_in(section_id)}
    return type(f"Section{section_id}Form", (QuestionnaireForm,), fields)


def section_form(section_id: str, saved: Mapping[str, Any] | None = None) -> QuestionnaireForm:
    """The section's form: filled from the request on POST, else from the saved answers."""
    data = {qid: list(value) if isinstance(value, tuple | list) else value for qid, value in (saved or {}).items()}
    return section_form_class(section_id)(data=data)


# --- Staff intake: every section on one page, and who the patient is ----------------------

#: Longest name kept (the column is unbounded; a page of text is not a name). MRNs fit their column.
SUBJECT_NAME_MAX = 200
SUBJECT_MRN_MAX = 64
#: Years back a date of birth may go: the age question's own range (0-120).
OLDEST_AGE_YEARS = 120
BIRTH_DATE_PARTS = ("day", "month", "year")
#: The most digits each part may have (a year of more than 4 is named as such below).
BIRTH_DATE_DIGITS = {"day": 2, "month": 2, "year": 8}


@dataclass(frozen=True)
class SubjectEntry:
    """The patient's identifiers as staff entered them, checked."""

    name: str
    birth_date: date
    mrn: str | None


class IntakeForm(QuestionnaireForm):
    """Every question (sections A-H and the staff-only N) plus the patient's identifiers.

    Staff enter a whole screening on one page; which questions are shown still follows the
    enable rules, decided by the view as on the patient pages. The hidden fields carry the
    form's one-time key (double submits), the questions the page showed, and the version amended.
    Staff pages are English only, so the identifier messages are not translated.
    """

    subject_name = StringField()
    birth_day = StringField()
    birth_month = StringField()
    birth_year = StringField()
    subject_mrn = StringField()
    form_key = HiddenField()
    shown = HiddenField()
    based_on = HiddenField()

    #: The date of birth's one message, and the parts it is about (those inputs get the error style).
    birth_date_error: str | None = None
    birth_date_parts: tuple[str, ...] = ()

    def subject(self, today: date) -> SubjectEntry | None:
        """The checked identifiers, or None after putting a message on each wrong one.

        ``today`` is the latest date that is not in the future for the clinic.
        """
        name = " ".join((self.subject_name.data or "").split())
        mrn = (self.subject_mrn.data or "").strip()
        if not name:
            self.subject_name.errors = ["Enter the patient's full name"]
        elif len(name) > SUBJECT_NAME_MAX:
            self.subject_name.errors = [f"Name must be {SUBJECT_NAME_MAX} characters or fewer"]
        elif has_hidden_characters(name):
            self.subject_name.errors = ["Name must only include letters, spaces and punctuation"]
        if len(mrn) > SUBJECT_MRN_MAX:
            self.subject_mrn.errors = [f"MRN must be {SUBJECT_MRN_MAX} characters or fewer"]
        elif has_hidden_characters(mrn) or any(char in NAME_JOINERS for char in mrn):
            self.subject_mrn.errors = ["MRN must only include letters, numbers and punctuation"]
        birth_date = self._birth_date(today)
        if birth_date is None or self.subject_name.errors or self.subject_mrn.errors:
            return None
        return SubjectEntry(name, birth_date, mrn or None)

    def subject_errors(self) -> list[tuple[str, str, str]]:
        """(input id, label, message) of each wrong identifier, in page order, for the error summary.

        The messages name their field, so the label is left empty (a question's would be its text).
        """
        found = []
        if self.subject_name.errors:
            found.append((self.subject_name.id, "", str(self.subject_name.errors[0])))
        if self.birth_date_error:
            found.append((f"birth_{self.birth_date_parts[0]}", "", self.birth_date_error))
        if self.subject_mrn.errors:
            found.append((self.subject_mrn.id, "", str(self.subject_mrn.errors[0])))
        return found

    def _birth_date(self, today: date) -> date | None:
        typed = {part: (self[f"birth_{part}"].data or "").strip() for part in BIRTH_DATE_PARTS}
        missing = tuple(part for part in BIRTH_DATE_PARTS if not typed[part])
        not_numbers = tuple(
            part
            for part in BIRTH_DATE_PARTS
            if typed[part] and not is_ascii_number(typed[part], max_digits=BIRTH_DATE_DIGITS[part])
        )
        if len(missing) == len(BIRTH_DATE_PARTS):
            return self._date_problem("Enter the date of birth", BIRTH_DATE_PARTS)
        if missing:
            return self._date_problem(f"Date of birth must include a {' and '.join(missing)}", missing)
        if not_numbers:
            return self._date_problem("Date of birth must be a real date, in numbers", not_numbers)
        if len(typed["year"]) != 4:
            return self._date_problem("Year must include 4 numbers", ("year",))
        day, month, year = (int(typed[part]) for part in BIRTH_DATE_PARTS)
        if not 1 <= month <= 12:
            return self._date_problem("Date of birth must be a real date: the month is from 1 to 12", ("month",))
        try:
            born = date(year, month, day)
        except ValueError:
            return self._date_problem("Date of birth must be a real date", ("day",))
        if born > today:
            return self._date_problem("Date of birth must be today or in the past", BIRTH_DATE_PARTS)
        if born.year < today.year - OLDEST_AGE_YEARS:
            return self._date_problem(f"Date of birth must be within the last {OLDEST_AGE_YEARS} years", ("year",))
        return born

    def _date_problem(self, message: str, parts: tuple[str, ...]) -> date | None:
        """Note the date's problem; None, so a check can ``return`` it."""
        self.birth_date_error = message
        self.birth_date_parts = parts
        return None


@cache
def intake_form_class() -> type[IntakeForm]:
    """The intake form class, made once: the identifiers plus a field for every question."""
    fields = {question.id: field_for(question) for question in QUESTIONS}
    return type("IntakeQuestionsForm", (IntakeForm,), fields)


def intake_form(
    saved: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    birth_date: date | None = None,
    mrn: str | None = None,
) -> IntakeForm:
    """The intake form: filled from the request on POST, else from saved answers and identifiers."""
    data = {qid: list(value) if isinstance(value, tuple | list) else value for qid, value in (saved or {}).items()}
    data |= {"subject_name": name or "", "subject_mrn": mrn or ""}
    if birth_date is not None:
        data |= {
            "birth_day": str(birth_date.day),
            "birth_month": str(birth_date.month),
            "birth_year": str(birth_date.year),
        }
    return intake_form_class()(data=data)


# --- The contact offer beside an urgent panel ---------------------------------------------

#: Best times to call, as offered (codes stored with the alert; labels translated on the page).
CONTACT_TIMES = (
    ("morning", N_("Morning")),
    ("afternoon", N_("Afternoon")),
    ("evening", N_("Evening")),
    ("any", N_("Any time")),
)
CONTACT_NAME_MAX = 100
#: A phone number: digits with the usual separators; 6 to 15 digits (E.164 allows 15).
PHONE_SEPARATORS = frozenset(" +-().")
PHONE_DIGITS = (6, 15)


@dataclass(frozen=True)
class ContactEntry:
    """What a person in crisis chose to leave for the care team, checked."""

    name: str | None
    phone: str
    best_time: str | None


def _plain_text(text: str) -> bool:
    """No control or format characters (bidi overrides, invisible marks): a name reads as typed."""
    return not has_hidden_characters(text)


class ContactOfferForm(FlaskForm):
    """ "Can we contact you?": optional, never a barrier to the help contacts above it."""

    class Meta:
        locales = False

    contact_name = StringField()
    contact_phone = StringField()
    contact_time = RadioField(choices=[code for code, _label in CONTACT_TIMES], validate_choice=False)
    back = HiddenField()

    def details(self) -> ContactEntry | None:
        """The checked details, or None after putting a message on each wrong field."""
        name = " ".join((self.contact_name.data or "").split())
        phone = " ".join((self.contact_phone.data or "").split())
        digits = sum(character.isdigit() for character in phone)
        if len(name) > CONTACT_NAME_MAX:
            self.contact_name.errors = [_("Name must be %(max)s characters or fewer", max=CONTACT_NAME_MAX)]
        elif not _plain_text(name):
            self.contact_name.errors = [_("Name must only include letters, spaces and punctuation")]
        if not phone:
            self.contact_phone.errors = [_("Enter a phone number, or choose No thanks")]
        elif (
            any(not (c.isascii() and c.isdigit()) and c not in PHONE_SEPARATORS for c in phone)
            or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]
        ):
            self.contact_phone.errors = [_("Enter a phone number, like 07700 900 982 or (555) 010-0100")]
        time = self.contact_time.data
        if time is not None and time not in dict(CONTACT_TIMES):
            self.contact_time.errors = [_("Select one of the times shown")]
        if self.contact_name.errors or self.contact_phone.errors or self.contact_time.errors:
            return None
        return ContactEntry(name or None, phone, time)

    def error_fields(self) -> list[Field]:
        return [field for field in (self.contact_name, self.contact_phone, self.contact_time) if field.errors]
