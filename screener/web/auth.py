"""Staff sign-in, sign-out and password changes. No self-registration (admins create accounts).

Sign-in gives one generic error, is throttled per account and per address (a throttled attempt
is refused before any password hashing), rotates the session, and is audited either way.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from screener.auth import DUMMY_HASH, hash_password, needs_rehash, password_problems, verify_password
from screener.clock import utcnow
from screener.db import get_db
from screener.store import staff as staff_store
from screener.web.access import ALL_STAFF, StaffMember, audit, current_staff, requires
from screener.web.limits import limiter
from screener.web.public import safe_next

bp = Blueprint("auth", __name__, url_prefix="/staff")

GENERIC_ERROR = "The username or password is not right. Check them and try again."


class LoginForm(FlaskForm):
    username = StringField()
    password = PasswordField()


class PasswordForm(FlaskForm):
    current = PasswordField()
    new = PasswordField()
    confirm = PasswordField()


def _attempted_username() -> str:
    return "login-account:" + staff_store.normalise_username(request.form.get("username", ""))[:64]


def _failed(response: object) -> bool:
    return getattr(response, "status_code", 200) != 302  # only failures count toward the limits


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute; 200 per day", methods=["POST"], deduct_when=_failed)  # per address
@limiter.limit("5 per minute; 100 per day", methods=["POST"], key_func=_attempted_username, deduct_when=_failed)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, error=None, next=request.args.get("next", ""))
    username = staff_store.normalise_username(form.username.data or "")
    password = form.password.data or ""
    now = utcnow()
    with get_db().write() as db:
        user = staff_store.find_user(db, username) if username else None
        # Hash either way, so an unknown username takes as long as a wrong password.
        valid = verify_password(user.password_hash if user else DUMMY_HASH, password)
        if user is None or not valid or not user.active:
            audit(db, "login", outcome="failure", actor_label=username[:64] or "anonymous")
            return render_template(
                "auth/login.html", form=form, error=GENERIC_ERROR, next=request.form.get("next")
            ), 400
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        token = staff_store.start_session(db, user, now)
        member = StaffMember.of(user, token)
        session.clear()  # a new session at sign-in: nothing from before survives (session fixation)
        login_user(member)
        audit(db, "login", object_type="staff_user", object_id=user.id)
    if member.must_change_password:
        return redirect(url_for("auth.change_password"))
    return redirect(safe_next(request.form.get("next"), url_for("auth.home")))


@bp.post("/logout")
@requires(*ALL_STAFF)
def logout() -> ResponseReturnValue:
    member = current_staff()
    with get_db().write() as db:
        audit(db, "logout", object_type="staff_user", object_id=member.user_id)
        staff_store.end_session(db, member.token, utcnow())
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@requires(*ALL_STAFF)
def change_password() -> ResponseReturnValue:
    member = current_staff()
    form = PasswordForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        new = form.new.data or ""
        with get_db().write() as db:
            user = staff_store.get_user(db, member.user_id)
            if user is None:
                abort(401)
            if not verify_password(user.password_hash, form.current.data or ""):
                errors["current"] = "Your current password is not right."
            elif problems := password_problems(new, user.username):
                errors["new"] = problems[0]
            elif new != (form.confirm.data or ""):
                errors["confirm"] = "The two new passwords are not the same."
            else:
                now = utcnow()
                staff_store.set_password(db, user, hash_password(new), now=now)  # ends every session
                token = staff_store.start_session(db, user, now)
                audit(db, "password.change", object_type="staff_user", object_id=user.id)
                session.clear()
                login_user(StaffMember.of(user, token))
                flash("Your password has been changed.", "info")
                return redirect(url_for("auth.home"))
    status = 400 if errors else 200
    return render_template("auth/password.html", form=form, errors=errors, forced=member.must_change_password), status


@bp.get("/")
@requires(*ALL_STAFF)
def home() -> ResponseReturnValue:
    """The staff start page: what this role can do, and the urgent alerts."""
    return render_template("auth/home.html")
