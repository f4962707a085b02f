"""Urgent alerts cannot be flooded from one address, and nobody's urgent answer is lost (issue 9, item 4).

A flood is many new forms from one address, each giving an urgent answer (15 in a second before).
Every person still sees the crisis panel at once (BT1), and every answer still gets its own alert row
(with its own contact details); past the address's limit, new alerts are grouped under that address's
open alert, so staff see one alert to act on, listing the others, and acknowledge them together.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from screener import models
from screener.store.screenings import count_open_alerts
from tests.web.conftest import Patient, StaffBrowser
from tests.web.test_patient import db_of, panels_in

Staff = Callable[..., StaffBrowser]
FLOOD = "203.0.113.66"


def urgent_answer(app: Flask, address: str, patient: Patient | None = None) -> Patient:
    """A visitor at ``address`` starts a new form and gives an urgent answer (PHQ-9 item 9)."""
    if patient is None:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        patient = Patient(client)
        patient.start()
        patient.post("/questions/A", {"completed_by": "self", "age_years": "22", "action": "continue"})
    response = patient.post("/questions/E", {"phq9_q9": "2", "action": "continue"})
    assert response.status_code == 400  # items 1 and 2 missing: the page comes back, with the panel
    assert panels_in(response.get_data(as_text=True)) == ["crisis"], "the person always sees the crisis panel"
    return patient


def alerts(app: Flask) -> list[models.StaffAlert]:
    with db_of(app).read() as session:
        return list(session.scalars(select(models.StaffAlert).order_by(models.StaffAlert.id)))


def open_count(app: Flask) -> int:
    with db_of(app).read() as session:
        return count_open_alerts(session)


def test_a_flood_from_one_address_raises_few_alerts_and_loses_none(app: Flask) -> None:
    limit = app.config["ALERT_ADDRESS_LIMIT"]
    for _ in range(15):
        urgent_answer(app, FLOOD)
    raised = alerts(app)
    assert len(raised) == 15  # one per person: nobody's answer is dropped
    assert len({alert.draft_id for alert in raised}) == 15
    assert open_count(app) == limit  # the banner on every staff page
    heads = [alert for alert in raised if alert.grouped_into_id is None]
    assert len(heads) == limit  # staff are alerted separately up to the limit ...
    grouped = [alert for alert in raised if alert.grouped_into_id is not None]
    assert {alert.grouped_into_id for alert in grouped} == {heads[-1].id}  # ... then under the newest open one
    assert all(alert.source_addr == FLOOD for alert in raised)


def test_another_address_is_not_held_back_by_a_flood(app: Flask) -> None:
    for _ in range(10):
        urgent_answer(app, FLOOD)
    before = open_count(app)
    urgent_answer(app, "198.51.100.7")
    (alert,) = [alert for alert in alerts(app) if alert.source_addr == "198.51.100.7"]
    assert alert.grouped_into_id is None
    assert open_count(app) == before + 1


def test_one_form_raises_one_alert_however_often_it_is_sent(app: Flask) -> None:
    patient = urgent_answer(app, FLOOD)
    for _ in range(10):
        response = patient.post("/questions/E", {"phq9_q9": "3", "action": "continue"})
        assert response.status_code == 400
    assert len(alerts(app)) == 1


def test_grouped_alerts_are_shown_and_acknowledged_with_the_alert_they_joined(app: Flask, staff: Staff) -> None:
    limit = app.config["ALERT_ADDRESS_LIMIT"]
    for _ in range(limit + 4):
        urgent_answer(app, FLOOD)
    head = [alert for alert in alerts(app) if alert.grouped_into_id is None][-1]
    nurse = staff("nurse")
    html = nurse.get("/staff/alerts").get_data(as_text=True)
    assert f"Open alerts ({limit})" in html
    assert "4 more urgent answers from the same address" in html
    assert html.count('action="/staff/alerts/') == limit  # one acknowledge form per alert to act on
    response = nurse.post(f"/staff/alerts/{head.id}/acknowledge", {"action_taken": "Checked: one test tablet"})
    assert response.status_code == 302
    members = [alert for alert in alerts(app) if alert.id == head.id or alert.grouped_into_id == head.id]
    assert len(members) == 5
    assert all(alert.acknowledged_at is not None for alert in members)
    assert {alert.action_taken for alert in members} == {"Checked: one test tablet"}
    assert open_count(app) == limit - 1
    with db_of(app).read() as session:
        event = session.scalars(select(models.AuditEvent).where(models.AuditEvent.action == "alert.acknowledge")).one()
    assert event.object_id == str(head.id)
    assert sorted(event.detail["grouped"]) == sorted(alert.id for alert in members if alert.id != head.id)


def test_after_the_group_is_acknowledged_the_next_flood_alerts_staff_again(app: Flask, staff: Staff) -> None:
    limit = app.config["ALERT_ADDRESS_LIMIT"]
    for _ in range(limit + 2):
        urgent_answer(app, FLOOD)
    nurse = staff("nurse")
    for alert in alerts(app):
        if alert.grouped_into_id is None:
            nurse.post(f"/staff/alerts/{alert.id}/acknowledge", {"action_taken": "Handled"})
    assert open_count(app) == 0
    urgent_answer(app, FLOOD)
    newest = alerts(app)[-1]
    assert newest.grouped_into_id is None  # nothing open to join: staff must see it
    assert open_count(app) == 1
