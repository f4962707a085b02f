"""The start page, the About page and the question pages (one per section)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import CONTACT_TIMES, ContactOfferForm, QuestionnaireForm, section_form
from screener.rules import (
    QUESTIONS_BY_ID,
    URGENT_RULE_IDS,
    Decision,
    Question,
    asked_questions,
    evaluate,
    parse_answers,
    questions_in,
)
from screener.web.limits import limiter
from screener.web.patient.common import (
    DRAFT_KEY,
    PANELS_AGAIN_KEY,
    PATIENT_SECTION_IDS,
    PATIENT_SECTIONS,
    as_json,
    bp,
    clinic,
    current_draft,
    current_language,
    draft_answers,
    draft_or_none,
    draft_token,
    forget_patient,
    issue_resume_code,
    next_url,
    no_draft,
    previous_url,
    saved_redirect,
    shown_questions,
    urgent_panels_now,
)
from screener.web.patient.contact import contact_offer

# --- Start, language, about ---------------------------------------------------------------


@bp.get("/")
def start() -> ResponseReturnValue:
    return render_template("patient/start.html", in_progress=draft_or_none() is not None)


@bp.post("/start")
@limiter.limit("60 per minute")  # one waiting-room tablet may start many forms a day, not a minute
def begin() -> ResponseReturnValue:
    if draft_or_none() is None:
        forget_patient()
        with get_db().write() as db:
            lifetime = timedelta(hours=current_app.config["RESUME_HOURS"])
            _draft, token = store.create_draft(
                db,
                language=current_language(),
                jurisdiction=clinic().jurisdiction.value,
                now=utcnow(),
                lifetime=lifetime,
            )
        session[DRAFT_KEY] = token
    return redirect(url_for("patient.section", section_id=PATIENT_SECTION_IDS[0]))


@bp.post("/start-again")
def start_again() -> ResponseReturnValue:
    """Clear everything: this device's session and the unfinished answers on the server."""
    if draft_token():
        with get_db().write() as db:
            draft = current_draft(db)
            if draft is not None:
                store.delete_draft(db, draft)
    forget_patient()
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
    draft = draft_or_none()
    if draft is None:
        return no_draft()
    answers = draft_answers(draft)
    shown = shown_questions(section_id, answers)
    if not shown:  # nothing to ask here under the current answers (e.g. under 12)
        return redirect(next_url(section_id, asked_questions(answers, clinic())))
    urgent = []
    if session.pop(PANELS_AGAIN_KEY, False):  # back from the contact offer: the help panels stay first
        urgent = urgent_panels_now(evaluate(parse_answers(as_json(answers), clinic()), clinic()))
    return _render_section(section_id, section_form(section_id, answers), shown, answers, urgent=urgent)


@bp.post("/questions/<section_id>")
def save_section(section_id: str) -> ResponseReturnValue:
    _section_or_404(section_id)
    form = section_form(section_id)
    saving_for_later = request.form.get("action") == "save"
    if not draft_token():
        return no_draft()
    with get_db().write() as db:
        draft = current_draft(db)
        if draft is None:
            return no_draft()
        saved = draft_answers(draft)
        asked_before = shown_questions(section_id, saved)
        on_page = _shown_on_page(section_id, asked_before)
        form.validate()
        given = form.answers(on_page)
        # Answers on other pages stay; this page's answers are replaced by what was sent.
        candidate = {qid: v for qid, v in saved.items() if QUESTIONS_BY_ID[qid].section != section_id} | given
        # Validated, and stale answers to questions no longer asked thrown away (rules.md section 4).
        parsed = parse_answers(as_json(candidate), clinic())
        answers = dict(parsed.values)
        asked_now = asked_questions(answers, clinic())
        shown_now = [q for q in asked_now if q.section == section_id]
        if not saving_for_later:
            # Only questions the server asked before are required now; follow-ups the page added
            # (JavaScript) and left blank come back marked as new, as they do without JavaScript.
            form.require_answers([q for q in asked_before if q in shown_now])
        # An urgent answer is acted on at once, even on a page that comes back with errors (BT1).
        urgent = _new_urgent_rules(db, draft, evaluate(parsed, clinic()))
        offer = contact_offer(db) if urgent else None
        if form.error_fields(on_page):
            # Bad input changes nothing: the answers are not saved (only an urgent alert is kept).
            return _render_section(section_id, form, on_page, saved, status=400, urgent=urgent, offer=offer)
        store.save_answers(db, draft, as_json(answers), utcnow())
        new_questions = [q for q in shown_now if q not in asked_before and q.id not in answers]
        if saving_for_later:
            code = issue_resume_code(db, draft)
    if saving_for_later:
        return saved_redirect(code)
    if urgent or new_questions:
        # Show the crisis panel, or the questions these answers opened, before going on.
        form = section_form(section_id, answers)
        return _render_section(
            section_id, form, shown_now, answers, urgent=urgent, new_questions=new_questions, offer=offer
        )
    if request.args.get("return") == "check":
        return redirect(url_for("patient.check"))
    return redirect(next_url(section_id, asked_now))


