"""'Can we contact you?': the optional offer beside an urgent panel (issue 8).

A self-screen collects no name or phone number, so a person who closes the tab after an urgent
answer would leave staff nothing to act on. The offer is never required and never stands between
the person and the help contacts, which come first. What is left is kept with the urgent alert
(audited without the details themselves, and never logged), or that the person declined.
"""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.forms import CONTACT_TIMES, ContactOfferForm
from screener.web.access import audit
from screener.web.limits import limiter
from screener.web.patient.common import PANELS_AGAIN_KEY, RESULT_KEY, bp, current_draft, draft_token

#: Where the offer may send the person back to: a question page or the result, nowhere else.
BACK_PATHS = re.compile(r"/questions/[A-H]|/result")
CONTACT_ACTION = "alert.contact"


def contact_offer(db: Any) -> ContactOfferForm | None:
    """The offer for this browser's urgent alert, unless the person has already answered it."""
    alert = _alert(db)
    if alert is None or alert.contact_choice is not None:
        return None
    form = ContactOfferForm(formdata=None)
    form.back.data = request.path if BACK_PATHS.fullmatch(request.path) else ""
    return form


def _alert(db: Any) -> store.StaffAlert | None:
    """This browser's urgent alert: of its unfinished form, else of the screening it just completed."""
    if draft_token():
        draft = current_draft(db)
        if draft is not None:
            return store.urgent_alert_for(db, draft_id=draft.id, screening_id=None)
    screening_id = session.get(RESULT_KEY)
    if isinstance(screening_id, int):
        return store.urgent_alert_for(db, draft_id=None, screening_id=screening_id)
    return None


@bp.route("/contact", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])  # one person answers once or twice, not a flood
def contact() -> ResponseReturnValue:
    form = ContactOfferForm()
    back = form.back.data if form.back.data and BACK_PATHS.fullmatch(form.back.data) else None
    if request.method == "GET" or not form.validate_on_submit():
        return _page(form, status=200 if request.method == "GET" else 400)
    declined = request.form.get("action") == "decline"
    entry = None if declined else form.details()
    if not declined and entry is None:
        return _page(form, status=400)
    with get_db().write() as db:
        alert = _alert(db)
        if alert is None:
            return redirect(back or url_for("patient.start"))
        if entry is None:
            store.decline_contact(db, alert, utcnow())
        else:
            store.leave_contact(db, alert, name=entry.name, phone=entry.phone, best_time=entry.best_time, now=utcnow())
        choice = "declined" if entry is None else "given"
        audit(db, CONTACT_ACTION, object_type="alert", object_id=alert.id, detail={"choice": choice})
    if entry is None:
        flash(_("Thank you. We will not ask again. The help contacts are still there for you."), "info")
    else:
        flash(_("Thank you. The care team will see your details with the alert we sent them."), "info")
    if back and back.startswith("/questions/"):
        session[PANELS_AGAIN_KEY] = True  # the help contacts stay first on the page it returns to
    return redirect(back or url_for("patient.result"))


def _page(form: ContactOfferForm, *, status: int) -> ResponseReturnValue:
    return render_template("patient/contact.html", form=form, times=CONTACT_TIMES), status
