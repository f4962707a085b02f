"""Nurse intake: new intakes, finding a self-screen by its reference code, amendments; urgent alerts.

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

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import IntakeForm, SubjectEntry, intake_form
from screener.models import StaffUser
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
    parse_answers,
)
from screener.store import intake as intake_store
from screener.store.screenings import CODE_ALPHABET, count_open_alerts
from screener.web.access import CARE_TEAM, StaffMember, audit, current_staff, requires
from screener.web.limits import limiter
from screener.web.records import urgent_rule_ids, version_record

bp = Blueprint("intake", __name__, url_prefix="/staff")

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])

#: The Flask session's list of [form key, screening id or None]: the intake forms this browser was given.
FORM_KEYS = "intake_forms"
#: Forms remembered per browser (the session is a cookie: keep it small).
FORM_KEYS_KEPT = 12
FORM_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
ACTION_TAKEN_MAX = 1000
REFERENCE_CODE_SYMBOLS = 8
#: The latest time zone is UTC+14: a birth "today" at any clinic is never in the future there.
LATEST_UTC_OFFSET = timedelta(hours=14)
RULE_TITLES = {rule.id: rule.title for rule in RULES}
DETAIL_ENDPOINT = "review.screening"
ENTERED_IN_ERROR = "entered-in-error"


def _in_english(view: View) -> View:
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


def _shown_on_page(form: IntakeForm) -> list[Question]:
    """The questions the page showed (its hidden list); a page without one showed the first set."""
    ids = set((form.shown.data or "").split())
    shown = [question for qid, question in QUESTIONS_BY_ID.items() if qid in ids]
    return shown or list(asked_questions({}, clinic()))


def _as_json(answers: Mapping[str, AnswerValue]) -> dict[str, Any]:
    return {qid: list(value) if isinstance(value, tuple) else value for qid, value in answers.items()}


def _read(form: IntakeForm) -> _Submission:
    """Like a patient page's save: answers of the questions shown, required ones still asked checked."""
    form.validate()
    shown_before = _shown_on_page(form)
    given = form.answers(shown_before)
    shown_now = list(asked_questions(given, clinic()))
    form.require_answers([question for question in shown_before if question in shown_now])
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


