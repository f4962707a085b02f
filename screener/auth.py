"""Staff authentication: the password policy (NIST SP 800-63B), Argon2id, and the second factor.

Every staff account signs in with a password and a second factor: a TOTP code (RFC 6238, an
authenticator app) or one of ten single-use recovery codes. With MFA in force, 800-63B asks for at
least 8 characters; no composition rules. A password must not be a common or easily guessed one
(zxcvbn and its offline lists), nor contain the username, the clinic's name, "password" or
"screener". Long passphrases, spaces and emoji are welcome.

A TOTP code is accepted for its 30-second step and one step either side (clock drift), and never
twice: the last accepted step is stored, and a code of that step or an earlier one is refused.
Recovery codes are random (60 bits), shown once, and stored only as Argon2id hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum
from functools import cache

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from screener.models import StaffUser
from screener.store import audit
from screener.store import staff as staff_store

MIN_LENGTH = 8  # 800-63B: 8 with a second factor (15 when a password is the only factor)
MAX_LENGTH = 256
#: zxcvbn score 0-4. 2: more than 10^6 guesses, counting the common-password list, keyboard patterns, repeats,
#: dates and the context words: a blocklist check, as 800-63B asks, that a random 8-character password passes
#: (bruteforce counts 10^8 for it, which is score 2; score 3 would need 9 characters). Throttled online
#: guessing and the second factor do the rest; Argon2id slows offline guessing.
MIN_STRENGTH = 2
#: Words no password may contain, besides the username and the clinic's name (800-63B "context-specific words").
CONTEXT_WORDS = ("password", "screener")

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


class Role(StrEnum):
    NURSE = "nurse"
    CLINICIAN = "clinician"
    ADMIN = "admin"


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, username: str = "", clinic_name: str = "") -> list[str]:
    """Why this password may not be used (empty when it may).

    ``clinic_name`` is the clinic's name as configured (``SCREENER_CLINIC_NAME``): a password that
    contains it, the username, "password" or "screener" is refused, and the words of all of them
    make zxcvbn's guess count lower.
    """
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters. A few unrelated words make a good password."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    folded = password.lower()
    if folded in _common_passwords():
        return ["This password is too common. Choose another."]
    if username and username.lower() in folded:
        return ["The password must not contain your username."]
    clinic = " ".join(clinic_name.lower().split())
    if clinic and (clinic in folded or clinic.replace(" ", "") in folded.replace(" ", "")):
        return ["The password must not contain the clinic's name."]
    for word in CONTEXT_WORDS:
        if word in folded:
            return [f"The password must not contain the word \u201c{word}\u201d."]
    context = [username, *CONTEXT_WORDS, *clinic.split()] if clinic else [username, *CONTEXT_WORDS]
    if zxcvbn(password[:72], user_inputs=[word for word in context if word])["score"] < MIN_STRENGTH:
        return ["This password is too easy to guess. Add another word or two."]  # zxcvbn reads 72 at most
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


def unknown_username_label(username: str, key: str) -> str:
    """How the audit trail names a sign-in attempt for a username that does not exist.

    Never the text itself: people type their password into the username box. A keyed hash (HMAC
    with a key derived from the server's secret) still lets an admin see that the same unknown name
    was tried again and again, without being able to read it or test guesses against it.
    """
    derived = hmac.new(key.encode("utf-8"), b"screener/unknown-username/v1", hashlib.sha256).digest()
    digest = hmac.new(derived, username.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"unknown:{digest[:32]}"


# --- The second factor: TOTP -------------------------------------------------------------------

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
#: Steps either side of now that are accepted (clock drift between the server and the phone).
TOTP_DRIFT_STEPS = 1


def new_totp_secret() -> str:
    """A new random TOTP secret: 160 bits, base32 (what authenticator apps expect)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, username: str, clinic_name: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    issuer = f"Screener {clinic_name}".replace(":", " ").strip()
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def totp_qr_svg(uri: str, title: str) -> str:
    """The QR code of ``uri`` as inline SVG, drawn here (no external service, no script, no style attribute).

    Black on white whatever the page's colours, with the quiet zone scanners need; ``role="img"``
    and its <title> give it an accessible name.
    """
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title=title, svgclass="qr-code")
    return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)


def grouped(secret: str, size: int = 4) -> str:
    """A secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[start : start + size] for start in range(0, len(secret), size))


def totp_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP_SECONDS


def totp_code(secret: str, step: int) -> str:
    """The code of one time step (tests use it as a phone would)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).generate_otp(step)


def normalise_code(typed: str) -> str:
    """What people type: spaces, hyphens and dots between the digits are ignored."""
    return "".join(char for char in typed if char not in " -.\t")


def matching_totp_step(secret: str, typed: str, now: datetime) -> int | None:
    """The time step whose code this is (now, or one step either side), else None.

    Whether that step was already used is the caller's check (``screener.store.staff.use_totp_step``).
    """
    code = normalise_code(typed)
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = totp_step(now)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp_code(secret, step), code):  # every step compared: no early exit
            found = step
    return found


# --- The second factor: recovery codes -----------------------------------------------------------

RECOVERY_CODE_COUNT = 10
#: Crockford's base32: digits and lowercase letters without i, l, o and u (32 symbols, 5 bits each); a typed
#: o is read as 0, and i or l as 1.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_LOOK_ALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})
RECOVERY_CODE_LENGTH = 12  # 60 bits: far beyond online guessing, and hashed with Argon2id at rest
#: Argon2id for recovery codes: they are random (60 bits), so the cost that protects a password chosen by a
#: person is not needed; OWASP's lowest recommended setting (19 MiB, 2 passes) keeps checking ten of them quick.
_recovery_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Random single-use codes as shown to the person: ``abcd-efgh-jkmn``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[start : start + 4] for start in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def normalise_recovery_code(typed: str) -> str:
    return normalise_code(typed).lower().translate(_LOOK_ALIKES)


def looks_like_recovery_code(typed: str) -> bool:
    code = normalise_recovery_code(typed)
    return len(code) == RECOVERY_CODE_LENGTH and all(char in RECOVERY_ALPHABET for char in code)


def hash_recovery_code(code: str) -> str:
    return _recovery_hasher.hash(normalise_recovery_code(code))


def verify_recovery_code(code_hash: str, typed: str) -> bool:
    try:
        return _recovery_hasher.verify(code_hash, normalise_recovery_code(typed))
    except (VerificationError, InvalidHashError):
        return False


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
