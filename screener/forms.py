"""WTForms for the questionnaire, built from the question catalogue (one source of truth).

A section's form has a field for every question of the section; which of them are shown,
and which must be answered, depends on the other answers (the enable rules), so the view
decides that with ``require_answers``. The fields only turn what was typed into an answer,
or an error message, and keep the typed text for the re-rendered page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from screener.rules import AnswerValue, Kind, Question, questions_in


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
        if not text.isdigit():  # digits only: no signs, decimals or spaces inside
            return None
        number = int(text)
        low, high = self.question.minimum or 0, self.question.maximum or 0
        return number if low <= number <= high else None

    def answer(self) -> AnswerValue | None:
        return self._parse((self.data or "").strip())


AnswerField = ChoiceAnswer | MultiAnswer | NumberAnswer


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
