"""Staff passwords: the policy (NIST SP 800-63B) and hashing (Argon2id).

No composition rules. Without a second factor a password needs at least 15 characters; it must
not be a common or easily guessed password, nor contain the username. Long passphrases, spaces
and emoji are welcome.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from screener.models import StaffUser
from screener.store import audit
from screener.store import staff as staff_store

MIN_LENGTH = 15  # 800-63B: 15 when the password is the only factor
MAX_LENGTH = 256
MIN_STRENGTH = 3  # zxcvbn score 0-4: 3 means "safely unguessable" (about 10^8 guesses or more)

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


class Role(StrEnum):
    NURSE = "nurse"
    CLINICIAN = "clinician"
    ADMIN = "admin"


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, username: str = "") -> list[str]:
    """Why this password may not be used (empty when it may)."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters. A few unrelated words make a good password."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if password.lower() in _common_passwords():
        return ["This password is too common. Choose another."]
    if username and username.lower() in password.lower():
        return ["The password must not contain your username."]
    if zxcvbn(password[:72], user_inputs=[username])["score"] < MIN_STRENGTH:  # it reads 72 at most
        return ["This password is too easy to guess. Add another word or two."]
    return []


USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


def account_problems(username: str, display_name: str, role: str) -> dict[str, str]:
    """What is wrong with a new account's details, by field (empty when nothing is)."""
    problems = {}
    if not USERNAME_PATTERN.match(username.strip().lower()):
        problems["username"] = "Use 2 to 63 letters, digits, dots, hyphens or underscores."
    if not display_name.strip() or len(display_name) > 120:
        problems["display_name"] = "Enter the person's name (at most 120 characters)."
    if role not in {r.value for r in Role}:
        problems["role"] = "Choose nurse, clinician or admin."
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


#: Verified against when the username does not exist, so both cases take the same time.
DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def create_account(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    now: datetime,
    actor: StaffUser | None = None,
    actor_label: str | None = None,
    remote_addr: str | None = None,
    must_change_password: bool = False,
) -> StaffUser:
    """Create and audit a staff account whose details were checked (``account_problems``)."""
    user = staff_store.create_user(
        session,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        now=now,
        must_change_password=must_change_password,
    )
    audit.record(
        session,
        action="user.create",
        now=now,
        actor=actor,
        actor_label=actor_label,
        object_type="staff_user",
        object_id=user.id,
        remote_addr=remote_addr,
        detail={"role": role},
    )
    return user
