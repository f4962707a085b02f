"""Clinician review views: the queue, a screening's detail and explanation, sign-off, re-evaluation.

Staff pages are English only. A stored decision is shown exactly as it was made and never
recomputed; re-evaluation under the current ruleset is an explicit action whose result is
stored beside the original (rules.md BT6). Every look at a screening and every sign-off,
re-evaluation and print is audited, with identifiers and codes only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from screener.auth import Role
from screener.clock import utcnow
from screener.db import get_db
from screener.models import Screening, StaffUser
from screener.rules import (
    CURRENT_RULESET,
    ERROR_RULE,
    OUTCOME_LABELS,
    SOURCES,
    InvalidInput,
    Outcome,
    evaluate,
    parse_answers,
    parse_config,
    patient_texts,
)
from screener.store import current_version, get_screening, restriction
from screener.store import review as review_store
from screener.web.access import ALL_STAFF, audit, current_staff, requires
from screener.web.records import decision_fields
from screener.web.restricted import RestrictedScreening, decide, described, require_access, restricted_page
from screener.web.review.pages import ScreeningPage, screening_page

bp = Blueprint("review", __name__, url_prefix="/staff")

CARE_TEAM = (Role.NURSE, Role.CLINICIAN)
OUTCOME_CODES = frozenset(outcome.value for outcome in Outcome)
NOTE_MAX = 2000
VIEW, PRINT, SIGN_OFF, REEVALUATE = "screening.view", "screening.print", "screening.sign_off", "screening.reevaluate"
REVIEW_STATUS_LABELS = {"unreviewed": "Not reviewed", "agreed": "Agreed", "disagreed": "Disagreed"}
#: The queue's yes-only filters (check boxes): the value a ticked box sends.
TICKED = "1"


@bp.context_processor
def review_helpers() -> dict[str, Any]:
    return {
        "utc": _utc,
        "outcome_label": _outcome_label,
        "review_status_label": lambda status: REVIEW_STATUS_LABELS.get(status, status),
        "source_title": _source_title,
        "current_ruleset": CURRENT_RULESET,
    }


def _utc(moment: datetime | None) -> str:
    """Like 29 Nov 2026, 09:30 UTC: stored times are UTC, and staff see them as such."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def _outcome_label(code: str | None) -> str:
    """The outcome's label, or the code itself if it is not (or no longer) an outcome."""
    return Outcome(code).label if code in OUTCOME_CODES else code or ""


def _source_title(source_id: str) -> str:
    source = SOURCES.get(source_id)
    return source.title if source else "not in the source register"


# --- Queue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters as typed (to show again) and as parsed (to query)."""

    typed: dict[str, str]
    outcome: str | None = None
    review_status: str | None = None
    #: Only screenings with review flags (whatever their outcome); only priority ones.
    flagged: bool = False
    priority: bool = False
    created_from: date | None = None
    created_to: date | None = None

    def query(self) -> dict[str, Any]:
        until = None
        if self.created_to is not None and self.created_to < date.max:
            until = datetime.combine(self.created_to + timedelta(days=1), time.min, UTC)  # the whole "to" day
        start = datetime.combine(self.created_from, time.min, UTC) if self.created_from else None
        return {
            "outcome": self.outcome,
            "review_status": self.review_status,
            "flagged": self.flagged,
            "priority": self.priority,
            "created_from": start,
            "created_until": until,
        }

    def url_args(self) -> dict[str, Any]:
        return {key: value for key, value in self.typed.items() if value}


def _queue_filters(args: Mapping[str, str]) -> tuple[QueueFilters, dict[str, str]]:
    """Parse the filter form; every problem is named, and any problem drops every filter."""
    fields = ("outcome", "review_status", "flagged", "priority", "from", "to")
    typed = {key: args.get(key, "").strip()[:40] for key in fields}
    errors: dict[str, str] = {}
    if typed["outcome"] and typed["outcome"] not in review_store.OUTCOMES:
        errors["outcome"] = "Choose an outcome from the list"
    if typed["review_status"] and typed["review_status"] not in review_store.REVIEW_STATUSES:
        errors["review_status"] = "Choose a review status from the list"
    for key, which in (("flagged", "that need a clinician"), ("priority", "that are a priority")):
        if typed[key] not in ("", TICKED):
            errors[key] = f"Choose whether to show only screenings {which}"
    dates: dict[str, date | None] = {}
    for key, label in (("from", "From"), ("to", "To")):
        dates[key] = None
        if typed[key]:
            try:
                dates[key] = date.fromisoformat(typed[key])
            except ValueError:
                errors[key] = f"{label} date must be a real date, like 2026-11-29"
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        errors["to"] = "To date must be the same as or after the from date"
    if errors:
        return QueueFilters(typed), errors
    return QueueFilters(
        typed,
        outcome=typed["outcome"] or None,
        review_status=typed["review_status"] or None,
        flagged=typed["flagged"] == TICKED,
        priority=typed["priority"] == TICKED,
        created_from=dates["from"],
        created_to=dates["to"],
    ), {}


