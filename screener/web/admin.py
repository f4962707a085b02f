"""Administration: staff accounts and the audit trail (admins only).

Every change to an account is audited (``user.create``, ``user.disable``, ``user.enable``,
``user.reset`` with ``mfa.reset``), and so is every look at the audit trail (``audit.view``). A reset
password is generated here, shown once on the page that answers the reset and nowhere else: not in a
URL, a flash message, the audit trail or a log. A reset also removes the account's second factor: the
person must choose a new password and enrol their authenticator app again at their next sign-in,
where they are told who reset the account and when. An admin who knows the temporary password still
cannot sign in as them without doing both, and each step is in the audit trail after the reset.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from screener.auth import Role, account_problems, create_account, hash_password, password_problems
from screener.clock import utcnow
from screener.db import get_db
from screener.models import AuditEvent, StaffUser
from screener.store import audit as audit_store
from screener.store import restriction
from screener.store import staff as staff_store
from screener.web.access import acting_user, audit, current_staff, requires
from screener.web.ids import parse_row_id

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")

ROLE_LABELS = {Role.NURSE.value: "Nurse", Role.CLINICIAN.value: "Clinician", Role.ADMIN.value: "Administrator"}
#: Events per page of the audit trail; older ones are reached with the "Older events" link.
AUDIT_PAGE_SIZE = 50
#: Problems with the chain shown on the page (the command ``screener audit verify`` lists them all).
CHAIN_PROBLEMS_SHOWN = 20
#: The page checks the trail from the newest checkpoint on; once it has verified this many events past
#: it, it records a checkpoint there, so that no view walks more than about this many.
CHECKPOINT_EVERY = 1000
FILTER_MAX_LENGTH = 64


# --- Staff accounts -----------------------------------------------------------------------------


def _users_page(db: Session, errors: Mapping[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    users = staff_store.list_users(db)
    return render_template(
        "admin/users.html",
        users=users,
        errors=errors or {},
        roles=ROLE_LABELS,
        me=current_staff().user_id,
    ), status


@bp.get("/users")
@requires(Role.ADMIN)
def users() -> ResponseReturnValue:
    with get_db().read() as db:
        return _users_page(db)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def create_user() -> ResponseReturnValue:
    typed = {
        "username": request.form.get("username", "").strip(),
        "display_name": request.form.get("display_name", "").strip(),
        "role": request.form.get("role", ""),
    }
    if request.method == "GET":
        return render_template("admin/user_new.html", typed=typed, errors={}, roles=ROLE_LABELS)
    password = request.form.get("password", "")
    errors = account_problems(typed["username"], typed["display_name"], typed["role"])
    if problems := password_problems(password, typed["username"], current_app.config["CLINIC_NAME"]):
        errors["password"] = problems[0]
    username = ""
    if not errors:
        try:
            with get_db().write() as db:
                if staff_store.find_user(db, typed["username"]) is not None:
                    errors["username"] = "An account with this username already exists. Choose another."
                else:
                    user = create_account(
                        db,
                        username=typed["username"],
                        display_name=typed["display_name"],
                        role=typed["role"],
                        password=password,
                        now=utcnow(),
                        actor=acting_user(db),
                        remote_addr=request.remote_addr,
                        must_change_password=True,  # the admin knows it: the person must choose their own
                    )
                    username = user.username
        except IntegrityError:  # created by someone else at the same moment
            errors["username"] = "An account with this username already exists. Choose another."
    if errors:
        return render_template("admin/user_new.html", typed=typed, errors=errors, roles=ROLE_LABELS), 400
    flash(f"Account {username} created. They must choose a new password when they first sign in.", "info")
    return redirect(url_for("admin.users"))


def _target(db: Session, user_id: int) -> StaffUser:
    user = staff_store.get_user(db, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/disable")
@requires(Role.ADMIN)
def disable_user(user_id: int) -> ResponseReturnValue:
    with get_db().write() as db:
        user = _target(db, user_id)
        if user.id == current_staff().user_id:
            return _users_page(
                db, {f"user-{user.id}": "You cannot disable your own account. Ask another administrator."}, 400
            )
        staff_store.set_active(db, user, False, now=utcnow())  # ends every session of the account
        audit(db, "user.disable", object_type="staff_user", object_id=user.id, detail={"role": user.role})
        username = user.username
    flash(f"Account {username} disabled. Anyone signed in with it has been signed out.", "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/enable")
@requires(Role.ADMIN)
def enable_user(user_id: int) -> ResponseReturnValue:
    with get_db().write() as db:
        user = _target(db, user_id)
        staff_store.set_active(db, user, True, now=utcnow())
        audit(db, "user.enable", object_type="staff_user", object_id=user.id, detail={"role": user.role})
        username = user.username
    flash(f"Account {username} enabled.", "info")
    return redirect(url_for("admin.users"))


def temporary_password(username: str) -> str:
    """A random password the policy accepts (about 120 bits: always, in practice, the first one)."""
    for _ in range(10):
        password = secrets.token_urlsafe(15)
        if not password_problems(password, username):
            return password
    raise RuntimeError("could not generate a temporary password")  # pragma: no cover


@bp.post("/users/<int:user_id>/reset")
@requires(Role.ADMIN)
def reset_user(user_id: int) -> ResponseReturnValue:
    with get_db().read() as db:
        user = _target(db, user_id)
        if user.id == current_staff().user_id:
            return _users_page(db, {f"user-{user.id}": "To change your own password, use Change password."}, 400)
        password = temporary_password(user.username)
    password_hash = hash_password(password)  # slow on purpose: not while holding the write lock
    with get_db().write() as db:
        user = _target(db, user_id)
        admin = acting_user(db)
        if admin is None:
            abort(401)
        # A password the person must change (the admin has seen it), no second factor (they enrol again),
        # every session of the account ended, and the reset remembered to tell them at their next sign-in.
        staff_store.reset_account(db, user, password_hash, now=utcnow(), by=admin)
        audit(db, "user.reset", object_type="staff_user", object_id=user.id, detail={"role": user.role})
        audit(db, "mfa.reset", object_type="staff_user", object_id=user.id, detail={"role": user.role})
        shown = {"username": user.username, "display_name": user.display_name}
    # Rendered in answer to the POST (never a redirect): the password is on this page only.
    return render_template("admin/reset_done.html", user=shown, password=password)


# --- The audit trail ----------------------------------------------------------------------------


@dataclass
class AuditQuery:
    """The audit page's filters as typed, and what they mean once checked."""

    typed: dict[str, str]
    where: audit_store.EventFilter = field(default_factory=audit_store.EventFilter)
    before_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def applied(self) -> dict[str, str]:
        """The filters in effect (none when any was invalid), for links and the audit record."""
        return {} if self.errors else {key: value for key, value in self.typed.items() if value}


