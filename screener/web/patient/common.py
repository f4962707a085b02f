"""What the patient pages share: the blueprint, the session and draft, the idle timeout.

No account: an in-progress response (a draft) is tied to this browser by a random token in
the session cookie and saved on the server after every page, so a closed browser loses
nothing. Enable rules run here on the server, so every page works without JavaScript.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from screener import store
from screener.clock import utcnow
from screener.db import get_db
from screener.rules import (
    PANEL_OF_WARNING,
    SECTIONS,
    AnswerValue,
    ClinicConfig,
    Decision,
    Jurisdiction,
    Question,
    asked_questions,
    parse_answers,
    patient_texts,
    urgent_panels,
)

bp = Blueprint("patient", __name__)

PATIENT_SECTIONS = tuple(section for section in SECTIONS if not section.staff_only)
PATIENT_SECTION_IDS = tuple(section.id for section in PATIENT_SECTIONS)
DRAFT_KEY, SEEN_KEY, RESULT_KEY, SAVED_CODE_KEY = "draft", "seen", "result", "saved_code"
#: After the contact offer, the question page it came from shows its urgent panels again (help stays first).
PANELS_AGAIN_KEY = "panels_again"
#: The idle clock's resolution in seconds: the idle timeout is honoured to within this.
SEEN_RESOLUTION = 15


# --- Session and draft helpers ------------------------------------------------------------


def clinic() -> ClinicConfig:
    config: ClinicConfig = current_app.config["CLINIC_CONFIG"]
    return config


def current_language() -> str:
    return str(get_locale() or "en")


def forget_patient() -> None:
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
        forget_patient()
        flash(_("You were inactive for a while, so we cleared your answers from this device."), "info")
        if request.endpoint != "patient.start":
            return redirect(url_for("patient.start"))
    return None


def draft_answers(draft: store.Draft) -> dict[str, AnswerValue]:
    return dict(draft.answers)


def shown_questions(section_id: str, answers: Mapping[str, Any]) -> list[Question]:
    return [q for q in asked_questions(answers, clinic()) if q.section == section_id]


def next_url(section_id: str | None, asked_now: Iterable[Question]) -> str:
    """The next section that asks anything, else the check-your-answers page."""
    asked = {q.section for q in asked_now}
    start = PATIENT_SECTION_IDS.index(section_id) + 1 if section_id else 0
    for candidate in PATIENT_SECTION_IDS[start:]:
        if candidate in asked:
            return url_for("patient.section", section_id=candidate)
    return url_for("patient.check")


def previous_url(section_id: str, answers: Mapping[str, Any]) -> str:
    asked = {q.section for q in asked_questions(answers, clinic())}
    for candidate in reversed(PATIENT_SECTION_IDS[: PATIENT_SECTION_IDS.index(section_id)]):
        if candidate in asked:
            return url_for("patient.section", section_id=candidate)
    return url_for("patient.start")


def as_json(answers: Mapping[str, AnswerValue]) -> dict[str, Any]:
    return {qid: list(value) if isinstance(value, tuple) else value for qid, value in answers.items()}


def contact_panels(
    warnings: Iterable[Mapping[str, Any]], fired_rules: Iterable[str], jurisdiction: Jurisdiction
) -> list[dict[str, Any]]:
    """The urgent contact panels these fired rules call for, crisis first, each with its warnings (6.1)."""
    warnings = list(warnings)
    return [
        {
            "panel": patient_texts.CONTACT_PANELS[panel, jurisdiction],
            "warnings": [w for w in warnings if PANEL_OF_WARNING.get(w["id"]) is panel],
        }
        for panel in urgent_panels(fired_rules)
    ]


def urgent_panels_now(decision: Decision) -> list[dict[str, Any]]:
    """The panels an urgent answer raises on the page where it was given, warnings as the reader reads them."""
    shown = [{"id": w.id, "severity": w.severity.value, "text": _(w.text)} for w in decision.warnings]
    return contact_panels(shown, decision.fired_rules, decision.jurisdiction)


def draft_token() -> str | None:
    """The secret that ties this browser to its unfinished answers, if it has any."""
    token = session.get(DRAFT_KEY)
    return token if isinstance(token, str) else None


def current_draft(db: Any) -> store.Draft | None:
    """This browser's unfinished answers, inside the caller's transaction."""
    token = draft_token()
    return store.find_draft(db, token, utcnow()) if token else None


def draft_or_none() -> store.Draft | None:
    with get_db().read() as db:
        return current_draft(db)


def no_draft() -> ResponseReturnValue:
    if RESULT_KEY in session:
        return redirect(url_for("patient.result"))
    flash(_("Your answers on this device have ended. Start again, or continue with a saved code."), "info")
    return redirect(url_for("patient.start"))


def kept(answers: Mapping[str, AnswerValue]) -> dict[str, AnswerValue]:
    """Only answers to questions still asked: stale answers are thrown away (rules.md section 4)."""
    return dict(parse_answers(as_json(answers), clinic()).values)


def issue_resume_code(db: Any, draft: store.Draft) -> str:
    hours = current_app.config["RESUME_HOURS"]
    return store.issue_resume_code(db, draft, now=utcnow(), valid_for=timedelta(hours=hours))


def saved_redirect(code: str) -> ResponseReturnValue:
    """Show the code once, then this device forgets the answers (shared devices)."""
    forget_patient()
    session[SAVED_CODE_KEY] = code
    return redirect(url_for("patient.saved"))
