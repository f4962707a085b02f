"""Who may reach what: deny by default.

An endpoint is reachable without an account only if it is in ``PUBLIC_ENDPOINTS``. Every other
view must declare the roles that may use it with ``@requires(...)``; a view that declares none
answers 403 to everyone (a forgotten decorator fails closed) and an anonymous visitor is sent
to sign in. Staff sessions live on the server (``screener.store.staff``).

Signing in takes two steps: the password, then the second factor. In between the session is half
signed in: it reaches only the endpoints of its step (``PENDING_ENDPOINTS``: choose a new password,
enrol an authenticator app, or enter a code) and sign-out; every other endpoint sends it to its step.
Flask-Login sees a half-signed-in member as not authenticated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy.orm import Session

from screener.auth import Role
from screener.clock import utcnow
from screener.db import get_db
from screener.models import StaffUser
from screener.store import audit as audit_store
from screener.store import staff as staff_store

#: Reachable without signing in: the patient journey, the JSON API, health and readiness, static
#: files, sign-in. (Metrics are not here: `screener metrics` serves them on an address of its own.)
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "public.healthz",
        "public.readyz",
        "public.choose_language",
        "patient.start",
        "patient.begin",
        "patient.start_again",
        "patient.keep_alive",
        "patient.about",
        "patient.section",
        "patient.save_section",
        "patient.preview_section",
        "patient.contact",
        "patient.check",
        "patient.submit",
        "patient.result",
        "patient.save_for_later",
        "patient.saved",
        "patient.resume",
        "api.evaluate",
        "api.questionnaire",
        "auth.login",
    }
)
#: Signed-in staff who must change their password may reach only these.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static"})


class Step(StrEnum):
    """Where a half-signed-in session stands: what it must do before it is fully signed in."""

    CHOOSE = "choose-password"  # choose a new password (a new or reset account), then enrol
    ENROL = "enrol"  # enrol an authenticator app (first sign-in, or after an admin's reset)
    VERIFY = "verify"  # enter a code from the app, or a recovery code


#: The one page of each step, where every other request of a half-signed-in session is sent.
STEP_ENDPOINT = {Step.CHOOSE: "auth.change_password", Step.ENROL: "auth.mfa_enrol", Step.VERIFY: "auth.mfa_verify"}
#: All a half-signed-in session may reach: its step's page, sign-out, static files.
PENDING_ENDPOINTS = {step: frozenset({endpoint, "auth.logout", "static"}) for step, endpoint in STEP_ENDPOINT.items()}
ALL_STAFF = (Role.NURSE, Role.CLINICIAN, Role.ADMIN)

login_manager = LoginManager()
login_manager.session_protection = "basic"

View = TypeVar("View", bound=Callable[..., Any])


def requires(*roles: Role) -> Callable[[View], View]:
    """Declare the roles that may use a view (checked before the view runs)."""

    def declare(view: View) -> View:
        view.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return declare


@dataclass(frozen=True)
class StaffMember(UserMixin):
    """The signed-in staff member, as loaded for this request."""

    user_id: int
    username: str
    display_name: str
    role: Role
    must_change_password: bool
    token: str
    #: The second factor was verified in this session: fully signed in.
    verified: bool = False
    #: The account has an authenticator app (else it enrols one before it is fully signed in).
    enrolled: bool = False

    def get_id(self) -> str:
        # Flask-Login's "alternative token": the session cookie holds the server session's token,
        # so ending that session on the server really signs the browser out.
        return self.token

    @property
    def is_authenticated(self) -> bool:
        """Only a fully signed-in member is, for Flask-Login and every check built on it."""
        return self.verified

    @property
    def pending_step(self) -> Step | None:
        """The sign-in step still to do (None: fully signed in)."""
        if self.verified:
            return None
        if self.enrolled:
            return Step.VERIFY
        return Step.CHOOSE if self.must_change_password else Step.ENROL

    @classmethod
    def of(cls, user: StaffUser, token: str, *, verified: bool) -> StaffMember:
        return cls(
            user.id,
            user.username,
            user.display_name,
            Role(user.role),
            user.must_change_password,
            token,
            verified=verified,
            enrolled=user.mfa_enrolled_at is not None,
        )


def _load_staff(token: str) -> StaffMember | None:
    with get_db().write() as db:
        signed_in = staff_store.resume_session(db, token, utcnow())
        return StaffMember.of(signed_in.user, token, verified=signed_in.verified) if signed_in else None


login_manager.user_loader(_load_staff)


def current_staff() -> StaffMember:
    """The signed-in staff member (only inside views that ``requires`` a role; half signed in on the
    sign-in steps' pages)."""
    member = current_user._get_current_object()
    if not isinstance(member, StaffMember):
        abort(401)
    return member


def acting_user(db: Session) -> StaffUser | None:
    member = current_user._get_current_object() if current_user else None
    return db.get(StaffUser, member.user_id) if isinstance(member, StaffMember) else None


def audit(
    db: Session,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    outcome: str = "success",
    detail: Mapping[str, Any] | None = None,
    actor_label: str | None = None,
) -> None:
    """Record who (the signed-in staff member), what, when (UTC) and from where."""
    audit_store.record(
        db,
        action=action,
        now=utcnow(),
        actor=acting_user(db),
        actor_label=actor_label,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        remote_addr=request.remote_addr,
        detail=detail,
    )


def enforce_access() -> ResponseReturnValue | None:
    """Runs before every request: public, else signed in with a declared role, else refused."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None
    loaded = current_user._get_current_object()
    step = loaded.pending_step if isinstance(loaded, StaffMember) else None
    if step is not None:
        if endpoint not in PENDING_ENDPOINTS[step]:
            return redirect(url_for(STEP_ENDPOINT[step]))
    elif not current_user.is_authenticated:
        session.pop("_user_id", None)  # Flask-Login's key: an ended server session's token
        asked = request.full_path if request.query_string else request.path
        target = asked if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    member = current_staff()
    if step is None and member.must_change_password and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.change_password"))
    roles = getattr(current_app.view_functions.get(endpoint), "required_roles", None)
    if endpoint != "static" and (roles is None or member.role not in roles):
        with get_db().write() as db:
            audit(db, "access.denied", object_type="endpoint", object_id=endpoint, outcome="denied")
        abort(403)
    return None


def unacknowledged_alerts() -> int:
    from screener.store.screenings import count_open_alerts

    with get_db().read() as db:
        return count_open_alerts(db)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.before_request(enforce_access)

    @app.context_processor
    def staff_context() -> dict[str, Any]:
        # Public pages (sign-in) never load the staff member: their view may hold the write lock.
        if request.blueprint not in STAFF_BLUEPRINTS or request.endpoint in PUBLIC_ENDPOINTS:
            return {}
        if not current_user.is_authenticated:  # signed out, or half signed in: no navigation
            return {}
        member = current_staff()
        nav = [item for item in STAFF_NAV if item[0] in current_app.view_functions and member.role in item[2]]
        alerts = member.role in CARE_TEAM and "intake.alerts" in current_app.view_functions
        return {"staff": member, "staff_nav": nav, "open_alerts": unacknowledged_alerts() if alerts else 0}


#: Blueprints whose pages are staff pages (the staff layout, the urgent-alert banner).
STAFF_BLUEPRINTS = frozenset({"auth", "review", "intake", "admin", "governance"})
CARE_TEAM = (Role.NURSE, Role.CLINICIAN)
#: The staff navigation: (endpoint, label, roles that see it).
STAFF_NAV = (
    ("auth.home", "Home", ALL_STAFF),
    ("review.queue", "Review queue", CARE_TEAM),
    ("intake.start", "New intake", CARE_TEAM),
    ("intake.find", "Find a self-screen", CARE_TEAM),
    ("intake.alerts", "Urgent alerts", CARE_TEAM),
    ("review.rules", "Rule catalogue", ALL_STAFF),
    ("governance.impact_reports", "Ruleset impact", (Role.CLINICIAN,)),
    ("admin.users", "Staff accounts", (Role.ADMIN,)),
    ("admin.audit", "Audit trail", (Role.ADMIN,)),
    ("admin.break_glass", "Break-glass report", (Role.ADMIN,)),
    ("auth.change_password", "Change password", ALL_STAFF),
)