FILTER_FIELDS = ("actor", "action", "object_type", "object_id", "since", "until")


def _date(typed: str, name: str, errors: dict[str, str], label: str) -> date | None:
    if not typed:
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        errors[name] = f"Enter the {label} as a date, for example 2026-11-29."
        return None


def parse_audit_query(args: Mapping[str, str], known_actions: Sequence[str]) -> AuditQuery:
    """Check the filters: on any problem the page lists them all and shows the unfiltered trail."""
    typed = {name: args.get(name, "").strip() for name in FILTER_FIELDS}
    query = AuditQuery(typed)
    errors = query.errors
    for name, label in (("actor", "username"), ("object_type", "object type"), ("object_id", "object ID")):
        if len(typed[name]) > FILTER_MAX_LENGTH:
            errors[name] = f"Enter a {label} of at most {FILTER_MAX_LENGTH} characters."
    if typed["action"] and typed["action"] not in known_actions:
        errors["action"] = "Choose an action from the list."
    since = _date(typed["since"], "since", errors, "start date")
    until = _date(typed["until"], "until", errors, "end date")
    if since and until and until < since:
        errors["until"] = "The end date must be the same as or after the start date."
    before_id = None
    if raw := args.get("before_id", "").strip():
        before_id = parse_row_id(raw)  # ASCII digits within the database's range (2^31 - 1), else named
        if before_id is None:
            errors["before_id"] = "The link to older events was not right. Start again from the newest events."
    if errors:
        return query
    query.before_id = before_id
    query.where = audit_store.EventFilter(
        actor=typed["actor"] or None,
        action=typed["action"] or None,
        object_type=typed["object_type"] or None,
        object_id=typed["object_id"] or None,
        since=datetime.combine(since, time.min, UTC) if since else None,
        until=_day_after(until),
    )
    return query


def _day_after(until: date | None) -> datetime | None:
    """The end of the ``until`` day (exclusive); none for the last day there is (9999-12-31 has no next)."""
    if until is None or until == date.max:
        return None
    return datetime.combine(until + timedelta(days=1), time.min, UTC)


