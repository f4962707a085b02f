"""Staff sign-in (password, then a second factor), sign-out, password changes and recovery codes.

No self-registration: admins create accounts. Signing in:

1. ``/staff/login``: username and password. One generic error; throttled per account and per address
   (a throttled attempt is refused before any password hashing, and audited). The session is rotated
   and is then only half signed in: it reaches nothing but the next step (``screener.web.access``).
2. A new or reset account first chooses its own password (``/staff/password``), then enrols an
   authenticator app (``/staff/mfa/enrol``): a QR code drawn here, the secret as text, and a code from
   the app to confirm; its ten recovery codes are then shown, once.
3. An enrolled account enters a code from its app, or a recovery code (``/staff/mfa``).

Only then is the session fully signed in (rotated again). Wrong codes are throttled per account and
per address like passwords (a throttled attempt is refused before any check), a TOTP code is never
accepted twice, and every step, success or failure, is audited. Each view opens at most one write
transaction and never loads the previous session's member inside it (Flask-Login's loader writes too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import RequestLimit, RouteLimit
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from limits import parse
from sqlalchemy.orm import Session
from wtforms import PasswordField, StringField

from screener.auth import (
    DUMMY_HASH,
    grouped,
    hash_password,
    hash_recovery_code,
    looks_like_recovery_code,
    matching_totp_step,
    needs_rehash,
    new_recovery_codes,
    new_totp_secret,
    password_problems,
    totp_qr_svg,
    totp_uri,
    unknown_username_label,
    verify_password,
    verify_recovery_code,
)
from screener.clock import utcnow
from screener.db import get_db
from screener.models import StaffUser
from screener.store import audit as audit_store
from screener.store import staff as staff_store
from screener.web.access import ALL_STAFF, STEP_ENDPOINT, StaffMember, Step, audit, current_staff, requires
from screener.web.limits import KEY_PREFIX, limiter
from screener.web.public import safe_next

bp = Blueprint("auth", __name__, url_prefix="/staff")

GENERIC_ERROR = "The username or password is not right. Check them and try again."
WRONG_CODE = (
    "The code is not right, or it was used already. Enter the code your app shows now "
    "(a new one comes every 30 seconds), or one of your recovery codes."
)
WRONG_ENROLMENT_CODE = (
    "The code is not right. Check that the app shows this account, then enter the 6-digit code it shows now."
)
#: Per account, and per address: failures only (a success does not count).
ACCOUNT_LIMIT = "5 per minute; 100 per day"
ADDRESS_LIMIT = "20 per minute; 200 per day"
#: Throttled attempts are audited, at most one row per limit key and minute: a flood of refused attempts
#: must not become a flood of audit writes (each takes the chain's write lock).
THROTTLE_AUDIT_EVERY = parse("1 per minute")
#: The page asked for before signing in, kept in the (signed) session cookie until the last step.
NEXT_KEY = "sign_in_next"
NEXT_MAX_LENGTH = 512


class LoginForm(FlaskForm):
    username = StringField()
    password = PasswordField()


class PasswordForm(FlaskForm):
    current = PasswordField()
    new = PasswordField()
    confirm = PasswordField()


class CodeForm(FlaskForm):
    code = StringField()


def _clinic_name() -> str:
    return str(current_app.config["CLINIC_NAME"])


def _record(
    db: Session,
    action: str,
    *,
    actor: StaffUser | None,
    actor_label: str | None = None,
    outcome: str = "success",
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Audit a sign-in step for an explicit actor: never through Flask-Login's current user, whose loader
    would open a second write transaction inside this one (and wait for it, on SQLite, until it fails)."""
    audit_store.record(
        db,
        action=action,
        now=utcnow(),
        actor=actor,
        actor_label=actor_label,
        object_type="staff_user" if actor else None,
        object_id=actor.id if actor else None,
        outcome=outcome,
        remote_addr=request.remote_addr,
        detail=detail,
    )


def _unknown(username: str) -> str:
    """The audit trail's name for a username with no account: a keyed hash, never what was typed."""
    return unknown_username_label(username, str(current_app.config["SECRET_KEY"])) if username else "anonymous"