def _render_form(
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


def _version_record(answers: Answers, member: StaffMember, *, source: str | None) -> store.VersionRecord:
    """Warnings in English, as the staff member saw them."""
    return version_record(
        answers, clinic(), author_role=member.role.value, author_id=member.user_id, source=source, language="en"
    )


def _subject(entry: SubjectEntry) -> intake_store.Subject:
    return intake_store.Subject(entry.name, entry.birth_date, entry.mrn)


def _saved_message(reference_code: str, urgent: bool) -> None:
    flash(f"Saved. Reference code {reference_code}.")
    if urgent:
        flash("Urgent: the answers need same-day contact. An urgent alert was raised for the care team.")


# --- One-time form keys (double submits) --------------------------------------------------


def _issue_form_key() -> str:
    key = secrets.token_urlsafe(16)
    kept = [entry for entry in session.get(FORM_KEYS, []) if isinstance(entry, list) and len(entry) == 2]
    session[FORM_KEYS] = [*kept, [key, None]][-FORM_KEYS_KEPT:]
    return key


def _form_used_for(key: str) -> int | None:
    """The screening this browser's form already created, if it was sent before."""
    for entry in session.get(FORM_KEYS, []):
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == key and isinstance(entry[1], int):
            return entry[1]
    return None


def _remember_form(key: str, screening_id: int) -> None:
    kept = [entry for entry in session.get(FORM_KEYS, []) if isinstance(entry, list) and entry[:1] != [key]]
    session[FORM_KEYS] = [*kept, [key, screening_id]][-FORM_KEYS_KEPT:]


def _already_saved(screening_id: int) -> ResponseReturnValue:
    flash("This form was already sent, so nothing new was saved. This is the screening it created.")
    return redirect(detail_url(screening_id))


# --- New intake ---------------------------------------------------------------------------


@bp.route("/intake", methods=["GET", "POST"])
@requires(*CARE_TEAM)
@_in_english
def start() -> ResponseReturnValue:
    """A whole screening entered by a nurse or clinician with the patient, identifiers included."""
    if request.method == "GET":
        form = intake_form()
        form.form_key.data = _issue_form_key()
        return _render_form(form, asked_questions({}, clinic()))
    form = intake_form()
    key = form.form_key.data or ""
    if not FORM_KEY_PATTERN.fullmatch(key):
        form.validate()
        form.form_key.data = _issue_form_key()
        notice = "This form could not be matched to a page you opened. Check the answers, then save again."
        return _render_form(form, _shown_on_page(form), status=400, notice=notice)
    used = _form_used_for(key)
    if used is not None:
        return _already_saved(used)
    submitted = _read(form)
    if submitted.subject is None or submitted.summary:
        return _render_form(
            form, submitted.shown_again(), status=400, summary=submitted.summary, new_questions=submitted.new_questions
        )
    if submitted.new_questions:
        return _render_form(form, submitted.shown_now, new_questions=submitted.new_questions)
    member = current_staff()
    key_hash = intake_store.form_key_hash(key)
    with get_db().write() as db:
        intake_store.claim_form_key(db, key_hash)
        existing = intake_store.form_screening(db, actor_id=member.user_id, key_hash=key_hash)
        if existing is None:
            source = submitted.answers.get("completed_by")
            record = _version_record(submitted.answers, member, source=source if isinstance(source, str) else None)
            screening = intake_store.create_screening(
                db,
                record=record,
                subject=_subject(submitted.subject),
                now=utcnow(),
                urgent_rule_ids=urgent_rule_ids(record),
            )
            audit(
                db,
                intake_store.CREATE_ACTION,
                object_type="screening",
                object_id=screening.id,
                detail={"version": 1, "form": key_hash},
            )
    if existing is not None:
        _remember_form(key, existing)
        return _already_saved(existing)
    _remember_form(key, screening.id)
    _saved_message(screening.reference_code, screening.urgent)
    return redirect(detail_url(screening.id))


# --- Check or amend with the patient ------------------------------------------------------


def _screening_or_404(db: Any, screening_id: int) -> tuple[store.Screening, store.ScreeningVersion]:
    screening = store.get_screening(db, screening_id)
    if screening is None:
        abort(404)
    return screening, store.current_version(db, screening)


def _changed_since(screening_id: int, current: int) -> ResponseReturnValue:
    flash(
        f"This screening changed while the form was open: version {current} is now the latest. "
        "Nothing was saved. Check it, then amend again if needed."
    )
    return redirect(detail_url(screening_id))


@bp.route("/screenings/<int:screening_id>/amend", methods=["GET", "POST"])
@requires(*CARE_TEAM)
@_in_english
def amend(screening_id: int) -> ResponseReturnValue:
    """Check or correct the answers with the patient: a new version, the old one kept as it was."""
    if request.method == "GET":
        with get_db().write() as db:
            screening, version = _screening_or_404(db, screening_id)
            audit(
                db,
                "screening.view",
                object_type="screening",
                object_id=screening.id,
                detail={"version": version.number, "page": "amend"},
            )
        if screening.status == ENTERED_IN_ERROR:
            return _entered_in_error(screening.id)
        form = intake_form(
            version.answers,
            name=screening.subject_name,
            birth_date=screening.subject_birth_date,
            mrn=screening.subject_mrn,
        )
        form.based_on.data = str(version.number)
        return _render_form(form, asked_questions(version.answers, clinic()), screening=screening, version=version)

    form = intake_form()
    with get_db().read() as db:
        screening, version = _screening_or_404(db, screening_id)
    if screening.status == ENTERED_IN_ERROR:
        return _entered_in_error(screening.id)
    if form.based_on.data != str(version.number):  # a second submit, or someone else amended first
        return _changed_since(screening.id, version.number)
    submitted = _read(form)
    if submitted.subject is None or submitted.summary:
        return _render_form(
            form,
            submitted.shown_again(),
            status=400,
            summary=submitted.summary,
            new_questions=submitted.new_questions,
            screening=screening,
            version=version,
        )
    if submitted.new_questions:
        return _render_form(
            form, submitted.shown_now, new_questions=submitted.new_questions, screening=screening, version=version
        )
    subject = _subject(submitted.subject)
    if submitted.answers.to_json() == version.answers and subject == intake_store.subject_of(screening):
        flash(f"Nothing was changed, so version {version.number} is still the latest.")
        return redirect(detail_url(screening.id))
    member = current_staff()
    with get_db().write() as db:
        locked = intake_store.lock_screening(db, screening_id)
        if locked is None:
            abort(404)
        if locked.current_version != version.number:
            return _changed_since(screening_id, locked.current_version)
        record = _version_record(submitted.answers, member, source="patient")
        amended = intake_store.amend_screening(
            db, locked, record=record, subject=subject, now=utcnow(), urgent_rule_ids=urgent_rule_ids(record)
        )
        audit(
            db, "screening.amend", object_type="screening", object_id=screening_id, detail={"version": amended.number}
        )
        urgent = locked.urgent
    flash(f"Saved as version {amended.number}. Version {version.number} is kept as it was.")
    if urgent:
        flash("Urgent: the answers need same-day contact. Check the urgent alerts.")
    return redirect(detail_url(screening_id))


def _entered_in_error(screening_id: int) -> ResponseReturnValue:
    flash("This screening was marked as entered in error, so it cannot be amended.")
    return redirect(detail_url(screening_id))


# --- Find a self-screen -------------------------------------------------------------------


def _no_code_given() -> bool:
    return not request.args.get("code", "").strip()


@bp.get("/find")
@requires(*CARE_TEAM)
@limiter.limit("30 per minute", exempt_when=_no_code_given)  # per address: codes are guessable only by brute force
def find() -> ResponseReturnValue:
    """Open a patient's self-screen from the reference code they bring, however it is typed."""
    code = request.args.get("code")
    if code is None:
        return render_template("intake/find.html", code="", error=None)
    typed = code.strip()[:64]
    if not typed:
        return render_template("intake/find.html", code="", error="Enter the reference code"), 400
    normalised = store.normalise_code(typed)
    well_formed = len(normalised) == REFERENCE_CODE_SYMBOLS and all(symbol in CODE_ALPHABET for symbol in normalised)
    with get_db().write() as db:
        screening = store.find_screening_by_reference(db, typed) if well_formed else None
        found = screening is not None
        detail: dict[str, Any] = {"found": found}
        if well_formed and not found:
            detail["code"] = normalised  # a code is not patient data; anything else typed might be
        audit(
            db,
            "screening.find",
            object_type="screening",
            object_id=screening.id if screening else None,
            outcome="success" if found else "failure",
            detail=detail,
        )
    if screening is not None:
        return redirect(detail_url(screening.id))
    error = "No screening has that reference code."
    if not well_formed:
        error += " Reference codes have 8 letters and numbers, like 7KQ2-M9XD."
    return render_template("intake/find.html", code=typed, error=error), 404 if well_formed else 400


# --- Urgent alerts ------------------------------------------------------------------------


def _render_alerts(
    *, errors: Mapping[int, str] | None = None, typed: Mapping[int, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    with get_db().read() as db:
        pending = intake_store.open_alerts(db)
        handled = intake_store.recent_acknowledged_alerts(db, now=utcnow())
        total = count_open_alerts(db)
    return (
        render_template(
            "intake/alerts.html",
            pending=pending,
            handled=handled,
            total=total,
            rule_titles=RULE_TITLES,
            errors=errors or {},
            typed=typed or {},
            action_max=ACTION_TAKEN_MAX,
            detail_url=detail_url,
        ),
        status,
    )


@bp.get("/alerts")
@requires(*CARE_TEAM)
def alerts() -> ResponseReturnValue:
    """Urgent alerts: the open ones first, oldest first (same-day contact), then those handled lately."""
    return _render_alerts()


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires(*CARE_TEAM)
def acknowledge(alert_id: int) -> ResponseReturnValue:
    """Close an alert with what was done; once only, so two staff members cannot both close it."""
    typed = (request.form.get("action_taken") or "").replace("\r\n", "\n")
    action_taken = typed.strip()
    problem = None
    if not action_taken:
        problem = "Enter what was done"
    elif len(action_taken) > ACTION_TAKEN_MAX:
        problem = f"What was done must be {ACTION_TAKEN_MAX:,} characters or fewer"
    if problem:
        return _render_alerts(errors={alert_id: problem}, typed={alert_id: typed}, status=400)
    member = current_staff()
    with get_db().write() as db:
        result, alert = intake_store.acknowledge_alert(
            db, alert_id, user_id=member.user_id, action_taken=action_taken, now=utcnow()
        )
        if alert is None:
            abort(404)
        if result is intake_store.Acknowledgement.ALREADY:
            message = _already_acknowledged(db, alert)
        else:
            message = "Alert acknowledged."
        audit(
            db,
            "alert.acknowledge",
            object_type="staff_alert",
            object_id=alert.id,
            outcome="success" if result is intake_store.Acknowledgement.DONE else "failure",
            detail={"screening": alert.screening_id, "already": result is intake_store.Acknowledgement.ALREADY},
        )
    flash(message)
    return redirect(url_for("intake.alerts"))


def _already_acknowledged(db: Any, alert: store.StaffAlert) -> str:
    by = db.get(StaffUser, alert.acknowledged_by) if alert.acknowledged_by is not None else None
    when = f" on {alert.acknowledged_at:%d %b %Y at %H:%M} UTC" if alert.acknowledged_at else ""
    who = by.display_name if by else "another staff member"
    return f"This alert was already acknowledged by {who}{when}. Nothing was changed."