def visible(text: str | None) -> str:
    """Control characters (a forged line break in a typed username) shown as escapes, not obeyed."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text or "")


def _display_names(db: Session, events: Sequence[AuditEvent]) -> dict[int, str]:
    ids = {event.actor_id for event in events if event.actor_id is not None}
    if not ids:
        return {}
    rows = db.execute(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids)))
    return {row.id: row.display_name for row in rows}


@bp.get("/audit", endpoint="audit")
@requires(Role.ADMIN)
def audit_trail() -> ResponseReturnValue:
    with get_db().read() as db:
        actions = sorted({*audit_store.actions(db), "audit.view"})
    query = parse_audit_query(request.args, actions)
    with get_db().write() as db:
        detail: dict[str, Any] = {"filters": query.applied()}
        if query.before_id is not None:
            detail["before_id"] = query.before_id
        audit(db, "audit.view", object_type="audit_event", detail=detail)
    with get_db().read() as db:
        events = list(audit_store.list_events(db, query.where, before_id=query.before_id, limit=AUDIT_PAGE_SIZE + 1))
        older = events[AUDIT_PAGE_SIZE - 1].id if len(events) > AUDIT_PAGE_SIZE else None
        events = events[:AUDIT_PAGE_SIZE]
        names = _display_names(db, events)
        # From the newest checkpoint on, not the whole trail (`screener audit verify` walks it all).
        check = audit_store.verify_recent(db)
    problems = check.problems
    if not problems and check.events_checked >= CHECKPOINT_EVERY:
        # What was just verified becomes the next view's starting point.
        with get_db().write() as db:
            audit_store.write_checkpoint(
                db,
                now=utcnow(),
                event_count=check.total_events,
                head_id=check.head_id,
                head_hash=check.head_hash,
                actor=current_staff().username,
                key=audit_store.current_key(),
            )
    filters: dict[str, Any] = query.applied()
    return render_template(
        "admin/audit.html",
        events=events,
        names=names,
        query=query,
        actions=actions,
        older_url=url_for("admin.audit", **filters, before_id=older) if older else None,
        newest_url=url_for("admin.audit", **filters) if query.before_id else None,
        visible=visible,
        problems=problems[:CHAIN_PROBLEMS_SHOWN],
        more_problems=max(0, len(problems) - CHAIN_PROBLEMS_SHOWN),
        check=check,
    ), (400 if query.errors else 200)


# --- Break-glass access and restrictions (S-21) ---------------------------------------------------

ACCESS_KIND_LABELS = {
    restriction.BREAK_GLASS: "Break-glass: opened a restricted screening with a reason",
    restriction.RESTRICT: "Restricted to the care team",
    restriction.UNRESTRICT: "Restriction lifted",
}
ACCESS_PAGE_SIZE = 50


@bp.get("/break-glass", endpoint="break_glass")
@requires(Role.ADMIN)
def break_glass_report() -> ResponseReturnValue:
    """Every break-glass access, newest first, with who, when, from where and the reason they gave.

    Also, chosen in the filter, every restriction and lifting. Looking is audited.
    """
    errors: dict[str, str] = {}
    kind = request.args.get("kind", restriction.BREAK_GLASS).strip()
    if kind not in restriction.KINDS:
        errors["kind"] = "Choose what to list from the options."
    before_id = None
    if raw := request.args.get("before_id", "").strip():
        before_id = parse_row_id(raw)
        if before_id is None:
            errors["before_id"] = "The link to older entries was not right. Start again from the newest."
    if errors:
        kind, before_id = restriction.BREAK_GLASS, None
    with get_db().write() as db:
        detail: dict[str, Any] = {"kind": kind}
        if before_id is not None:
            detail["before_id"] = before_id
        audit(db, "break_glass.report", object_type="screening_access", detail=detail)
        rows = restriction.report(db, kinds=(kind,), before_id=before_id, limit=ACCESS_PAGE_SIZE + 1)
    older = rows[ACCESS_PAGE_SIZE - 1].record.id if len(rows) > ACCESS_PAGE_SIZE else None
    return render_template(
        "admin/break_glass.html",
        rows=rows[:ACCESS_PAGE_SIZE],
        kind=kind,
        kinds=ACCESS_KIND_LABELS,
        roles=ROLE_LABELS,
        errors=errors,
        older_url=url_for("admin.break_glass", kind=kind, before_id=older) if older else None,
        newest_url=url_for("admin.break_glass", kind=kind) if before_id else None,
        lasts_minutes=int(restriction.BREAK_GLASS_LASTS.total_seconds() // 60),
    ), (400 if errors else 200)
