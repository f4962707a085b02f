"""The patient's self-screening journey: start, question pages, check answers, result.

No account: an in-progress response (a draft) is tied to this browser by a random token in
the session cookie and saved on the server after every page, so a closed browser loses
nothing. Enable rules run here on the server, so every page works without JavaScript.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import QuestionnaireForm, section_form
from screener.rules import (
    QUESTIONS_BY_ID,
    SECTIONS,
    URGENT_RULE_IDS,
    AnswerValue,
    ClinicConfig,
    Decision,
    Outcome,
    Question,
    asked_questions,
    evaluate,
    parse_answers,
)
from screener.web.limits import limiter
from screener.web.records import urgent_rule_ids, version_record

bp = Blueprint("patient", __name__)

PATIENT_SECTIONS = tuple(section for section in SECTIONS if not section.staff_only)
PATIENT_SECTION_IDS = tuple(section.id for section in PATIENT_SECTIONS)
DRAFT_KEY, SEEN_KEY, RESULT_KEY, SAVED_CODE_KEY = "draft", "seen", "result", "saved_code"
#: The idle clock's resolution in seconds: the idle timeout is honoured to within this.
SEEN_RESOLUTION = 15


# --- Session and draft helpers ------------------------------------------------------------


def clinic() -> ClinicConfig:
    config: ClinicConfig = current_app.config["CLINIC_CONFIG"]
    return config


def _language() -> str:
    return str(get_locale() or "en")


def _forget_patient() -> None:
    """Clear everything this device knows about the person; keep only the language choice."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


@bp.before_request
def enforce_idle_timeout() -> ResponseReturnValue | None:
    """Shared devices: after the idle timeout, this browser forgets the answers."""
    now = int(time.time())
    seen = session.get(SEEN_KEY)
    idle = current_app.config["PATIENT_IDLE_MINUTES"] * 60
    holds_answers = DRAFT_KEY in session or RESULT_KEY in session
    if not isinstance(seen, int) or now - seen >= SEEN_RESOLUTION:
        session[SEEN_KEY] = now  # re-signing the cookie on every request would cost more than it tells
        session.permanent = True
    if holds_answers and isinstance(seen, int) and now - seen > idle:
        _forget_patient()
        flash(_("You were inactive for a while, so we cleared your answers from this device."), "info")
        if request.endpoint != "patient.start":
            return redirect(url_for("patient.start"))
    return None


def _draft_answers(draft: store.Draft) -> dict[str, AnswerValue]:
    return dict(draft.answers)


def _shown(section_id: str, answers: Mapping[str, Any]) -> list[Question]:
    return [q for q in asked_questions(answers, clinic()) if q.section == section_id]


def _next_url(section_id: str | None, asked_now: Iterable[Question]) -> str:
    """The next section that asks anything, else the check-your-answers page."""
    asked = {q.section for q in asked_now}
    start = PATIENT_SECTION_IDS.index(section_id) + 1 if section_id else 0
    for candidate in PATIENT_SECTION_IDS[start:]:
        if candidate in asked:
            return url_for("patient.section", section_id=candidate)
    return url_for("patient.check")


def _previous_url(section_id: str, answers: Mapping[str, Any]) -> str:
    asked = {q.section for q in asked_questions(answers, clinic())}
    for candidate in reversed(PATIENT_SECTION_IDS[: PATIENT_SECTION_IDS.index(section_id)]):
        if candidate in asked:
            return url_for("patient.section", section_id=candidate)
    return url_for("patient.start")


def _as_json(answers: Mapping[str, AnswerValue]) -> dict[str, Any]:
    return {qid: list(value) if isinstance(value, tuple) else value for qid, value in answers.items()}


def _crisis_warnings(decision: Decision, only: Iterable[str] | None = None) -> list[dict[str, str]]:
    wanted = set(URGENT_RULE_IDS if only is None else only)
    return [
        {"id": w.id, "severity": w.severity.value, "text": _(w.text)} for w in decision.warnings if w.rule_id in wanted
    ]


def _draft_or_none() -> store.Draft | None:
    token = session.get(DRAFT_KEY)
    if not isinstance(token, str):
        return None
    with get_db().read() as db:
        return store.find_draft(db, token, utcnow())


# --- Start, language, about ---------------------------------------------------------------


@bp.get("/")
def start() -> ResponseReturnValue:
    return render_template("patient/start.html", in_progress=_draft_or_none() is not None)


@bp.post("/start")
@limiter.limit("60 per minute")  # one waiting-room tablet may start many forms a day, not a minute
def begin() -> ResponseReturnValue:
    if _draft_or_none() is None:
        _forget_patient()
        with get_db().write() as db:
            lifetime = timedelta(hours=current_app.config["RESUME_HOURS"])
            _draft, token = store.create_draft(
                db, language=_language(), jurisdiction=clinic().jurisdiction.value, now=utcnow(), lifetime=lifetime
            )
        session[DRAFT_KEY] = token
    return redirect(url_for("patient.section", section_id=PATIENT_SECTION_IDS[0]))