@bp.post("/questions/<section_id>/preview")
def preview_section(section_id: str) -> ResponseReturnValue:
    """With JavaScript: the questions this page asks for the answers chosen so far, and the markup of
    each, so follow-ups appear without a page load. Nothing is saved or evaluated here: Continue still
    sends the page, and the server decides, validates and shows any urgent panel (BT1)."""
    _section_or_404(section_id)
    draft = draft_or_none()
    if draft is None:
        return jsonify(shown=[], html={}), 409
    saved = draft_answers(draft)
    form = section_form(section_id)
    form.validate()
    given = form.answers(questions_in(section_id))
    candidate = {qid: v for qid, v in saved.items() if QUESTIONS_BY_ID[qid].section != section_id} | given
    shown = shown_questions(section_id, dict(parse_answers(as_json(candidate), clinic()).values))
    question = get_template_attribute("_macros/questions.html", "question")
    return jsonify(
        shown=[q.id for q in shown],
        html={field.question.id: str(question(field, highlight=True)) for field in form.answer_fields(shown)},
        notice=_("Your answers mean we need to ask a little more. The new questions are marked below."),
    )


def _shown_on_page(section_id: str, asked_before: list[Question]) -> list[Question]:
    """The questions the page showed: what the server asked, plus any follow-ups JavaScript added to
    its hidden list. Only a hint: every answer still passes the enable rules."""
    listed = set(request.form.get("shown", "").split())
    return [q for q in questions_in(section_id) if q in asked_before or q.id in listed]


def _new_urgent_rules(db: Any, draft: store.Draft, decision: Decision) -> list[dict[str, Any]]:
    """Urgent rules these answers fire that this person has not yet been shown: alert staff now.

    Returns the urgent contact panels to show on this page at once (rules.md BT1).
    """
    fired = [rule_id for rule_id in decision.fired_rules if rule_id in URGENT_RULE_IDS]
    new = [rule_id for rule_id in fired if rule_id not in (draft.urgent_shown or [])]
    if not new:
        return []
    now = utcnow()
    store.mark_urgent_shown(db, draft, new, now)
    # Throttled per address (a flood of new forms from one client is grouped under one open alert),
    # never for the person: the panel below is shown whatever happened to the alert.
    store.record_urgent_alert(
        db,
        draft=draft,
        rule_ids=fired,
        now=now,
        source_addr=request.remote_addr,
        address_limit=current_app.config["ALERT_ADDRESS_LIMIT"],
    )
    return urgent_panels_now(decision)


def _render_section(
    section_id: str,
    form: QuestionnaireForm,
    shown: list[Question],
    answers: Mapping[str, Any],
    *,
    status: int = 200,
    urgent: list[dict[str, Any]] | None = None,
    new_questions: list[Question] | None = None,
    offer: ContactOfferForm | None = None,
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
            offer=offer,
            times=CONTACT_TIMES,
            back_url=previous_url(section_id, answers),
            returning=request.args.get("return") == "check",
        ),
        status,
    )