# --- Throttling ---------------------------------------------------------------------------------


def _attempted_username() -> str:
    return "login-account:" + staff_store.normalise_username(request.form.get("username", ""))[:64]


def _member_key(kind: str) -> Callable[[], str]:
    """Per account, for the steps after the password: the (half) signed-in member's account."""

    def key() -> str:
        member = current_user._get_current_object()
        return f"{kind}-account:{member.user_id}" if isinstance(member, StaffMember) else f"{kind}-account:none"

    return key


def _failed_sign_in(response: object) -> bool:
    return getattr(response, "status_code", 200) != 302  # only failures count toward the limits


def _marked_failed(_response: object) -> bool:
    """A wrong current password or a wrong code (what the view marked), not any other answer."""
    return bool(g.get("auth_attempt_failed"))


def _first_in_window(key: str) -> bool:
    try:
        return bool(limiter.limiter.hit(THROTTLE_AUDIT_EVERY, KEY_PREFIX, "throttle-audit", key))
    except Exception:  # noqa: BLE001 - the limiter's storage failed: record the attempt rather than lose it
        return True


def _throttled_actor(db: Session, action: str, member: StaffMember | None) -> tuple[StaffUser | None, str | None]:
    if member is not None:
        return staff_store.get_user(db, member.user_id), None
    username = staff_store.normalise_username(request.form.get("username", ""))[:64]
    user = staff_store.find_user(db, username) if username else None
    return user, None if user else _unknown(username)


def _audit_throttled(action: str) -> Callable[[RequestLimit], None]:
    """Flask-Limiter's ``on_breach``: the refused attempt is audited (checked before any hashing)."""

    def on_breach(limit: RequestLimit) -> None:
        if g.get("throttle_audited"):  # both limits breached by one request: one row
            return
        g.throttle_audited = True
        if not _first_in_window(limit.key):
            return
        loaded = current_user._get_current_object() if action != "login" else None  # before the write begins
        member = loaded if isinstance(loaded, StaffMember) else None
        with get_db().write() as db:
            actor, label = _throttled_actor(db, action, member)
            by = "account" if "-account:" in limit.key else "address"
            _record(db, action, actor=actor, actor_label=label, outcome="throttled", detail={"limit": by})

    return on_breach


def _account_limit(kind: str, action: str) -> RouteLimit:
    return limiter.shared_limit(
        ACCOUNT_LIMIT,
        scope=f"{kind}-account",
        methods=["POST"],
        key_func=_member_key(kind),
        deduct_when=_marked_failed,
        on_breach=_audit_throttled(action),
    )


def _address_limit(kind: str, action: str) -> RouteLimit:
    return limiter.shared_limit(
        ADDRESS_LIMIT,
        scope=f"{kind}-address",
        methods=["POST"],
        deduct_when=_marked_failed,
        on_breach=_audit_throttled(action),
    )


# --- Session rotation ---------------------------------------------------------------------------


def _sign_in_as(member: StaffMember) -> None:
    """A new session cookie for a new server session (session fixation): only the page asked for survives."""
    wanted = session.get(NEXT_KEY)
    session.clear()
    login_user(member)
    if wanted:
        session[NEXT_KEY] = wanted


def _next_step(member: StaffMember) -> ResponseReturnValue:
    step = member.pending_step
    if step is not None:
        return redirect(url_for(STEP_ENDPOINT[step]))
    return redirect(safe_next(session.pop(NEXT_KEY, None), url_for("auth.home")))


def _reset_notice(user: StaffUser, db: Session) -> dict[str, Any] | None:
    """What the person is told after an admin's reset: when, and by whom."""
    if user.reset_at is None:
        return None
    admin = staff_store.get_user(db, user.reset_by_id) if user.reset_by_id is not None else None
    return {"at": user.reset_at, "by": admin.display_name if admin else "an administrator"}


