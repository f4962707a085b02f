"""Staff accounts and their server-side sessions.

A session lives on the server so that signing out, an admin disabling an account or resetting
its password, and the idle (15 minutes) and absolute (12 hours) limits really end it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from screener.models import StaffSession, StaffUser
from screener.store.screenings import new_token, secret_hash

IDLE_LIMIT = timedelta(minutes=15)
ABSOLUTE_LIMIT = timedelta(hours=12)


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


@dataclass(frozen=True)
class SignedIn:
    """A live staff session and its user."""

    session: StaffSession
    user: StaffUser


def start_session(session: Session, user: StaffUser, now: datetime) -> str:
    """A new server session (rotated at every sign-in); returns the token for the cookie."""
    token = new_token()
    session.add(StaffSession(token_hash=secret_hash(token), user_id=user.id, created_at=now, last_seen_at=now))
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
