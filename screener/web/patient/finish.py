"""Check your answers, send them, the result; save and come back later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import CONTACT_TIMES
from screener.rules import (
    OUTCOME_OF_WARNING,
    PANEL_OF_WARNING,
    Jurisdiction,
    Outcome,
    age_gate_open,
    asked_questions,
    parse_answers,
    patient_texts,
    urgent_panels,
)
from screener.web.limits import limiter
from screener.web.patient.common import (
    DRAFT_KEY,
    PATIENT_SECTION_IDS,
    PATIENT_SECTIONS,
    RESULT_KEY,
    SAVED_CODE_KEY,
    bp,
    clinic,
    contact_panels,
    current_draft,
    current_language,
    draft_answers,
    draft_or_none,
    draft_token,
    forget_patient,
    issue_resume_code,
    kept,
    no_draft,
    saved_redirect,
)
from screener.web.patient.contact import contact_offer
from screener.web.records import urgent_rule_ids, version_record

# --- Check answers and submit -------------------------------------------------------------


@bp.get("/check")
def check() -> ResponseReturnValue:
    draft = draft_or_none()
    if draft is None:
        return no_draft()
    answers = kept(draft_answers(draft))
    asked = asked_questions(answers, clinic())
    # One row per answer or required question; the optional questions skipped fold into one line.
    groups = [
        (
            section,
            [(q, answers.get(q.id)) for q in asked if q.section == section.id and (q.id in answers or q.required)],
            sum(1 for q in asked if q.section == section.id and q.id not in answers and not q.required),
        )
        for section in PATIENT_SECTIONS
        if any(q.section == section.id for q in asked)
    ]
    health = [q for q in asked if q.section in HEALTH_AND_MEDICINE_SECTIONS]
    under_12 = not age_gate_open(answers, clinic())  # the questionnaire ended after the first page
    return render_template(
        "patient/check.html",
        groups=groups,
        form=FlaskForm(),
        under_12=under_12,
        skipped_health=bool(health) and not any(q.id in answers for q in health),
    )


#: The health and medicine sections: skipping all of them gets a gentle nudge, never a block.
HEALTH_AND_MEDICINE_SECTIONS = frozenset({"F", "G"})


@bp.post("/submit")
def submit() -> ResponseReturnValue:
    """Complete the screening once: a refresh, Back or double click finds the same result."""
    token = draft_token()
    if not token:
        return no_draft()
    with get_db().write() as db:
        screening = store.find_screening_for_token(db, token)
        if screening is None:
            draft = current_draft(db)
            if draft is None:
                return no_draft()
            record = _version_record(draft)
            urgent = urgent_rule_ids(record)
            screening = store.complete_draft(db, draft, record=record, now=utcnow(), urgent_rule_ids=urgent)
        screening_id = screening.id
    forget_patient()
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
        language=current_language(),
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
        jurisdiction = Jurisdiction(version.jurisdiction)
        others = [w for w in version.warnings if w["id"] not in PANEL_OF_WARNING]
        # A "not now" result leads with the warnings behind it, in plain words (why first).
        reasons = [w for w in others if OUTCOME_OF_WARNING.get(w["id"]) is outcome and outcome in WHY_FIRST]
        panels = contact_panels(version.warnings, version.fired_rules, jurisdiction)
        return render_template(
            "patient/result.html",
            offer=contact_offer(db) if panels else None,
            times=CONTACT_TIMES,
            outcome=outcome,
            reference_code=screening.reference_code,
            panels=panels,
            explanation=patient_texts.explanation(outcome, urgent_panels(version.fired_rules), jurisdiction),
            next_steps=patient_texts.next_steps(outcome),
            reasons=reasons,
            warnings=[w for w in others if w not in reasons],
            warnings_language=version.language,
        )


#: Outcomes whose result page starts with the reason: isotretinoin is not for now, or not first.
WHY_FIRST = frozenset({Outcome.NOT_APPROPRIATE_NOW, Outcome.OTHER_TREATMENTS_FIRST})


# --- Save and come back later -------------------------------------------------------------


@bp.post("/save")
def save_for_later() -> ResponseReturnValue:
    with get_db().write() as db:
        draft = current_draft(db)
        if draft is None:
            return no_draft()
        code = issue_resume_code(db, draft)
    return saved_redirect(code)


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
                answers = draft_answers(found[0]) if found else {}
            if found is not None:
                forget_patient()
                session[DRAFT_KEY] = found[1]
                return redirect(_first_unanswered_url(answers))
            error = _("We could not find saved answers with that code. Check the code, or start again.")
            if store.code_kind(code) is store.CodeKind.REFERENCE:
                error = _(
                    "That is your reference code, for your visit: show it to the staff. To continue saved "
                    "answers, use the 12-character code you got when you saved them."
                )
    status = 400 if error else 200
    return render_template("patient/resume.html", form=form, error=error), status


def _first_unanswered_url(answers: Mapping[str, Any]) -> str:
    for question in asked_questions(answers, clinic()):
        if question.section in PATIENT_SECTION_IDS and question.required and question.id not in answers:
            return url_for("patient.section", section_id=question.section)
    return url_for("patient.check")