@bp.post("/start-again")
def start_again() -> ResponseReturnValue:
    """Clear everything: this device's session and the unfinished answers on the server."""
    token = session.get(DRAFT_KEY)
    if isinstance(token, str):
        with get_db().write() as db:
            draft = store.find_draft(db, token, utcnow())
            if draft is not None:
                store.delete_draft(db, draft)
    _forget_patient()
    flash(_("Your answers have been cleared from this device."), "info")
    return redirect(url_for("patient.start"))


@bp.post("/keep-alive")
def keep_alive() -> ResponseReturnValue:
    """The idle-timeout warning's "I need more time": the before_request hook refreshed the clock."""
    return "", 204


@bp.get("/about-isotretinoin")
def about() -> ResponseReturnValue:
    return render_template("patient/about.html")


# --- Question pages -----------------------------------------------------------------------


def _section_or_404(section_id: str) -> str:
    if section_id not in PATIENT_SECTION_IDS:
        abort(404)
    return section_id


@bp.get("/questions/<section_id>")
def section(section_id: str) -> ResponseReturnValue:
    _section_or_404(section_id)
    draft = _draft_or_none()
    if draft is None:
        return _no_draft()
    answers = _draft_answers(draft)
    shown = _shown(section_id, answers)
    if not shown:  # nothing to ask here under the current answers (e.g. under 12)
        return redirect(_next_url(section_id, asked_questions(answers, clinic())))
    return _render_section(section_id, section_form(section_id, answers), shown, answers)


@bp.post("/questions/<section_id>")
def save_section(section_id: str) -> ResponseReturnValue:
    _section_or_404(section_id)
    form = section_form(section_id)
    saving_for_later = request.form.get("action") == "save"
    token = session.get(DRAFT_KEY)
    if not isinstance(token, str):
        return _no_draft()
    with get_db().write() as db:
        draft = store.find_draft(db, token, utcnow())
        if draft is None:
            return _no_draft()
        saved = _draft_answers(draft)
        shown_before = _shown(section_id, saved)
        form.validate()
        given = form.answers(shown_before)
        # Answers on other pages stay; this page's answers are replaced by what was sent.
        candidate = {qid: v for qid, v in saved.items() if QUESTIONS_BY_ID[qid].section != section_id} | given
        # Validated, and stale answers to questions no longer asked thrown away (rules.md section 4).
        parsed = parse_answers(_as_json(candidate), clinic())
        answers = dict(parsed.values)
        asked_now = asked_questions(answers, clinic())
        shown_now = [q for q in asked_now if q.section == section_id]
        if not saving_for_later:
            form.require_answers([q for q in shown_before if q in shown_now])
        if form.error_fields(shown_before):
            db.rollback()  # bad input changes nothing
            return _render_section(section_id, form, shown_before, saved, status=400)
        store.save_answers(db, draft, _as_json(answers), utcnow())
        new_questions = [q for q in shown_now if q not in shown_before and q.id not in answers]
        urgent = _new_urgent_rules(db, draft, evaluate(parsed, clinic()))
        if saving_for_later:
            code = _issue_resume_code(db, draft)
    if saving_for_later:
        return _saved_redirect(code)
    if urgent or new_questions:
        # Show the crisis panel, or the questions these answers opened, before going on.
        form = section_form(section_id, answers)
        return _render_section(section_id, form, shown_now, answers, urgent=urgent, new_questions=new_questions)
    if request.args.get("return") == "check":
        return redirect(url_for("patient.check"))
    return redirect(_next_url(section_id, asked_now))


def _kept(answers: Mapping[str, AnswerValue]) -> dict[str, AnswerValue]:
    """Only answers to questions still asked: stale answers are thrown away (rules.md section 4)."""
    return dict(parse_answers(_as_json(answers), clinic()).values)


def _new_urgent_rules(db: Any, draft: store.Draft, decision: Decision) -> list[dict[str, str]]:
    """Urgent rules these answers fire that this person has not yet been shown: alert staff now."""
    fired = [rule_id for rule_id in decision.fired_rules if rule_id in URGENT_RULE_IDS]
    new = [rule_id for rule_id in fired if rule_id not in (draft.urgent_shown or [])]
    if not new:
        return []
    now = utcnow()
    store.mark_urgent_shown(db, draft, new, now)
    store.record_urgent_alert(db, draft=draft, rule_ids=fired, now=now)
    return _crisis_warnings(decision, fired)


def _render_section(
    section_id: str,
    form: QuestionnaireForm,
    shown: list[Question],
    answers: Mapping[str, Any],
    *,
    status: int = 200,
    urgent: list[dict[str, str]] | None = None,
    new_questions: list[Question] | None = None,
) -> ResponseReturnValue:
    position = PATIENT_SECTION_IDS.index(section_id)
    return (
        render_template(
            "patient/section.html",
            section=PATIENT_SECTIONS[position],
            position=position + 1,
            total=len(PATIENT_SECTIONS),
            form=form,
            fields=form.answer_fields(shown),
            error_fields=form.error_fields(shown),
            urgent=urgent or [],
            new_questions=new_questions or [],
            back_url=_previous_url(section_id, answers),
            returning=request.args.get("return") == "check",
        ),
        status,
    )