@bp.get("/queue")
@requires(*CARE_TEAM)
def queue() -> ResponseReturnValue:
    """Urgent first, then priority, then newest, a keyset page at a time; a bad cursor or filter never gives a 500."""
    filters, errors = _queue_filters(request.args)
    after = None if errors else review_store.Cursor.decode(request.args.get("after"))
    with get_db().write() as db:
        rows, following = review_store.queue_page(db, **filters.query(), after=after)
        # Who a restricted screening is about is not shown outside its care team (its urgency still is).
        hidden = restriction.hidden_from(db, rows, current_staff().user_id, utcnow())
        audit(
            db,
            "queue.view",
            detail={"filters": filters.url_args() if not errors else {}, "screening_ids": [row.id for row in rows]},
        )
    next_url = url_for("review.queue", **filters.url_args(), after=following.encode()) if following else None
    return render_template(
        "review/queue.html",
        rows=rows,
        hidden=hidden,
        filters=filters,
        errors=errors,
        outcomes=review_store.OUTCOMES,
        statuses=review_store.REVIEW_STATUSES,
        ticked=TICKED,
        next_url=next_url,
        first_url=url_for("review.queue", **filters.url_args()) if after else None,
        filtered=bool(filters.url_args()) and not errors,
    ), 400 if errors else 200


class SignOffForm(FlaskForm):
    """Agree, or disagree by choosing another outcome and giving a reason; an optional note."""

    version = IntegerField(validators=[InputRequired()])
    decision = RadioField(
        choices=[SelectChoice(review_store.AGREE, "Agree"), SelectChoice(review_store.DISAGREE, "Disagree")],
        validators=[InputRequired("Choose whether you agree with the outcome")],
    )
    outcome = RadioField(choices=[SelectChoice(code, code) for code in review_store.OUTCOMES], validate_choice=False)
    reason = TextAreaField(
        validators=[Length(max=NOTE_MAX, message=f"Reason must be {NOTE_MAX:,} characters or fewer")]
    )
    note = TextAreaField(validators=[Length(max=NOTE_MAX, message=f"Note must be {NOTE_MAX:,} characters or fewer")])

    #: The outcome being reviewed; a disagreement must choose another.
    current_outcome = ""

    def disagrees(self) -> bool:
        return bool(self.decision.data == review_store.DISAGREE)

    def validate_outcome(self, field: Any) -> None:
        if not self.disagrees():
            return
        if field.data not in review_store.OUTCOMES:
            raise ValidationError("Choose the outcome you think is right")
        if field.data == self.current_outcome:
            raise ValidationError("Choose an outcome other than the current one, or agree instead")

    def validate_reason(self, field: Any) -> None:
        if self.disagrees() and not (field.data or "").strip():
            raise ValidationError("Give a reason for disagreeing")

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) in page order, for the error summary."""
        order = ("version", "decision", "outcome", "reason", "note")
        return [(name, self.errors[name][0]) for name in order if self.errors.get(name)]


def _acting_user(db: Session) -> StaffUser:
    user = db.get(StaffUser, current_staff().user_id)
    if user is None:
        abort(401)
    return user


def _detail(
    page: ScreeningPage,
    *,
    form: SignOffForm | None = None,
    form_errors: Sequence[tuple[str, str]] = (),
    reevaluation_errors: Sequence[str] = (),
    restriction_error: str | None = None,
    restriction_typed: str = "",
    status: int = 200,
) -> ResponseReturnValue:
    return render_template(
        "review/screening.html",
        page=page,
        restriction_error=restriction_error,
        restriction_typed=restriction_typed,
        reason_max=restriction.REASON_MAX,
        form=form,
        form_errors=form_errors,
        errors=dict(form_errors),
        reevaluation_errors=reevaluation_errors,
        outcomes=review_store.OUTCOMES,
        can_sign_off=current_staff().role is Role.CLINICIAN,
    ), status


def _audited_page(action: str, screening_id: int) -> ScreeningPage:
    """Read a screening for display and record who looked (a missing one too, then 404).

    A restricted screening is shown to its care team, or to someone who gave a reason lately (the view
    is then tied to that break-glass record); anyone else gets the break-glass page, and the look is
    audited as denied.
    """
    page = None
    with get_db().write() as db:
        found = get_screening(db, screening_id)
        decision = decide(db, found, action) if found else None
        if found is None or decision is None:
            audit(db, action, object_type="screening", object_id=screening_id, outcome="failure", detail={})
        elif decision.allowed:
            page = with_restriction(db, screening_page(db, found), decision)
            detail: dict[str, Any] = {"version": page.version.number}
            if decision.record_id is not None:
                detail["break_glass"] = decision.record_id
            audit(db, action, object_type="screening", object_id=screening_id, detail=detail)
    if found is None:
        abort(404)
    if page is None:
        raise RestrictedScreening(found)
    return page


def with_restriction(db: Session, page: ScreeningPage, decision: restriction.Decision) -> ScreeningPage:
    return replace(page, restriction=described(db, page.screening, decision))


bp.app_errorhandler(RestrictedScreening)(restricted_page)


@bp.get("/screenings/<int:screening_id>")
@requires(*CARE_TEAM)
def screening(screening_id: int) -> ResponseReturnValue:
    return _detail(_audited_page(VIEW, screening_id))


@bp.get("/screenings/<int:screening_id>/print")
@requires(*CARE_TEAM)
def print_view(screening_id: int) -> ResponseReturnValue:
    """The record on paper: no forms, no navigation; audited as a print."""
    return render_template("review/print.html", page=_audited_page(PRINT, screening_id), printed_at=utcnow())


@bp.post("/screenings/<int:screening_id>/reviews")
@requires(Role.CLINICIAN)
def sign_off(screening_id: int) -> ResponseReturnValue:
    """Record a sign-off of the current version; invalid input stores nothing and shows the page again."""
    form = SignOffForm()
    errors: list[tuple[str, str]] = []
    page: ScreeningPage | None = None
    require_access(screening_id, SIGN_OFF)
    with get_db().write() as db:
        found = review_store.lock_screening(db, screening_id)
        if found is not None:
            form.current_outcome = current_version(db, found).outcome
            errors = form.error_list() if not form.validate_on_submit() else []
            if not errors and form.version.data != found.current_version:
                errors = [("version", "This screening has changed since you opened it. Check it again, then sign off.")]
        if found is None or errors:
            detail: dict[str, Any] = {"fields": [name for name, _message in errors]}
            audit(db, SIGN_OFF, object_type="screening", object_id=screening_id, outcome="failure", detail=detail)
            page = _page_for(db, found) if found else None
        else:
            review = review_store.sign_off(
                db,
                found,
                reviewer=_acting_user(db),
                decision=form.decision.data,
                outcome=form.outcome.data if form.disagrees() else None,
                reason=(form.reason.data or "").strip() if form.disagrees() else None,
                note=(form.note.data or "").strip() or None,
                now=utcnow(),
                version_number=form.version.data,
            )
            detail = {"review_id": review.id, "version": review.version_number, "decision": review.decision}
            audit(db, SIGN_OFF, object_type="screening", object_id=screening_id, detail=detail)
    if found is None:
        abort(404)
    if page is not None:
        return _detail(page, form=form, form_errors=errors, status=400)
    flash("Your review has been recorded.")
    return redirect(url_for("review.screening", screening_id=screening_id, _anchor="history"))


@bp.post("/screenings/<int:screening_id>/reevaluations")
@requires(Role.CLINICIAN)
def reevaluate(screening_id: int) -> ResponseReturnValue:
    """Run the current version's stored answers and config through the current ruleset; store it beside.

    Answers that the current catalogue no longer accepts are named, and nothing is stored.
    """
    problems: list[str] = []
    page: ScreeningPage | None = None
    require_access(screening_id, REEVALUATE)
    with get_db().write() as db:
        found = review_store.lock_screening(db, screening_id)
        if found is None:
            audit(db, REEVALUATE, object_type="screening", object_id=screening_id, outcome="failure")
        else:
            version = current_version(db, found)
            try:
                config = parse_config(dict(version.config))
                answers = parse_answers(dict(version.answers), config)
            except InvalidInput as invalid:
                problems = [str(error) for error in invalid.errors]
                detail = {"version": version.number, "fields": [error.field for error in invalid.errors]}
                audit(db, REEVALUATE, object_type="screening", object_id=screening_id, outcome="failure", detail=detail)
                page = _page_for(db, found)
            else:
                row = review_store.reevaluate(
                    db,
                    found,
                    version_number=version.number,
                    performed_by=_acting_user(db),
                    result=review_store.ReevaluationRecord(
                        **decision_fields(evaluate(answers, config))
                    ),  # English, for staff
                    now=utcnow(),
                )
                detail = {"reevaluation_id": row.id, "version": version.number, "ruleset_version": row.ruleset_version}
                audit(db, REEVALUATE, object_type="screening", object_id=screening_id, detail=detail)
    if found is None:
        abort(404)
    if page is not None:
        # The request was fine; the stored answers conflict with the current catalogue.
        return _detail(page, reevaluation_errors=problems, status=409)
    flash(f"Re-evaluated under ruleset {CURRENT_RULESET.version}. The difference is shown beside the original.")
    return redirect(url_for("review.screening", screening_id=screening_id, _anchor="reevaluations"))


# --- Restriction to the care team, and break-glass ----------------------------------------

RESTRICT, UNRESTRICT, BREAK_GLASS = "screening.restrict", "screening.unrestrict", "screening.break_glass"


def _page_for(db: Session, found: Screening) -> ScreeningPage:
    """The detail page of a screening this person has reached, with its restriction as they see it."""
    return with_restriction(
        db, screening_page(db, found), restriction.access_for(db, found, current_staff().user_id, utcnow())
    )


@bp.post("/screenings/<int:screening_id>/restriction")
@requires(Role.CLINICIAN)
def restrict(screening_id: int) -> ResponseReturnValue:
    """Restrict the screening to its care team, or lift that: a clinician with access, and a reason."""
    action = request.form.get("action", "")
    typed = request.form.get("reason", "")
    if action not in (restriction.RESTRICT, restriction.UNRESTRICT):
        abort(400)
    audited = RESTRICT if action == restriction.RESTRICT else UNRESTRICT
    require_access(screening_id, audited)
    page: ScreeningPage | None = None
    problem = restriction.reason_problem(typed)
    with get_db().write() as db:
        found = review_store.lock_screening(db, screening_id)
        if found is None:
            abort(404)
        if found.restricted == (action == restriction.RESTRICT):
            message = (
                "This screening is already restricted." if found.restricted else "This screening is not restricted."
            )
        elif problem:
            audit(
                db,
                audited,
                object_type="screening",
                object_id=screening_id,
                outcome="failure",
                detail={"fields": ["reason"]},
            )
            page = _page_for(db, found)
        else:
            change = restriction.restrict if action == restriction.RESTRICT else restriction.unrestrict
            row = change(db, found, user=_acting_user(db), reason=typed, now=utcnow(), remote_addr=request.remote_addr)
            audit(db, audited, object_type="screening", object_id=screening_id, detail={"access": row.id})
            message = (
                "Restricted to its care team: anyone else must give a reason to open it."
                if action == restriction.RESTRICT
                else "The restriction is lifted: the care side can open it as before."
            )
    if page is not None:
        return _detail(page, restriction_error=problem, restriction_typed=typed, status=400)
    flash(message)
    return redirect(url_for("review.screening", screening_id=screening_id, _anchor="restriction"))


@bp.post("/screenings/<int:screening_id>/break-glass")
@requires(*CARE_TEAM)
def break_glass(screening_id: int) -> ResponseReturnValue:
    """Open a restricted screening outside its care team, with a typed reason: audited and reported."""
    typed = request.form.get("reason", "")
    refused: Screening | None = None
    problem = restriction.reason_problem(typed)
    with get_db().write() as db:
        found = review_store.lock_screening(db, screening_id)
        if found is None:
            abort(404)
        if restriction.access_for(db, found, current_staff().user_id, utcnow()).allowed:
            pass  # not restricted, in the care team, or opened already: nothing to break
        elif problem:
            audit(
                db,
                BREAK_GLASS,
                object_type="screening",
                object_id=screening_id,
                outcome="failure",
                detail={"fields": ["reason"]},
            )
            refused = found
        else:
            row = restriction.break_glass(
                db, found, user=_acting_user(db), reason=typed, now=utcnow(), remote_addr=request.remote_addr
            )
            audit(db, BREAK_GLASS, object_type="screening", object_id=screening_id, detail={"access": row.id})
    if refused is not None:
        raise RestrictedScreening(refused, reason=typed, error=problem)
    return redirect(url_for("review.screening", screening_id=screening_id))


# --- Rule catalogue -----------------------------------------------------------------------


def _spanish(texts: Iterable[str]) -> dict[str, str]:
    """The Spanish patient wording of each English text (the same text when none exists yet)."""
    with force_locale("es"):
        return {text: gettext(text) for text in texts}


@bp.get("/rules")
@requires(*ALL_STAFF)
def rules() -> ResponseReturnValue:
    """The rule catalogue for clinical sign-off: what each rule checks, does, says, and why.

    It shows every clinical text the ruleset hash covers: the rules, and the patient wording beyond
    the warnings (outcome labels and explanations, contact panels, the start and About pages).
    """
    catalogue = [*CURRENT_RULESET.rules, ERROR_RULE]
    texts = [t for rule in catalogue if rule.warning for t in (rule.warning.wording.us, rule.warning.wording.uk)]
    texts += [*OUTCOME_LABELS.values(), *patient_texts.every_text()]
    return render_template(
        "review/rules.html",
        ruleset=CURRENT_RULESET,
        rules=catalogue,
        error_rule=ERROR_RULE,
        spanish=_spanish(texts),
        patient_texts=patient_texts,
        outcome_labels=OUTCOME_LABELS,
        sources=SOURCES,
    )
