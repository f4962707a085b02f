"""Staff accounts, their second factor, and their server-side sessions.

A session lives on the server so that signing out, an admin disabling an account or resetting
its password, and the idle (15 minutes) and absolute (12 hours) limits really end it. A session
starts half signed in (the password was right) and is fully signed in only once the second factor
is verified (``mfa_verified_at``); a half-signed-in session lasts at most ``PENDING_LIMIT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from screener.models import StaffRecoveryCode, StaffSession, StaffUser
from screener.store.screenings import new_token, secret_hash

IDLE_LIMIT = timedelta(minutes=15)
ABSOLUTE_LIMIT = timedelta(hours=12)
#: How long a half-signed-in session (password right, second factor not yet) may take to finish signing in,
#: including a forced password change and enrolling an authenticator app.
PENDING_LIMIT = timedelta(minutes=30)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    now: datetime,
    must_change_password: bool = False,
) -> StaffUser:
    """A new account; it has no second factor yet, so it enrols at its first sign-in."""
    user = StaffUser(
        username=normalise_username(username),
        display_name=display_name.strip(),
        role=role,
        password_hash=password_hash,
        active=True,
        must_change_password=must_change_password,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.scalars(select(StaffUser).where(StaffUser.username == normalise_username(username))).first()


def get_user(session: Session, user_id: int) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def list_users(session: Session) -> Sequence[StaffUser]:
    return session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.username)).all()


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(StaffUser)) or 0)


def set_password(
    session: Session, user: StaffUser, password_hash: str, *, now: datetime, must_change: bool = False
) -> None:
    """A new password ends every session of the account (a reset locks out whoever had it)."""
    user.password_hash = password_hash
    user.must_change_password = must_change
    user.updated_at = now
    end_all_sessions(session, user, now)


def set_active(session: Session, user: StaffUser, active: bool, *, now: datetime) -> None:
    user.active = active
    user.updated_at = now
    if not active:
        end_all_sessions(session, user, now)


# --- The second factor ---------------------------------------------------------------------------


def propose_totp_secret(session: Session, user: StaffUser, secret: str, *, now: datetime) -> None:
    """The secret shown at enrolment; in force only once ``confirm_totp`` is called with a code of it."""
    user.totp_secret = secret
    user.mfa_enrolled_at = None
    user.totp_last_step = None
    user.updated_at = now
    session.flush()


def confirm_totp(session: Session, user: StaffUser, step: int | None, *, now: datetime) -> bool:
    """Enrolment confirmed by a code of ``step``: the secret is in force (False if already enrolled meanwhile).

    ``step`` None: an app set up without a code here (accounts provisioned with a known secret, tests).
    """
    result = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id, StaffUser.mfa_enrolled_at.is_(None), StaffUser.totp_secret.is_not(None))
        .values(mfa_enrolled_at=now, totp_last_step=step, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return _changed(result)


def use_totp_step(session: Session, user: StaffUser, step: int) -> bool:
    """Record that a code of ``step`` was used; False when that step (or a later one) already was.

    One conditional UPDATE, so two requests racing with the same code cannot both succeed.
    """
    result = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return _changed(result)


def replace_recovery_codes(session: Session, user: StaffUser, code_hashes: Sequence[str], *, now: datetime) -> None:
    """The account's recovery codes are these (hashed) ones from now on; every earlier one stops working."""
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.user_id == user.id))
    session.add_all(
        StaffRecoveryCode(user_id=user.id, code_hash=code_hash, created_at=now) for code_hash in code_hashes
    )
    session.flush()


def unused_recovery_codes(session: Session, user_id: int) -> Sequence[StaffRecoveryCode]:
    return session.scalars(
        select(StaffRecoveryCode)
        .where(StaffRecoveryCode.user_id == user_id, StaffRecoveryCode.used_at.is_(None))
        .order_by(StaffRecoveryCode.id)
    ).all()


def count_unused_recovery_codes(session: Session, user_id: int) -> int:
    query = select(func.count()).where(StaffRecoveryCode.user_id == user_id, StaffRecoveryCode.used_at.is_(None))
    return int(session.scalar(query) or 0)


def use_recovery_code(session: Session, code_id: int, *, now: datetime) -> bool:
    """Spend one recovery code; False when it was spent already (by a request racing this one)."""
    result = session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.id == code_id, StaffRecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return _changed(result)


def clear_mfa(session: Session, user: StaffUser, *, now: datetime) -> None:
    """No second factor any more: the person enrols again at their next sign-in."""
    user.totp_secret = None
    user.mfa_enrolled_at = None
    user.totp_last_step = None
    user.updated_at = now
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.user_id == user.id))
    session.flush()


def reset_account(session: Session, user: StaffUser, password_hash: str, *, now: datetime, by: StaffUser) -> None:
    """An admin's reset: a temporary password that must be changed, no second factor (enrol again), every
    session ended, and the reset remembered (who, when) so the person is told at their next sign-in."""
    set_password(session, user, password_hash, now=now, must_change=True)
    clear_mfa(session, user, now=now)
    user.reset_at = now
    user.reset_by_id = by.id
    session.flush()


def _changed(result: object) -> bool:
    return isinstance(result, CursorResult) and result.rowcount == 1


# --- Sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A live staff session and its user."""

    session: StaffSession
    user: StaffUser

    @property
    def verified(self) -> bool:
        """Fully signed in: the second factor was verified in this session."""
        return self.session.mfa_verified_at is not None


def start_session(session: Session, user: StaffUser, now: datetime, *, verified: bool = False) -> str:
    """A new server session (rotated at every sign-in step); returns the token for the cookie.

    ``verified``: the second factor was verified (a fully signed-in session); else half signed in.
    """
    token = new_token()
    session.add(
        StaffSession(
            token_hash=secret_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            mfa_verified_at=now if verified else None,
        )
    )
    if verified:
        user.last_login_at = now
    session.flush()
    return token


def resume_session(session: Session, token: str, now: datetime) -> SignedIn | None:
    """The live session for this token, its clock refreshed; ended if idle or too old."""
    found = session.scalars(select(StaffSession).where(StaffSession.token_hash == secret_hash(token))).first()
    if found is None or found.ended_at is not None:
        return None
    user = session.get(StaffUser, found.user_id)
    expired = now - found.last_seen_at > IDLE_LIMIT or now - found.created_at > ABSOLUTE_LIMIT
    if found.mfa_verified_at is None and now - found.created_at > PENDING_LIMIT:
        expired = True
    if user is None or not user.active or expired:
        found.ended_at = now
        return None
    found.last_seen_at = now
    return SignedIn(found, user)


def end_session(session: Session, token: str, now: datetime) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == secret_hash(token), StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_all_sessions(session: Session, user: StaffUser, now: datetime) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )
