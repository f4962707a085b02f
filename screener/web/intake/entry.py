"""A new intake, and checking or amending a screening with the patient (a new version each time)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request
from flask.typing import ResponseReturnValue

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import intake_form
from screener.rules import (
    enabled_questions,
)
from screener.store import intake as intake_store
from screener.web.access import CARE_TEAM, audit, current_staff, requires
from screener.web.intake.common import (
    ENTERED_IN_ERROR,
    FORM_KEY_PATTERN,
    already_saved,
    bp,
    clinic,
    detail_url,
    form_used_for,
    in_english,
    issue_form_key,
    read_form,
    remember_form,
    render_form,
    saved_message,
    shown_on_page,
    staff_version_record,
    subject_from,
)
from screener.web.records import urgent_rule_ids
from screener.web.restricted import RestrictedScreening, decide, require_access

# --- New intake ---------------------------------------------------------------------------


@bp.route("/intake", methods=["GET", "POST"])
@requires(*CARE_TEAM)
@in_english
def start() -> ResponseReturnValue:
    """A whole screening entered by a nurse or clinician with the patient, identifiers included."""
    if request.method == "GET":
        form = intake_form()
        form.form_key.data = issue_form_key()
        return render_form(form, enabled_questions({}, clinic()))
    form = intake_form()
    key = form.form_key.data or ""
    if not FORM_KEY_PATTERN.fullmatch(key):
        form.validate()
        form.form_key.data = issue_form_key()
        notice = "This form could not be matched to a page you opened. Check the answers, then save again."
        return render_form(form, shown_on_page(form), status=400, notice=notice)
    used = form_used_for(key)
    if used is not None:
        return already_saved(used)
    submitted = read_form(form)
    if submitted.subject is None or submitted.summary:
        return render_form(
            form, submitted.shown_again(), status=400, summary=submitted.summary, new_questions=submitted.new_questions
        )
    if submitted.new_questions:
        return render_form(form, submitted.shown_now, new_questions=submitted.new_questions)
    member = current_staff()
    key_hash = intake_store.form_key_hash(key)
    with get_db().write() as db:
        intake_store.claim_form_key(db, key_hash)
        existing = intake_store.form_screening(db, actor_id=member.user_id, key_hash=key_hash)
        if existing is None:
            source = submitted.answers.get("completed_by")
            record = staff_version_record(submitted.answers, member, source=source if isinstance(source, str) else None)
            screening = intake_store.create_screening(
                db,
                record=record,
                subject=subject_from(submitted.subject),
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
        remember_form(key, existing)
        return already_saved(existing)
    remember_form(key, screening.id)
    saved_message(screening.reference_code, screening.urgent)
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
@in_english
def amend(screening_id: int) -> ResponseReturnValue:
    """Check or correct the answers with the patient: a new version, the old one kept as it was."""
    if request.method == "GET":
        with get_db().write() as db:
            screening, version = _screening_or_404(db, screening_id)
            # Restricted to its care team: anyone else gives a reason first (break-glass, audited).
            decision = decide(db, screening, "screening.view", {"page": "amend"})
            if decision.allowed:
                detail: dict[str, Any] = {"version": version.number, "page": "amend"}
                if decision.record_id is not None:
                    detail["break_glass"] = decision.record_id
                audit(db, "screening.view", object_type="screening", object_id=screening.id, detail=detail)
        if not decision.allowed:
            raise RestrictedScreening(screening)
        if screening.status == ENTERED_IN_ERROR:
            return _entered_in_error(screening.id)
        form = intake_form(
            version.answers,
            name=screening.subject_name,
            birth_date=screening.subject_birth_date,
            mrn=screening.subject_mrn,
        )
        form.based_on.data = str(version.number)
        return render_form(form, enabled_questions(version.answers, clinic()), screening=screening, version=version)

    form = intake_form()
    require_access(screening_id, "screening.amend")
    with get_db().read() as db:
        screening, version = _screening_or_404(db, screening_id)
    if screening.status == ENTERED_IN_ERROR:
        return _entered_in_error(screening.id)
    if form.based_on.data != str(version.number):  # a second submit, or someone else amended first
        return _changed_since(screening.id, version.number)
    submitted = read_form(form)
    if submitted.subject is None or submitted.summary:
        return render_form(
            form,
            submitted.shown_again(),
            status=400,
            summary=submitted.summary,
            new_questions=submitted.new_questions,
            screening=screening,
            version=version,
        )
    if submitted.new_questions:
        return render_form(
            form, submitted.shown_now, new_questions=submitted.new_questions, screening=screening, version=version
        )
    subject = subject_from(submitted.subject)
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
        record = staff_version_record(submitted.answers, member, source="patient")
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
