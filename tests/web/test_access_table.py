"""Deny by default, as one table (security-reliability.md S-7, S-8; issue item 8).

``ACCESS`` names every endpoint of the app and what each kind of visitor gets from it: anonymous,
nurse, clinician, admin. A new endpoint without a row fails ``test_the_table_names_every_endpoint``;
each row is then checked by requesting the endpoint, with a realistic method and URL built from
real objects (a screening sent through the patient journey, its urgent alert, a staff account).

POST requests carry a valid CSRF token and an empty (or minimal) body: what is checked is the
access decision, made before the view looks at the body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask, url_for
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from screener import models
from tests.web.conftest import Patient, StaffBrowser, create_staff
from tests.web.test_patient import ADULT

#: A redirect to the staff sign-in page (anonymous visitors on staff pages).
LOGIN = "login"
#: The right role on an action whose answer to an empty body is not fixed here: anything but a
#: refusal (401/403), a redirect to sign in, or a server error.
ALLOWED = "allowed"


@dataclass(frozen=True)
class Redirect:
    """A redirect whose Location starts with ``to`` (not to the sign-in page unless it says so)."""

    to: str


Expected = int | str | Redirect


@dataclass(frozen=True)
class Row:
    method: str
    anonymous: Expected
    nurse: Expected
    clinician: Expected
    admin: Expected
    #: A body for the request (the CSRF token is added to form bodies).
    form: Mapping[str, Any] | None = None
    json: Mapping[str, Any] | None = None

    def expected(self, role: str) -> Expected:
        value: Expected = getattr(self, role)
        return value


def everyone(method: str, expected: Expected, **body: Any) -> Row:
    """A public endpoint: the same answer for a patient and for signed-in staff."""
    return Row(method, expected, expected, expected, expected, **body)


def staff_only(method: str, nurse: Expected, clinician: Expected, admin: Expected, **body: Any) -> Row:
    return Row(method, LOGIN, nurse, clinician, admin, **body)


ROLES = ("anonymous", "nurse", "clinician", "admin")

#: Every endpoint (but ``static``, which serves files to everyone), and the answer each visitor gets.
ACCESS: dict[str, Row] = {
    # Public: the patient journey (a visitor with no form under way), the JSON API, health, sign-in.
    "public.healthz": everyone("GET", 200),
    "public.readyz": everyone("GET", 200),
    "public.choose_language": everyone("POST", Redirect("/"), form={"lang": "es", "next": "/"}),
    "patient.start": everyone("GET", 200),
    "patient.about": everyone("GET", 200),
    "patient.begin": everyone("POST", Redirect("/questions/A")),
    "patient.start_again": everyone("POST", Redirect("/")),
    "patient.keep_alive": everyone("POST", 204),
    "patient.section": everyone("GET", Redirect("/")),
    "patient.save_section": everyone("POST", Redirect("/"), form={"action": "continue"}),
    "patient.preview_section": everyone("POST", 409),  # no answers on this device: nothing to preview
    "patient.contact": everyone("GET", 200),
    "patient.check": everyone("GET", Redirect("/")),
    "patient.submit": everyone("POST", Redirect("/")),
    "patient.result": everyone("GET", Redirect("/")),
    "patient.save_for_later": everyone("POST", Redirect("/")),
    "patient.saved": everyone("GET", 200),  # says no code was saved: nothing to show
    "patient.resume": everyone("GET", 200),
    "api.questionnaire": everyone("GET", 200),
    "api.evaluate": everyone("POST", 200, json={"answers": {"completed_by": "self", "age_years": 22}}),
    "auth.login": everyone("GET", 200),
    # Every member of staff.
    "auth.home": staff_only("GET", 200, 200, 200),
    "auth.change_password": staff_only("GET", 200, 200, 200),
    "auth.recovery_codes": staff_only("GET", 200, 200, 200),
    # The sign-in steps after the password: a fully signed-in member is sent on (see the half-signed-in test).
    "auth.mfa_verify": staff_only("GET", Redirect("/staff/"), Redirect("/staff/"), Redirect("/staff/")),
    "auth.mfa_enrol": staff_only("GET", Redirect("/staff/"), Redirect("/staff/"), Redirect("/staff/")),
    "auth.logout": staff_only("POST", Redirect("/staff/login"), Redirect("/staff/login"), Redirect("/staff/login")),
    "review.rules": staff_only("GET", 200, 200, 200),
    # The care team: nurses and clinicians.
    "review.queue": staff_only("GET", 200, 200, 403),
    "review.screening": staff_only("GET", 200, 200, 403),
    "review.print_view": staff_only("GET", 200, 200, 403),
    "intake.start": staff_only("GET", 200, 200, 403),
    "intake.find": staff_only("GET", 200, 200, 403),
    "intake.amend": staff_only("GET", 200, 200, 403),
    "intake.alerts": staff_only("GET", 200, 200, 403),
    "intake.acknowledge": staff_only("POST", ALLOWED, ALLOWED, 403),
    # Clinicians only.
    "review.sign_off": staff_only("POST", 403, ALLOWED, 403),
    "review.reevaluate": staff_only("POST", 403, ALLOWED, 403),
    "governance.impact_reports": staff_only("GET", 403, 200, 403),
    "governance.run_impact": staff_only("POST", 403, Redirect("/staff/ruleset-impact/"), 403),
    "governance.impact_report": staff_only("GET", 403, ALLOWED, 403),  # no report saved here: 404, not a refusal
    "governance.impact_csv": staff_only("GET", 403, ALLOWED, 403),
    # Administrators only.
    "admin.users": staff_only("GET", 403, 403, 200),
    "admin.create_user": staff_only("GET", 403, 403, 200),
    "admin.disable_user": staff_only("POST", 403, 403, Redirect("/staff/admin/users")),
    "admin.enable_user": staff_only("POST", 403, 403, Redirect("/staff/admin/users")),
    "admin.reset_user": staff_only("POST", 403, 403, 200),
    "admin.audit": staff_only("GET", 403, 403, 200),
    "admin.break_glass": staff_only("GET", 403, 403, 200),
    # Restricting a screening to its care team (clinicians), and break-glass access to one (the care side).
    "review.restrict": staff_only("POST", 403, ALLOWED, 403),
    "review.break_glass": staff_only("POST", ALLOWED, ALLOWED, 403),
}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """This module checks access decisions, not password hashing: three sign-ins per test stay fast."""
    import screener.auth

    monkeypatch.setattr(screener.auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def app_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}


def test_the_table_names_every_endpoint(app: Flask) -> None:
    """A new endpoint must be given a row (and an old row goes when its endpoint does)."""
    endpoints = app_endpoints(app)
    missing_rows = sorted(endpoints - set(ACCESS))
    missing_endpoints = sorted(set(ACCESS) - endpoints)
    assert missing_rows == [], f"endpoints with no row in ACCESS: {missing_rows}"
    assert missing_endpoints == [], f"rows for endpoints the app does not have (yet): {missing_endpoints}"


def test_the_public_rows_are_exactly_the_public_allow_list() -> None:
    from screener.web.access import PUBLIC_ENDPOINTS

    public = {endpoint for endpoint, row in ACCESS.items() if row.anonymous != LOGIN}
    assert public == PUBLIC_ENDPOINTS - {"static"}
    for endpoint in public:
        row = ACCESS[endpoint]
        assert row.anonymous == row.nurse == row.clinician == row.admin, endpoint


def test_static_files_are_served_to_everyone(app: Flask, staff: Callable[..., StaffBrowser]) -> None:
    with app.test_request_context():
        path = url_for("static", filename="css/staff.css")
    for client in (app.test_client(), staff("nurse").client):
        with client.get(path) as response:
            assert response.status_code == 200


@dataclass
class World:
    """Real objects to build URLs with: one screening (with an urgent alert) and one staff account."""

    screening_id: int
    reference_code: str
    alert_id: int
    user_id: int


def send_a_screening_with_an_urgent_answer(app: Flask) -> World:
    patient = Patient(app.test_client())
    patient.start()
    for section, answers in ADULT.items():
        if section == "E":
            answers = {**answers, "phq9_q9": "1", "suicide_now": "no"}
        response = patient.answer(section, answers)
        if response.status_code == 200:  # the crisis panel, shown once before the person goes on
            response = patient.answer(section, answers)
        assert response.status_code == 302, (section, response.get_data(as_text=True)[:1000])
    patient.get("/check")
    assert patient.post("/submit").headers["Location"] == "/result"
    with app.extensions["screener.db"].read() as session:
        screening = session.scalars(select(models.Screening)).one()
        alert = session.scalars(select(models.StaffAlert)).one()
        assert alert.screening_id == screening.id
        return World(screening.id, screening.reference_code, alert.id, 0)


def url_value(endpoint: str, argument: str, world: World) -> Any:
    """The value of one URL argument, from the argument's name."""
    name = argument.lower()
    if name == "section_id":
        return "A"
    if "user" in name:
        return world.user_id
    if "alert" in name:
        return world.alert_id
    if "report" in name:
        return 1
    if "code" in name or "reference" in name:
        return world.reference_code
    if "version" in name or "number" in name:
        return 1
    if "screening" in name or name == "id":
        return world.screening_id
    pytest.fail(f"{endpoint}: no value for the URL argument {argument!r}; teach url_value about it")


