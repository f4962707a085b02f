"""Finding a self-screen by its reference code, and the urgent alerts staff must act on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import CONTACT_TIMES
from screener.models import StaffUser
from screener.store import intake as intake_store
from screener.store.screenings import acknowledge_grouped, count_open_alerts
from screener.web.access import CARE_TEAM, audit, current_staff, requires
from screener.web.intake.common import (
    ACTION_TAKEN_MAX,
    RULE_TITLES,
    bp,
    detail_url,
)
from screener.web.limits import limiter

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
    kind = store.code_kind(typed)
    well_formed = kind is store.CodeKind.REFERENCE
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
    if kind is store.CodeKind.RESUME:
        error = (
            "That is a code to continue saved answers (12 letters and numbers), not a reference code. "
            "The patient can use it on the start page to finish the check; the reference code comes with the result."
        )
    elif not well_formed:
        error += " Reference codes have 8 letters and numbers, like 7KQ2-M9XD."
    return render_template("intake/find.html", code=typed, error=error), 404 if well_formed else 400


# --- Urgent alerts ------------------------------------------------------------------------

#: The audit action of every look at the alerts page (which shows contact details people left).
ALERTS_VIEW = "alerts.view"


def _render_alerts(
    *, errors: Mapping[int, str] | None = None, typed: Mapping[int, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    now = utcnow()
    with get_db().write() as db:
        found = intake_store.open_alerts(db)
        # An alert grouped under another open one is listed inside it, not on its own.
        listed = {entry.alert.id for entry in found}
        pending: list[intake_store.AlertEntry] = []
        grouped: dict[int, list[intake_store.AlertEntry]] = {}
        for entry in found:
            head = entry.alert.grouped_into_id
            if head is not None and head in listed:
                grouped.setdefault(head, []).append(entry)
            else:
                pending.append(entry)
        handled = intake_store.recent_acknowledged_alerts(db, now=now)
        total = count_open_alerts(db)
        # Who saw which alerts (and the contact details left with them): ids only, like every view.
        audit(
            db,
            ALERTS_VIEW,
            object_type="staff_alert",
            detail={
                "open": [entry.alert.id for entry in found],
                "acknowledged": [entry.alert.id for entry in handled],
            },
        )
    return (
        render_template(
            "intake/alerts.html",
            now=now,
            overdue_after=timedelta(minutes=current_app.config["ALERT_OVERDUE_MINUTES"]),
            contact_times=dict(CONTACT_TIMES),
            pending=pending,
            grouped=grouped,
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
        grouped: list[int] = []
        if result is intake_store.Acknowledgement.ALREADY:
            message = _already_acknowledged(db, alert)
        else:
            # The alerts grouped under this one (a flood from its address) are acted on with it.
            grouped = acknowledge_grouped(db, alert, user_id=member.user_id, action_taken=action_taken, now=utcnow())
            message = "Alert acknowledged."
            if grouped:
                message = f"Alert acknowledged, with the {len(grouped)} grouped with it."
        audit(
            db,
            "alert.acknowledge",
            object_type="staff_alert",
            object_id=alert.id,
            outcome="success" if result is intake_store.Acknowledgement.DONE else "failure",
            detail={
                "screening": alert.screening_id,
                "already": result is intake_store.Acknowledgement.ALREADY,
                "grouped": grouped,
            },
        )
    flash(message)
    return redirect(url_for("intake.alerts"))


def _already_acknowledged(db: Any, alert: store.StaffAlert) -> str:
    by = db.get(StaffUser, alert.acknowledged_by) if alert.acknowledged_by is not None else None
    when = f" on {alert.acknowledged_at:%d %b %Y at %H:%M} UTC" if alert.acknowledged_at else ""
    who = by.display_name if by else "another staff member"
    return f"This alert was already acknowledged by {who}{when}. Nothing was changed."
