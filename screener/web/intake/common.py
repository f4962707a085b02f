"""What the intake pages share: the blueprint, reading the one-page form, one-time form keys.

Staff enter a whole screening on one page, in English. The enable rules still run here on
the server, as on the patient pages: only enabled questions are shown, answers that open new
questions bring the page back with them marked, and stale answers are thrown away. Every
stored version keeps its decision exactly as made (design.md section 4).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale

from screener import store
from screener.clock import utcnow
from screener.forms import IntakeForm, SubjectEntry
from screener.rules import (
    QUESTIONS,
    QUESTIONS_BY_ID,
    RULES,
    SECTIONS,
    Answers,
    AnswerValue,
    ClinicConfig,
    Kind,
    Question,
    asked_questions,
    enabled_questions,
    parse_answers,
)
from screener.store import intake as intake_store
from screener.web.access import StaffMember
from screener.web.records import version_record

bp = Blueprint("intake", __name__, url_prefix="/staff")

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])

#: The Flask session's list of [form key, screening id or None]: the intake forms this browser was given.
FORM_KEYS = "intake_forms"
#: Forms remembered per browser (the session is a cookie: keep it small).
FORM_KEYS_KEPT = 12
FORM_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
ACTION_TAKEN_MAX = 1000
#: The latest time zone is UTC+14: a birth "today" at any clinic is never in the future there.
LATEST_UTC_OFFSET = timedelta(hours=14)
RULE_TITLES = {rule.id: rule.title for rule in RULES}
DETAIL_ENDPOINT = "review.screening"
ENTERED_IN_ERROR = "entered-in-error"


def in_english(view: View) -> View:
    """Staff pages are English, whatever the browser asks for: the wording and stored warnings too."""

    @wraps(view)
    def english(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        with force_locale("en"):
            return view(*args, **kwargs)

    return cast(View, english)


def clinic() -> ClinicConfig:
    config: ClinicConfig = current_app.config["CLINIC_CONFIG"]
    return config


def detail_url(screening_id: int) -> str:
    """The screening's staff page (the review blueprint's; its path while that is not built)."""
    if DETAIL_ENDPOINT in current_app.view_functions:
        return url_for(DETAIL_ENDPOINT, screening_id=screening_id)
    return f"{bp.url_prefix}/screenings/{screening_id}"


def _today() -> date:
    return (utcnow() + LATEST_UTC_OFFSET).date()


# --- Reading the one-page form ------------------------------------------------------------


@dataclass
class _Submission:
    """What the form sent, checked against the enable rules and the page it came from."""

    shown_before: list[Question]
    shown_now: list[Question]
    new_questions: list[Question]
    answers: Answers
    subject: SubjectEntry | None
    summary: list[tuple[str, str, str]]
    wrong: list[Question]

    def shown_again(self) -> list[Question]:
        """What a page with errors shows: the questions asked now (new ones marked), and every wrong one."""
        return [question for question in QUESTIONS if question in self.shown_now or question in self.wrong]


def shown_on_page(form: IntakeForm) -> list[Question]:
    """The questions the page showed (its hidden list); a page without one showed the first set."""
    ids = set((form.shown.data or "").split())
    shown = [question for qid, question in QUESTIONS_BY_ID.items() if qid in ids]
    return shown or list(enabled_questions({}, clinic()))


def _as_json(answers: Mapping[str, AnswerValue]) -> dict[str, Any]:
    return {qid: list(value) if isinstance(value, tuple) else value for qid, value in answers.items()}


def read_form(form: IntakeForm) -> _Submission:
    """Like a patient page's save: answers of the questions shown, required ones still asked checked."""
    form.validate()
    shown_before = shown_on_page(form)
    given = form.answers(shown_before)
    # Staff see every question whose answer is kept, urgent answers for a child under 12 included
    # (rules.md BT7); only the questions the questionnaire asks are required.
    shown_now = list(enabled_questions(given, clinic()))
    required = set(asked_questions(given, clinic()))
    form.require_answers([question for question in shown_before if question in shown_now and question in required])
    subject = form.subject(_today())
    wrong = form.error_fields(shown_before)
    summary = form.subject_errors() + [
        (_anchor(field.question, field.id), field.question.text, str(field.errors[0])) for field in wrong
    ]
    return _Submission(
        shown_before=shown_before,
        shown_now=shown_now,
        new_questions=[question for question in shown_now if question not in shown_before],
        answers=parse_answers(_as_json(given), clinic()),  # drops answers to questions no longer asked
        subject=subject,
        summary=summary,
        wrong=[field.question for field in wrong],
    )


def _anchor(question: Question, field_id: str) -> str:
    """The id of the input an error summary link moves to (the first option of a choice)."""
    return field_id if question.kind is Kind.INTEGER and not question.options else f"{field_id}-0"


def render_form(
    form: IntakeForm,
    shown: Iterable[Question],
    *,
    status: int = 200,
    summary: list[tuple[str, str, str]] | None = None,
    new_questions: Iterable[Question] = (),
    screening: store.Screening | None = None,
    version: store.ScreeningVersion | None = None,
    notice: str | None = None,
) -> ResponseReturnValue:
    shown = list(shown)
    form.shown.data = " ".join(question.id for question in shown)
    sections = [
        (section, form.answer_fields([question for question in shown if question.section == section.id]))
        for section in SECTIONS
        if any(question.section == section.id for question in shown)
    ]
    return (
        render_template(
            "intake/form.html",
            form=form,
            sections=sections,
            summary=summary or [],
            new_ids={question.id for question in new_questions},
            screening=screening,
            version=version,
            notice=notice,
            action=url_for("intake.amend", screening_id=screening.id) if screening else url_for("intake.start"),
            detail_url=detail_url,
        ),
        status,
    )


def staff_version_record(answers: Answers, member: StaffMember, *, source: str | None) -> store.VersionRecord:
    """Warnings in English, as the staff member saw them."""
    return version_record(
        answers, clinic(), author_role=member.role.value, author_id=member.user_id, source=source, language="en"
    )


def subject_from(entry: SubjectEntry) -> intake_store.Subject:
    return intake_store.Subject(entry.name, entry.birth_date, entry.mrn)


def saved_message(reference_code: str, urgent: bool) -> None:
    flash(f"Saved. Reference code {reference_code}.")
    if urgent:
        flash("Urgent: the answers need same-day contact. An urgent alert was raised for the care team.")


# --- One-time form keys (double submits) --------------------------------------------------


def issue_form_key() -> str:
    key = secrets.token_urlsafe(16)
    kept = [entry for entry in session.get(FORM_KEYS, []) if isinstance(entry, list) and len(entry) == 2]
    session[FORM_KEYS] = [*kept, [key, None]][-FORM_KEYS_KEPT:]
    return key


def form_used_for(key: str) -> int | None:
    """The screening this browser's form already created, if it was sent before."""
    for entry in session.get(FORM_KEYS, []):
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == key and isinstance(entry[1], int):
            return entry[1]
    return None


def remember_form(key: str, screening_id: int) -> None:
    kept = [entry for entry in session.get(FORM_KEYS, []) if isinstance(entry, list) and entry[:1] != [key]]
    session[FORM_KEYS] = [*kept, [key, screening_id]][-FORM_KEYS_KEPT:]


def already_saved(screening_id: int) -> ResponseReturnValue:
    flash("This form was already sent, so nothing new was saved. This is the screening it created.")
    return redirect(detail_url(screening_id))