def _no_draft() -> ResponseReturnValue:
    if RESULT_KEY in session:
        return redirect(url_for("patient.result"))
    flash(_("Your answers on this device have ended. Start again, or continue with a saved code."), "info")
    return redirect(url_for("patient.start"))


# --- Check answers and submit -------------------------------------------------------------


@bp.get("/check")
def check() -> ResponseReturnValue:
    draft = _draft_or_none()
    if draft is None:
        return _no_draft()
    answers = _kept(_draft_answers(draft))
    asked = asked_questions(answers, clinic())
    groups = [
        (section, [(q, answers.get(q.id)) for q in asked if q.section == section.id])
        for section in PATIENT_SECTIONS
        if any(q.section == section.id for q in asked)
    ]
    return render_template("patient/check.html", groups=groups, form=FlaskForm())


@bp.post("/submit")
def submit() -> ResponseReturnValue:
    """Complete the screening once: a refresh, Back or double click finds the same result."""
    token = session.get(DRAFT_KEY)
    if not isinstance(token, str):
        return _no_draft()
    with get_db().write() as db:
        screening = store.find_screening_for_token(db, token)
        if screening is None:
            draft = store.find_draft(db, token, utcnow())
            if draft is None:
                return _no_draft()
            record = _version_record(draft)
            urgent = urgent_rule_ids(record)
            screening = store.complete_draft(db, draft, record=record, now=utcnow(), urgent_rule_ids=urgent)
        screening_id = screening.id
    _forget_patient()
    session[RESULT_KEY] = screening_id
    return redirect(url_for("patient.result"))


def _version_record(draft: store.Draft) -> store.VersionRecord:
    answers = parse_answers(dict(draft.answers), clinic())
    source = answers.get("completed_by")
    return version_record(
        answers,
        clinic(),
        author_role="patient",
        author_id=None,
        source=source if isinstance(source, str) else "self",
        language=_language(),
        translate=_,  # stored exactly as shown: in the language the person used
    )


@bp.get("/result")
def result() -> ResponseReturnValue:
    screening_id = session.get(RESULT_KEY)
    if not isinstance(screening_id, int):
        return redirect(url_for("patient.start"))
    with get_db().read() as db:
        screening = store.get_screening(db, screening_id)
        if screening is None:
            session.pop(RESULT_KEY, None)
            return redirect(url_for("patient.start"))
        version = store.current_version(db, screening)
        outcome = Outcome(version.outcome)
        crisis = [w for w in version.warnings if w["id"] in CRISIS_WARNING_IDS]
        return render_template(
            "patient/result.html",
            outcome=outcome,
            reference_code=screening.reference_code,
            warnings=version.warnings,
            crisis=crisis,
            warnings_language=version.language,
        )


CRISIS_WARNING_IDS = frozenset({"W-CRISIS-NOW", "W-CRISIS-SOON", "W-FULMINANS"})


# --- Save and come back later -------------------------------------------------------------


def _issue_resume_code(db: Any, draft: store.Draft) -> str:
    hours = current_app.config["RESUME_HOURS"]
    return store.issue_resume_code(db, draft, now=utcnow(), valid_for=timedelta(hours=hours))


def _saved_redirect(code: str) -> ResponseReturnValue:
    """Show the code once, then this device forgets the answers (shared devices)."""
    _forget_patient()
    session[SAVED_CODE_KEY] = code
    return redirect(url_for("patient.saved"))


@bp.post("/save")
def save_for_later() -> ResponseReturnValue:
    token = session.get(DRAFT_KEY)
    if not isinstance(token, str):
        return _no_draft()
    with get_db().write() as db:
        draft = store.find_draft(db, token, utcnow())
        if draft is None:
            return _no_draft()
        code = _issue_resume_code(db, draft)
    return _saved_redirect(code)


@bp.get("/saved")
def saved() -> ResponseReturnValue:
    code = session.pop(SAVED_CODE_KEY, None)
    return render_template("patient/saved.html", code=code, hours=current_app.config["RESUME_HOURS"])


class ResumeForm(FlaskForm):
    code = StringField()


@bp.route("/resume", methods=["GET", "POST"])
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])  # codes are guessable only by brute force
def resume() -> ResponseReturnValue:
    form = ResumeForm()
    error = None
    if form.validate_on_submit():
        code = (form.code.data or "").strip()
        if not code:
            error = _("Enter the code you were given")
        else:
            with get_db().write() as db:
                found = store.resume_draft(db, code, utcnow())
                answers = _draft_answers(found[0]) if found else {}
            if found is not None:
                _forget_patient()
                session[DRAFT_KEY] = found[1]
                return redirect(_first_unanswered_url(answers))
            error = _("We could not find saved answers with that code. Check the code, or start again.")
    status = 400 if error else 200
    return render_template("patient/resume.html", form=form, error=error), status


def _first_unanswered_url(answers: Mapping[str, Any]) -> str:
    for question in asked_questions(answers, clinic()):
        if question.section in PATIENT_SECTION_IDS and question.required and question.id not in answers:
            return url_for("patient.section", section_id=question.section)
    return url_for("patient.check")