# --- 1. The password ----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=_failed_sign_in, on_breach=_audit_throttled("login"))
@limiter.limit(
    ACCOUNT_LIMIT,
    methods=["POST"],
    key_func=_attempted_username,
    deduct_when=_failed_sign_in,
    on_breach=_audit_throttled("login"),
)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, error=None, next=request.args.get("next", ""))
    username = staff_store.normalise_username(form.username.data or "")
    password = form.password.data or ""
    with get_db().read() as db:
        found = staff_store.find_user(db, username) if username else None
        user_id, stored_hash = (found.id, found.password_hash) if found else (None, DUMMY_HASH)
        active = bool(found and found.active)
    # Hashed either way (an unknown username takes as long as a wrong password), outside the write lock.
    valid = verify_password(stored_hash, password) and active
    rehashed = hash_password(password) if valid and needs_rehash(stored_hash) else None
    with get_db().write() as db:
        user = staff_store.get_user(db, user_id) if user_id is not None else None
        if user is None or not valid or not user.active or user.password_hash != stored_hash:
            _record(db, "login", actor=user, actor_label=None if user else _unknown(username), outcome="failure")
            member = None
        else:
            if rehashed:
                user.password_hash = rehashed
            if user.mfa_enrolled_at is None and not user.must_change_password:
                staff_store.propose_totp_secret(db, user, new_totp_secret(), now=utcnow())  # fresh for this session
            token = staff_store.start_session(db, user, utcnow(), verified=False)
            member = StaffMember.of(user, token, verified=False)
            detail = {"factor": "password", "next_step": str(member.pending_step)}
            if user.reset_at is not None and user.mfa_enrolled_at is None:
                detail["after_reset_at"] = user.reset_at.isoformat()  # the reset chain, for the audit trail
            _record(db, "login", actor=user, detail=detail)
    if member is None:
        return render_template("auth/login.html", form=form, error=GENERIC_ERROR, next=request.form.get("next")), 400
    wanted = request.form.get("next") or ""
    session.clear()  # a new session at sign-in: nothing from before survives (session fixation)
    login_user(member)
    if wanted and len(wanted) <= NEXT_MAX_LENGTH:
        session[NEXT_KEY] = wanted
    return _next_step(member)


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
@_address_limit("password", "password.change")
@_account_limit("password", "password.change")
def change_password() -> ResponseReturnValue:
    """Change one's password; a new or reset account must, before it enrols (step 2)."""
    member = current_staff()
    form = PasswordForm()
    errors: dict[str, str] = {}
    with get_db().read() as db:
        user = staff_store.get_user(db, member.user_id)
        if user is None:
            abort(401)
        stored_hash, username, notice = user.password_hash, user.username, _reset_notice(user, db)
    if form.validate_on_submit():
        new = form.new.data or ""
        if not verify_password(stored_hash, form.current.data or ""):
            g.auth_attempt_failed = True  # counts toward the limits
            errors["current"] = "Your current password is not right."
            with get_db().write() as db:
                audit(db, "password.change", object_type="staff_user", object_id=member.user_id, outcome="failure")
        elif problems := password_problems(new, username, _clinic_name()):
            errors["new"] = problems[0]
        elif verify_password(stored_hash, new):
            errors["new"] = "Choose a new password: this is the one you have now."
        elif new != (form.confirm.data or ""):
            errors["confirm"] = "The two new passwords are not the same."
        else:
            new_hash = hash_password(new)  # slow on purpose: not while holding the write lock
            with get_db().write() as db:
                user = staff_store.get_user(db, member.user_id)
                if user is None:
                    abort(401)
                now = utcnow()
                staff_store.set_password(db, user, new_hash, now=now)  # ends every session of the account
                if user.mfa_enrolled_at is None:
                    staff_store.propose_totp_secret(db, user, new_totp_secret(), now=now)  # then enrol
                token = staff_store.start_session(db, user, now, verified=member.verified)
                audit(
                    db,
                    "password.change",
                    object_type="staff_user",
                    object_id=user.id,
                    detail={"forced": member.must_change_password},
                )
                changed = StaffMember.of(user, token, verified=member.verified)
            _sign_in_as(changed)
            if changed.pending_step is None:
                flash("Your password has been changed.", "info")
            return _next_step(changed)
    status = 400 if errors else 200
    return render_template(
        "auth/password.html",
        form=form,
        errors=errors,
        forced=member.must_change_password,
        signing_in=not member.verified,
        reset=notice if member.must_change_password else None,
    ), status