def rule_for(app: Flask, endpoint: str, method: str) -> Rule:
    for rule in app.url_map.iter_rules(endpoint):
        if method in (rule.methods or set()):
            return rule
    pytest.fail(f"{endpoint} does not answer {method}")


def request_as(browser: Patient, method: str, path: str, row: Row) -> TestResponse:
    if row.json is not None:
        return browser.client.open(path, method=method, json=row.json)
    if method == "GET":
        return browser.get(path)
    return browser.post(path, dict(row.form or {}))


def check(response: TestResponse, expected: Expected, what: str) -> None:
    status = response.status_code
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        assert status == 302, what
        assert location.startswith("/staff/login"), (what, location)
    elif expected == ALLOWED:
        assert status < 500, what
        assert status not in {401, 403}, what
        assert not location.startswith("/staff/login"), (what, location)
    elif isinstance(expected, Redirect):
        assert status in {302, 303}, (what, status)
        assert location.startswith(expected.to), (what, location)
    else:
        assert status == expected, (what, status, location)
        if status in {301, 302, 303}:
            assert not location.startswith("/staff/login"), (what, location)


@pytest.mark.parametrize("endpoint", sorted(ACCESS))
def test_each_endpoint_answers_each_visitor_as_the_table_says(
    app: Flask, staff: Callable[..., StaffBrowser], endpoint: str
) -> None:
    if endpoint not in app_endpoints(app):
        pytest.fail(f"{endpoint} is in the access table but the app has no such endpoint (yet)")
    row = ACCESS[endpoint]
    rule = rule_for(app, endpoint, row.method)
    world = World(0, "", 0, 0)
    if any(argument != "section_id" for argument in rule.arguments):
        world = send_a_screening_with_an_urgent_answer(app)
    if any("user" in argument for argument in rule.arguments):
        world.user_id = create_staff(app, "target.account", "nurse")
    with app.test_request_context():
        path = url_for(endpoint, **{name: url_value(endpoint, name, world) for name in rule.arguments})

    for role in ROLES:
        browser = Patient(app.test_client()) if role == "anonymous" else staff(role)
        response = request_as(browser, row.method, path, row)
        expected = row.expected(role)
        check(response, expected, f"{row.method} {path} as {role}")
        if expected == 403:
            assert isinstance(browser, StaffBrowser)
            assert ("access.denied", browser.username, endpoint) in denials(app), "a refusal is audited"

    if not answers_get(app, path):  # state changes refuse GET (S-3), before any access check
        assert app.test_client().get(path).status_code == 405


