"""Who may reach what: deny by default.

An endpoint is reachable without an account only if it is in ``PUBLIC_ENDPOINTS``. Every other
view must declare the roles that may use it with ``@requires(...)``; a view that declares none
answers 403 to everyone (a forgotten decorator fails closed) and an anonymous visitor is sent
to sign in. Staff sessions live on the server (``screener.store.staff``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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

    def get_id(self) -> str:
        # Flask-Login's "alternative token": the session cookie holds the server session's token,
        # so ending that session on the server really signs the browser out.
        return self.token

    @classmethod
    def of(cls, user: StaffUser, token: str) -> StaffMember:
        return cls(user.id, user.username, user.display_name, Role(user.role), user.must_change_password, token)


def _load_staff(token: str) -> StaffMember | None:
    with get_db().write() as db:
        signed_in = staff_store.resume_session(db, token, utcnow())
        return StaffMember.of(signed_in.user, token) if signed_in else None


login_manager.user_loader(_load_staff)


def current_staff() -> StaffMember:
    """The signed-in staff member (only inside views that ``requires`` a role)."""
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
    if not current_user.is_authenticated:
        session.pop("_user_id", None)  # Flask-Login's key: an ended server session's token
        asked = request.full_path if request.query_string else request.path
        target = asked if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    member = current_staff()
    if member.must_change_password and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
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
        if request.blueprint not in STAFF_BLUEPRINTS or not current_user.is_authenticated:
            return {}
        member = current_staff()
        nav = [item for item in STAFF_NAV if item[0] in current_app.view_functions and member.role in item[2]]
        alerts = member.role in CARE_TEAM and "intake.alerts" in current_app.view_functions
        return {"staff": member, "staff_nav": nav, "open_alerts": unacknowledged_alerts() if alerts else 0}


#: Blueprints whose pages are staff pages (the staff layout, the urgent-alert banner).
STAFF_BLUEPRINTS = frozenset({"auth", "review", "intake", "admin"})
CARE_TEAM = (Role.NURSE, Role.CLINICIAN)
#: The staff navigation: (endpoint, label, roles that see it).
STAFF_NAV = (
    ("auth.home", "Home", ALL_STAFF),
    ("review.queue", "Review queue", CARE_TEAM),
    ("intake.start", "New intake", CARE_TEAM),
    ("intake.find", "Find a self-screen", CARE_TEAM),
    ("intake.alerts", "Urgent alerts", CARE_TEAM),
    ("review.rules", "Rule catalogue", ALL_STAFF),
    ("admin.users", "Staff accounts", (Role.ADMIN,)),
    ("admin.audit", "Audit trail", (Role.ADMIN,)),
    ("auth.change_password", "Change password", ALL_STAFF),
)