# --- 2. Enrolling an authenticator app ----------------------------------------------------------


def _enrolment_page(user: StaffUser, notice: dict[str, Any] | None, error: str | None) -> ResponseReturnValue:
    secret = user.totp_secret or ""
    uri = totp_uri(secret, user.username, _clinic_name())
    return render_template(
        "auth/mfa_enrol.html",
        qr=totp_qr_svg(uri, "QR code: scan it with your authenticator app to add your Screener account"),
        secret=grouped(secret),
        username=user.username,
        reset=notice,
        error=error,
    ), (400 if error else 200)


@bp.route("/mfa/enrol", methods=["GET", "POST"])
@requires(*ALL_STAFF)
@_address_limit("mfa", "mfa.enrol")
@_account_limit("mfa", "mfa.enrol")
def mfa_enrol() -> ResponseReturnValue:
    member = current_staff()
    if member.pending_step is not Step.ENROL:
        return _next_step(member)
    form = CodeForm()
    if not form.validate_on_submit():
        with get_db().write() as db:
            user = staff_store.get_user(db, member.user_id)
            if user is None:
                abort(401)
            if user.totp_secret is None:  # a session from before MFA: propose one now, once
                staff_store.propose_totp_secret(db, user, new_totp_secret(), now=utcnow())
            notice = _reset_notice(user, db)
        return _enrolment_page(user, notice, None)  # drawn after the write lock is released
    with get_db().read() as db:
        user = staff_store.get_user(db, member.user_id)
        if user is None or user.totp_secret is None:
            abort(401)
        secret = user.totp_secret
    step = matching_totp_step(secret, form.code.data or "", utcnow())
    codes = new_recovery_codes() if step is not None else []
    code_hashes = [hash_recovery_code(code) for code in codes]  # slow on purpose: before the write lock
    with get_db().write() as db:
        user = staff_store.get_user(db, member.user_id)
        if user is None:
            abort(401)
        now = utcnow()
        confirmed = (
            step is not None and user.totp_secret == secret and staff_store.confirm_totp(db, user, step, now=now)
        )
        if not confirmed:
            _record(db, "mfa.enrol", actor=user, outcome="failure")
            notice = _reset_notice(user, db)
        else:
            staff_store.replace_recovery_codes(db, user, code_hashes, now=now)
            staff_store.end_session(db, member.token, now)
            token = staff_store.start_session(db, user, now, verified=True)
            detail: dict[str, Any] = {"recovery_codes": len(codes)}
            if user.reset_at is not None:
                detail["after_reset_at"] = user.reset_at.isoformat()
            _record(db, "mfa.enrol", actor=user, detail=detail)
            signed_in = StaffMember.of(user, token, verified=True)
            reset_at = user.reset_at
    if not confirmed:
        g.auth_attempt_failed = True
        return _enrolment_page(user, notice, WRONG_ENROLMENT_CODE)
    _sign_in_as(signed_in)
    if reset_at is not None:
        flash(_reset_told(reset_at), "info")
    onward = safe_next(session.pop(NEXT_KEY, None), url_for("auth.home"))
    # Rendered in answer to the POST (never a redirect): the codes are on this page only.
    return render_template("auth/recovery_codes.html", codes=codes, onward=onward, first=True)


def _reset_told(reset_at: datetime) -> str:
    return (
        f"An administrator reset your account on {reset_at:%Y-%m-%d at %H:%M} UTC. You have chosen a new "
        "password and set up your authenticator app again. If you did not ask for the reset, tell your manager."
    )


# --- 3. A code from the app, or a recovery code ------------------------------------------------