def answers_get(app: Flask, path: str) -> bool:
    """Whether any endpoint answers GET at this path (a form's page shares its action's URL)."""
    try:
        app.url_map.bind("localhost").match(path, method="GET")
    except MethodNotAllowed:
        return False
    return True


def denials(app: Flask) -> set[tuple[str, str, str | None]]:
    with app.extensions["screener.db"].read() as session:
        rows = session.scalars(select(models.AuditEvent).where(models.AuditEvent.action == "access.denied")).all()
        return {(row.action, row.actor, row.object_id) for row in rows}


#: A half-signed-in session (password right, second factor not yet) at each step: the account it needs.
HALF_SIGNED_IN: dict[str, tuple[dict[str, Any], str]] = {
    "verify": ({}, "/staff/mfa"),  # enrolled: enter a code
    "enrol": ({"enrolled": False}, "/staff/mfa/enrol"),  # first sign-in: set up an app
    "choose-password": ({"enrolled": False, "must_change_password": True}, "/staff/password"),  # new or reset
}


@pytest.mark.parametrize("step", sorted(HALF_SIGNED_IN))
def test_a_half_signed_in_session_reaches_only_its_step(app: Flask, step: str) -> None:
    """Issue 9 item 3: after the password alone, every staff endpoint but the step's own page and sign-out
    sends the browser to its step, for every role; nothing else answers. (The public endpoints answer a
    half-signed-in browser as anyone: the other tests cover them, and some start the patient session afresh.)"""
    from screener.web.access import PENDING_ENDPOINTS, STEP_ENDPOINT, Step

    world = send_a_screening_with_an_urgent_answer(app)
    world.user_id = create_staff(app, "target.account", "nurse")
    account, step_page = HALF_SIGNED_IN[step]
    for role in ROLES[1:]:
        browser = StaffBrowser(app.test_client(), f"half.{role}.{step}", role)
        create_staff(app, browser.username, role, **account)
        assert browser.sign_in(second_factor=False).headers["Location"] == step_page
        # Sign-out last: it ends the session the other requests use.
        staff_endpoints = [endpoint for endpoint, row in ACCESS.items() if row.anonymous == LOGIN]
        for endpoint in sorted(staff_endpoints, key=lambda name: (name == "auth.logout", name)):
            row = ACCESS[endpoint]
            rule = rule_for(app, endpoint, row.method)
            with app.test_request_context():
                path = url_for(endpoint, **{name: url_value(endpoint, name, world) for name in rule.arguments})
            response = request_as(browser, row.method, path, row)
            what = f"{row.method} {path} as a half-signed-in {role} ({step})"
            if endpoint == STEP_ENDPOINT[Step(step)]:
                assert response.status_code == 200, what
            elif endpoint in PENDING_ENDPOINTS[Step(step)]:
                check(response, Redirect("/staff/login"), what)  # sign-out
            else:
                assert response.status_code == 302, (what, response.status_code)
                assert response.headers["Location"] == step_page, (what, response.headers["Location"])
