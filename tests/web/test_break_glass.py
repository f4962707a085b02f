"""Restricted screenings and break-glass access (security-reliability S-21; issue 9, item 5).

A clinician restricts a screening to its care team with a reason. Staff outside the care team then
open it only by typing a reason (break-glass); each such access is audited and listed on the admin
report. The care team here: whoever recorded, signed off or re-evaluated it, and who restricted it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from screener import models
from screener.store import restriction
from tests.web.conftest import StaffBrowser
from tests.web.test_intake import post_intake, screening_id_of
from tests.web.test_patient import db_of

Staff = Callable[..., StaffBrowser]
REASON = "Patient is a member of staff: care team only"
BREAK_REASON = "Covering the urgent clinic today, patient on my list"
ACCESS_ROW = re.compile(r'<tr id="access-(\d+)"')


class Team:
    """A screening recorded by one nurse and restricted by one clinician; and two outsiders."""

    def __init__(self, app: Flask, staff: Staff) -> None:
        self.app = app
        self.nurse = staff("nurse", "nurse.team")
        self.clinician = staff("clinician", "clinician.team")
        self.other_nurse = staff("nurse", "nurse.other")
        self.other_clinician = staff("clinician", "clinician.other")
        self.admin = staff("admin", "admin.ada")
        self.screening_id = screening_id_of(post_intake(self.nurse))
        self.path = f"/staff/screenings/{self.screening_id}"

    def restrict(self, browser: StaffBrowser | None = None, reason: str = REASON) -> int:
        browser = browser or self.clinician
        browser.get(self.path)
        return browser.post(f"{self.path}/restriction", {"action": "restrict", "reason": reason}).status_code

    def events(self, action: str) -> list[models.AuditEvent]:
        with db_of(self.app).read() as session:
            query = select(models.AuditEvent).where(models.AuditEvent.action == action).order_by(models.AuditEvent.id)
            return list(session.scalars(query))

    def screening(self) -> models.Screening:
        with db_of(self.app).read() as session:
            found = session.get(models.Screening, self.screening_id)
            assert found is not None
            return found

    def accesses(self, kind: str) -> list[models.ScreeningAccess]:
        with db_of(self.app).read() as session:
            query = select(models.ScreeningAccess).where(models.ScreeningAccess.kind == kind)
            return list(session.scalars(query.order_by(models.ScreeningAccess.id)))


@pytest.fixture
def team(app: Flask, staff: Staff) -> Team:
    return Team(app, staff)


def test_a_clinician_restricts_a_screening_with_a_reason(team: Team) -> None:
    assert team.restrict() == 302
    assert team.screening().restricted is True
    (row,) = team.accesses(restriction.RESTRICT)
    assert (row.reason, row.user_id) == (REASON, user_id(team.app, "clinician.team"))
    (event,) = team.events("screening.restrict")
    assert (event.actor, event.object_id, event.detail) == (
        "clinician.team",
        str(team.screening_id),
        {"access": row.id},
    )
    assert REASON not in str(event.detail)  # the reason stays out of the trail
    html = team.clinician.get(team.path).get_data(as_text=True)
    assert "Restricted to its care team" in html


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "at least 10 characters"), ("too short", "at least 10"), ("x" * 1001, "1,000 characters or fewer")],
)
def test_restricting_needs_a_real_reason(team: Team, reason: str, message: str) -> None:
    team.clinician.get(team.path)
    response = team.clinician.post(f"{team.path}/restriction", {"action": "restrict", "reason": reason})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    assert message in html
    assert team.screening().restricted is False
    assert team.accesses(restriction.RESTRICT) == []


def test_only_clinicians_restrict(team: Team) -> None:
    team.nurse.get(team.path)
    response = team.nurse.post(f"{team.path}/restriction", {"action": "restrict", "reason": REASON})
    assert response.status_code == 403
    assert team.screening().restricted is False


def test_the_care_team_reaches_a_restricted_screening_as_before(team: Team) -> None:
    team.restrict()
    for browser in (team.nurse, team.clinician):
        for path in (team.path, f"{team.path}/print", f"/staff/screenings/{team.screening_id}/amend"):
            assert browser.get(path).status_code == 200, (browser.username, path)
    views = [e for e in team.events("screening.view") if e.actor == "nurse.team"]
    assert views
    assert all(e.outcome == "success" and "break_glass" not in e.detail for e in views)


def test_anyone_else_must_give_a_reason_first_and_it_is_audited(team: Team) -> None:
    team.restrict()
    for browser in (team.other_nurse, team.other_clinician):
        for path in (team.path, f"{team.path}/print", f"{team.path}/amend"):
            response = browser.get(path)
            html = response.get_data(as_text=True)
            assert response.status_code == 403, (browser.username, path)
            assert "This screening is restricted to its care team" in html
            assert 'name="reason"' in html
            assert "Ada Lovelace" not in html  # nothing of the record before the reason
    denied = [e for e in team.events("screening.view") + team.events("screening.print") if e.outcome == "denied"]
    assert len(denied) == 6
    assert all(e.detail.get("restricted") is True for e in denied)

    # Sign-off and re-evaluation, too: nothing is stored.
    team.other_clinician.get(team.path)
    sign_off = team.other_clinician.post(f"{team.path}/reviews", {"version": "1", "decision": "agree"})
    assert sign_off.status_code == 403
    assert team.other_clinician.post(f"{team.path}/reevaluations", {}).status_code == 403
    with db_of(team.app).read() as session:
        assert session.scalars(select(models.Review)).all() == []
        assert session.scalars(select(models.Reevaluation)).all() == []


def test_break_glass_needs_a_reason_then_opens_the_screening_and_flags_it(team: Team) -> None:
    team.restrict()
    team.other_nurse.get(team.path)
    refused = team.other_nurse.post(f"{team.path}/break-glass", {"reason": "because"})
    assert refused.status_code == 400
    assert "at least 10 characters" in refused.get_data(as_text=True)
    assert team.accesses(restriction.BREAK_GLASS) == []

    opened = team.other_nurse.post(f"{team.path}/break-glass", {"reason": BREAK_REASON})
    assert opened.status_code == 302
    assert opened.headers["Location"] == team.path
    (row,) = team.accesses(restriction.BREAK_GLASS)
    assert (row.reason, row.user_id) == (BREAK_REASON, user_id(team.app, "nurse.other"))
    (failed, event) = team.events("screening.break_glass")
    assert (failed.outcome, failed.detail) == ("failure", {"fields": ["reason"]})
    assert (event.actor, event.outcome, event.detail) == ("nurse.other", "success", {"access": row.id})

    page = team.other_nurse.get(team.path)
    assert page.status_code == 200
    assert "Ada Lovelace" in page.get_data(as_text=True)
    assert "You opened this restricted screening with a reason" in page.get_data(as_text=True)
    view = [e for e in team.events("screening.view") if e.actor == "nurse.other" and e.outcome == "success"][-1]
    assert view.detail["break_glass"] == row.id  # every look while it is open is tied to the reason
    assert team.other_nurse.get(f"{team.path}/print").status_code == 200
    assert team.other_clinician.get(team.path).status_code == 403  # one person's reason opens it for them only


def test_a_break_glass_access_lasts_an_hour(team: Team) -> None:
    team.restrict()
    team.other_nurse.get(team.path)
    team.other_nurse.post(f"{team.path}/break-glass", {"reason": BREAK_REASON})
    assert team.other_nurse.get(team.path).status_code == 200
    with db_of(team.app).write() as session:
        for row in session.scalars(select(models.ScreeningAccess)):
            row.created_at -= restriction.BREAK_GLASS_LASTS + timedelta(seconds=1)
    assert team.other_nurse.get(team.path).status_code == 403


def test_break_glass_on_an_open_screening_is_not_needed(team: Team) -> None:
    team.other_nurse.get(team.path)
    response = team.other_nurse.post(f"{team.path}/break-glass", {"reason": BREAK_REASON})
    assert response.status_code == 302
    assert response.headers["Location"] == team.path
    assert team.accesses(restriction.BREAK_GLASS) == []


def test_the_queue_hides_who_a_restricted_screening_is_about_from_outsiders(team: Team) -> None:
    team.restrict()
    inside = team.nurse.get("/staff/queue").get_data(as_text=True)
    outside = team.other_nurse.get("/staff/queue").get_data(as_text=True)
    assert "Ada Lovelace" in inside
    assert "Ada Lovelace" not in outside
    assert "MRN-0042" not in outside
    assert "Restricted to its care team" in outside


def test_a_care_team_clinician_lifts_the_restriction_with_a_reason(team: Team) -> None:
    team.restrict()
    team.clinician.get(team.path)
    short = team.clinician.post(f"{team.path}/restriction", {"action": "unrestrict", "reason": "no"})
    assert short.status_code == 400
    lifted = team.clinician.post(f"{team.path}/restriction", {"action": "unrestrict", "reason": "Patient asked for it"})
    assert lifted.status_code == 302
    assert team.screening().restricted is False
    assert [row.reason for row in team.accesses(restriction.UNRESTRICT)] == ["Patient asked for it"]
    assert [event.outcome for event in team.events("screening.unrestrict")] == ["failure", "success"]
    assert team.other_nurse.get(team.path).status_code == 200


def test_an_outsider_cannot_lift_a_restriction_without_breaking_the_glass(team: Team) -> None:
    team.restrict()
    team.other_clinician.get(f"{team.path}")
    response = team.other_clinician.post(
        f"{team.path}/restriction", {"action": "unrestrict", "reason": "I would like to see it"}
    )
    assert response.status_code == 403
    assert team.screening().restricted is True


def test_the_admin_report_lists_every_break_glass_access(team: Team) -> None:
    team.restrict()
    for browser in (team.other_nurse, team.other_clinician):
        browser.get(team.path)
        browser.post(f"{team.path}/break-glass", {"reason": f"{BREAK_REASON} ({browser.username})"})
    response = team.admin.get("/staff/admin/break-glass")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = [int(found) for found in ACCESS_ROW.findall(html)]
    assert rows == [row.id for row in reversed(team.accesses(restriction.BREAK_GLASS))]
    assert f"{BREAK_REASON} (clinician.other)" in html
    assert f"{BREAK_REASON} (nurse.other)" in html
    assert team.screening().reference_code in html
    assert REASON not in html  # the restrictions are listed on their own
    restrictions = team.admin.get("/staff/admin/break-glass", query_string={"kind": "restrict"}).get_data(as_text=True)
    assert REASON in restrictions
    (viewed,) = team.events("break_glass.report")[:1]
    assert viewed.actor == "admin.ada"
    bad = team.admin.get("/staff/admin/break-glass", query_string={"kind": "nonsense", "before_id": "²"})
    assert bad.status_code == 400


def user_id(app: Flask, username: str) -> int:
    with db_of(app).read() as session:
        return int(session.scalars(select(models.StaffUser.id).where(models.StaffUser.username == username)).one())