@bp.route("/mfa", methods=["GET", "POST"])
@requires(*ALL_STAFF)
@_address_limit("mfa", "mfa.verify")
@_account_limit("mfa", "mfa.verify")
def mfa_verify() -> ResponseReturnValue:
    member = current_staff()
    if member.pending_step is not Step.VERIFY:
        return _next_step(member)
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/mfa_verify.html", error=None)
    typed = form.code.data or ""
    recovery = looks_like_recovery_code(typed)
    with get_db().read() as db:
        user = staff_store.get_user(db, member.user_id)
        if user is None or user.totp_secret is None:
            abort(401)
        secret = user.totp_secret
        candidates = [(code.id, code.code_hash) for code in staff_store.unused_recovery_codes(db, user.id)]
    now = utcnow()
    matched: int | None = None
    step: int | None = None
    if recovery:  # Argon2id, at most ten of them: before the write lock
        matched = next((code_id for code_id, code_hash in candidates if verify_recovery_code(code_hash, typed)), None)
    else:
        step = matching_totp_step(secret, typed, now)
    with get_db().write() as db:
        user = staff_store.get_user(db, member.user_id)
        if user is None:
            abort(401)
        action = "mfa.recovery_code" if recovery else "mfa.verify"
        if recovery:
            ok = matched is not None and staff_store.use_recovery_code(db, matched, now=now)
        else:
            ok = step is not None and user.totp_secret == secret and staff_store.use_totp_step(db, user, step)
        if not ok:
            reason = "wrong" if (matched if recovery else step) is None else "already used"
            _record(db, action, actor=user, outcome="failure", detail={"reason": reason})
        else:
            staff_store.end_session(db, member.token, now)
            token = staff_store.start_session(db, user, now, verified=True)
            left = staff_store.count_unused_recovery_codes(db, user.id)
            _record(db, action, actor=user, detail={"recovery_codes_left": left} if recovery else None)
            signed_in = StaffMember.of(user, token, verified=True)
    if not ok:
        g.auth_attempt_failed = True
        return render_template("auth/mfa_verify.html", error=WRONG_CODE), 400
    _sign_in_as(signed_in)
    if recovery:
        flash(
            f"You signed in with a recovery code; it cannot be used again. You have {left} left. "
            "If you are running out, make new ones: Change password, then Two-step verification.",
            "info",
        )
    return _next_step(signed_in)


# --- Signed in: new recovery codes ----------------------------------------------------------------


@bp.route("/mfa/recovery-codes", methods=["GET", "POST"])
@requires(*ALL_STAFF)
@_address_limit("mfa", "mfa.recovery_codes")
@_account_limit("mfa", "mfa.recovery_codes")
def recovery_codes() -> ResponseReturnValue:
    """How many recovery codes are left; a new set (every old one stops working) for a code from the app."""
    member = current_staff()
    form = CodeForm()
    with get_db().read() as db:
        left = staff_store.count_unused_recovery_codes(db, member.user_id)
        user = staff_store.get_user(db, member.user_id)
        if user is None or user.totp_secret is None:
            abort(401)
        secret = user.totp_secret
    if not form.validate_on_submit():
        return render_template("auth/mfa_settings.html", left=left, error=None)
    step = matching_totp_step(secret, form.code.data or "", utcnow())
    codes = new_recovery_codes() if step is not None else []
    code_hashes = [hash_recovery_code(code) for code in codes]
    with get_db().write() as db:
        user = staff_store.get_user(db, member.user_id)
        if user is None:
            abort(401)
        ok = step is not None and user.totp_secret == secret and staff_store.use_totp_step(db, user, step)
        if ok:
            staff_store.replace_recovery_codes(db, user, code_hashes, now=utcnow())
        _record(
            db,
            "mfa.recovery_codes",
            actor=user,
            outcome="success" if ok else "failure",
            detail={"recovery_codes": len(codes)} if ok else None,
        )
    if not ok:
        g.auth_attempt_failed = True
        return render_template("auth/mfa_settings.html", left=left, error=WRONG_CODE), 400
    return render_template("auth/recovery_codes.html", codes=codes, onward=url_for("auth.home"), first=False)


@bp.get("/")
@requires(*ALL_STAFF)
def home() -> ResponseReturnValue:
    """The staff start page: what this role can do, and the urgent alerts."""
    return render_template("auth/home.html")
