"""Clinical governance pages: the ruleset impact report (issue 12, item 3).

Which stored screenings would come out differently under the current ruleset, and how. Running a
report is an explicit action (a POST); it replays and compares, stores nothing but the report, and
is audited, as is every look at a report and every export. Re-evaluating one screening stays the
per-screening action on its page (rules.md BT6). Staff pages are English only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from screener import impact
from screener.auth import Role
from screener.clock import utcnow
from screener.db import get_db
from screener.rules import CURRENT_RULESET, Outcome
from screener.web.access import acting_user, audit, requires

bp = Blueprint("governance", __name__, url_prefix="/staff")

OUTCOME_CODES = frozenset(outcome.value for outcome in Outcome)
VIEW, EXPORT = "ruleset.impact.view", "ruleset.impact.export"
#: Affected screenings listed on the page (all of them are in the CSV export).
LISTED = 200
#: The chart: one bar per outcome transition, drawn on the server as SVG (no script, no inline style).
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_AREA, COUNT_WIDTH = 22, 8, 380, 320, 90
CHANGED_FILL, UNCHANGED_FILL = "#1d70b8", "#b1b4b6"


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    y: int
    width: int
    changed: bool

    @property
    def fill(self) -> str:
        return CHANGED_FILL if self.changed else UNCHANGED_FILL

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 6


@dataclass(frozen=True)
class Chart:
    bars: Sequence[Bar]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT


def chart(matrix: Sequence[Mapping[str, Any]]) -> Chart:
    """Bars scaled to the largest count; changed transitions in blue, unchanged in grey."""
    largest = max((int(cell["count"]) for cell in matrix), default=0) or 1
    bars = [
        Bar(
            label=f"{cell['from']} → {cell['to']}",
            count=int(cell["count"]),
            y=number * (BAR_HEIGHT + BAR_GAP),
            width=max(1, round(BAR_AREA * int(cell["count"]) / largest)),
            changed=cell["from"] != cell["to"],
        )
        for number, cell in enumerate(matrix)
    ]
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return Chart(bars, LABEL_WIDTH + BAR_AREA + COUNT_WIDTH, height)


@bp.context_processor
def governance_helpers() -> dict[str, Any]:
    return {"utc": _utc, "outcome_label": _outcome_label}


def _utc(moment: datetime | None) -> str:
    """Like 29 Nov 2026, 09:30 UTC (as on the review pages)."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def _outcome_label(code: str | None) -> str:
    return Outcome(code).label if code in OUTCOME_CODES else code or ""


def _date(name: str, errors: dict[str, str]) -> date | None:
    typed = (request.form.get(name) or "").strip()
    if not typed:
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        errors[name] = f"Enter the {'first' if name == 'date_from' else 'last'} day as a date, like 2026-11-29"
        return None


def _reports_page(errors: Mapping[str, str] | None = None, typed: Mapping[str, str] | None = None) -> str:
    with get_db().read() as db:
        reports = impact.list_reports(db)
    return render_template(
        "governance/impact_list.html",
        reports=reports,
        errors=errors or {},
        typed=typed or {},
        current_ruleset=CURRENT_RULESET,
    )


@bp.get("/ruleset-impact")
@requires(Role.CLINICIAN)
def impact_reports() -> ResponseReturnValue:
    """The saved reports, newest first, and the form that runs a new one."""
    return _reports_page()


@bp.post("/ruleset-impact")
@requires(Role.CLINICIAN)
def run_impact() -> ResponseReturnValue:
    """Run a report now (one process: a large database is better served by ``screener ruleset impact``)."""
    errors: dict[str, str] = {}
    scope = impact.Scope(_date("date_from", errors), _date("date_to", errors))
    if not errors and scope.date_from and scope.date_to and scope.date_from > scope.date_to:
        errors["date_to"] = "The last day must be the same as or after the first day"
    if errors:
        typed = {name: request.form.get(name, "") for name in ("date_from", "date_to")}
        return _reports_page(errors, typed), 400
    database = get_db()
    with database.read() as db:
        actor = acting_user(db)
    report_id = impact.run(
        database,
        current_app.config["DATABASE_URL"],
        scope=scope,
        now=utcnow,
        actor=actor,
        remote_addr=request.remote_addr,
        processes=1,
    )
    return redirect(url_for("governance.impact_report", report_id=report_id))


@bp.get("/ruleset-impact/<int:report_id>")
@requires(Role.CLINICIAN)
def impact_report(report_id: int) -> ResponseReturnValue:
    """One report: the outcome matrix as a table and a chart, the per-ID changes, the affected list."""
    with get_db().write() as db:
        report = impact.get_report(db, report_id)
        audit(db, VIEW, object_type="impact_report", object_id=report_id, outcome="success" if report else "failure")
        if report is None:
            abort(404)
        items = list(islice(impact.iter_items(db, report_id, batch=LISTED + 1), LISTED + 1))
    matrix = report.summary.get("matrix", [])
    return render_template(
        "governance/impact_report.html",
        report=report,
        matrix=matrix,
        chart=chart(matrix),
        kinds=impact.KINDS,
        summary=report.summary,
        items=items[:LISTED],
        more=len(items) > LISTED,
        listed=LISTED,
        current_ruleset=CURRENT_RULESET,
    )


@bp.get("/ruleset-impact/<int:report_id>/affected.csv")
@requires(Role.CLINICIAN)
def impact_csv(report_id: int) -> ResponseReturnValue:
    """Every affected screening of a saved report (and those that could not be replayed), as CSV."""
    database = get_db()
    with database.write() as db:
        report = impact.get_report(db, report_id)
        audit(db, EXPORT, object_type="impact_report", object_id=report_id, outcome="success" if report else "failure")
    if report is None:
        abort(404)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(impact.CSV_HEADER)
        with database.read() as db:
            for number, item in enumerate(impact.iter_items(db, report_id), start=1):
                writer.writerow(impact.csv_row(item))
                if number % 1000 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"ruleset-impact-{report_id}-affected.csv"
    return Response(
        rows(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
