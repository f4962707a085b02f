"""The ruleset impact pages (issue 12, item 3): run explicitly, table and SVG chart, links, CSV, audit."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from screener.models import AuditEvent, RulesetImpactReport
from tests.store.test_impact import fingerprint, seed
from tests.web.conftest import StaffBrowser


def _database(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["screener.db"]


def _run(clinician: StaffBrowser) -> str:
    clinician.get("/staff/ruleset-impact")
    response = clinician.post("/staff/ruleset-impact", {"date_from": "", "date_to": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location: str = response.headers["Location"]
    assert re.fullmatch(r"/staff/ruleset-impact/\d+", location)
    return location


def test_a_clinician_runs_a_report_and_sees_it(app: Flask, staff: Callable[..., StaffBrowser]) -> None:
    seeded = seed(_database(app))
    with _database(app).read() as session:
        before = fingerprint(session)
    clinician = staff("clinician")

    location = _run(clinician)
    page = clinician.get(location)

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<table" in html
    assert "Outcome transitions" in html
    assert "<svg" in html
    assert html.count("<rect") == 3
    assert "style=" not in html
    assert "<script>" not in html
    assert "W-OLD" in html
    assert "N-OLD" in html
    assert "R-R99" in html
    with _database(app).read() as session:
        assert fingerprint(session) == before
        report = session.scalars(select(RulesetImpactReport)).one()
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "impact_report")).all()
    assert actions == ["ruleset.impact", "ruleset.impact.view"]
    assert f">{seeded.changed}</a>" in html
    assert f">{seeded.rejected}</a>" in html
    assert seeded.unchanged not in html
    links = re.findall(r'href="(/staff/screenings/\d+)"', html)
    assert len(links) == 2
    assert clinician.get(links[0]).status_code == 200  # review.screening
    listing = clinician.get("/staff/ruleset-impact").get_data(as_text=True)
    assert f'href="{location}"' in listing
    assert report.to_ruleset_version in listing


def test_the_affected_list_exports_as_csv(app: Flask, staff: Callable[..., StaffBrowser]) -> None:
    seeded = seed(_database(app))
    clinician = staff("clinician")
    location = _run(clinician)

    response = clinician.get(f"{location}/affected.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["reference_code"] for row in rows) == sorted([seeded.changed, seeded.rejected])
    with _database(app).read() as session:
        exported = session.scalars(select(AuditEvent).where(AuditEvent.action == "ruleset.impact.export")).one()
    assert exported.object_id == location.rsplit("/", 1)[1]


def test_invalid_dates_are_named_and_nothing_runs(app: Flask, staff: Callable[..., StaffBrowser]) -> None:
    clinician = staff("clinician")
    clinician.get("/staff/ruleset-impact")
    response = clinician.post("/staff/ruleset-impact", {"date_from": "yesterday", "date_to": ""})
    assert response.status_code == 400
    assert "Enter the first day as a date" in response.get_data(as_text=True)
    response = clinician.post("/staff/ruleset-impact", {"date_from": "2026-11-02", "date_to": "2026-11-01"})
    assert response.status_code == 400
    with _database(app).read() as session:
        assert session.scalars(select(RulesetImpactReport)).all() == []


def test_running_needs_the_csrf_token(app: Flask, staff: Callable[..., StaffBrowser]) -> None:
    clinician = staff("clinician")
    response = clinician.client.post("/staff/ruleset-impact", data={})
    assert response.status_code == 400
    with _database(app).read() as session:
        assert session.scalars(select(RulesetImpactReport)).all() == []


def test_a_missing_report_is_404(staff: Callable[..., StaffBrowser]) -> None:
    clinician = staff("clinician")
    assert clinician.get("/staff/ruleset-impact/999").status_code == 404
    assert clinician.get("/staff/ruleset-impact/999/affected.csv").status_code == 404
