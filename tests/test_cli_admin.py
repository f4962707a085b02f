"""``screener users create`` and ``screener audit verify``, as real subprocesses on a temporary SQLite file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

SCREENER = str(Path(sys.executable).with_name("screener"))
PASSWORD = "lantern orchard velvet kettle"
INVALID_INPUT = 2


def run(database: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCREENER_DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [SCREENER, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database made by `screener db upgrade`, once: each test gets a copy."""
    path = tmp_path_factory.mktemp("cli") / "screener.db"
    result = run(path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Database up to date: sqlite:///")
    return path


@pytest.fixture
def database(upgraded: Path, tmp_path: Path) -> Path:
    path = tmp_path / "screener.db"
    shutil.copyfile(upgraded, path)
    return path


def create(
    database: Path, username: str, *, role: str = "admin", password: str = PASSWORD, name: str = "Ada Admin"
) -> subprocess.CompletedProcess[str]:
    return run(
        database, "users", "create", username, "--role", role, "--name", name, "--password-stdin", stdin=password + "\n"
    )


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(query).fetchall()


def tamper(database: Path, *statements: str) -> None:
    """What someone with access to the database file could do."""
    with closing(sqlite3.connect(database)) as connection, connection:  # the second: commit
        for statement in statements:
            connection.execute(statement)


def test_users_create_makes_an_audited_account(database: Path) -> None:
    result = create(database, "Admin.Ada")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Created admin admin.ada",
        "At the first sign-in (/staff/login) they set up an authenticator app and get recovery codes.",
    ]
    assert result.stderr == ""
    assert rows(database, "SELECT username, display_name, role, active FROM staff_user") == [
        ("admin.ada", "Ada Admin", "admin", 1)
    ]
    (password_hash,) = rows(database, "SELECT password_hash FROM staff_user")[0]
    assert isinstance(password_hash, str)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert rows(database, "SELECT action, actor, object_type FROM audit_event") == [
        ("user.create", "system:cli", "staff_user")
    ]


@pytest.mark.parametrize(
    ("username", "password", "name", "problems"),
    [
        ("Ada Lovelace!", PASSWORD, "Ada", ["username: Use 2 to 63 letters"]),
        ("nurse.ada", "short", "Ada", ["password: Use at least 8 characters"]),
        ("nurse.ada", "zxcvbnm,./", "Ada", ["password: This password is too easy to guess"]),
        ("nurse.ada", "password12345678", "Ada", ["password: The password must not contain the word"]),
        ("nurse.ada", "qwertyuiop", "Ada", ["password: This password is too common"]),
        ("nurse.ada", "my screener passphrase", "Ada", ["password: The password must not contain the word"]),
        ("nurse.ada", "acne clinic lantern", "Ada", ["password: The password must not contain the clinic's name"]),
        ("nurse.ada", "nurse.ada is the best", "Ada", ["password: The password must not contain your username"]),
        ("nurse.ada", PASSWORD, " ", ["display_name: Enter the person's name"]),
        ("x", "short", " ", ["username: ", "display_name: ", "password: "]),  # every problem, one line each
    ],
)
def test_users_create_names_every_problem_and_writes_nothing(
    database: Path, username: str, password: str, name: str, problems: list[str]
) -> None:
    result = create(database, username, role="nurse", password=password, name=name)
    assert result.returncode == INVALID_INPUT
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(problems), result.stderr
    for line, problem in zip(lines, problems, strict=True):
        assert line.startswith(problem), (line, problem)
    assert password not in result.stderr
    assert rows(database, "SELECT count(*) FROM staff_user") == [(0,)]
    assert rows(database, "SELECT count(*) FROM audit_event") == [(0,)]


def test_users_create_checks_the_configured_clinic_name(database: Path) -> None:
    env_name = "Riverside Skin"
    result = subprocess.run(
        [SCREENER, "users", "create", "nurse.ada", "--role", "nurse", "--name", "Ada", "--password-stdin"],
        input="riverside skin lantern\n",
        capture_output=True,
        text=True,
        env={**os.environ, "SCREENER_DATABASE_URL": f"sqlite:///{database}", "SCREENER_CLINIC_NAME": env_name},
        timeout=60,
        check=False,
    )
    assert result.returncode == INVALID_INPUT
    assert result.stderr.splitlines() == ["password: The password must not contain the clinic's name."]


def test_a_created_account_sets_up_its_authenticator_app_at_its_first_sign_in(database: Path) -> None:
    """``screener users create`` still works with MFA: the new admin enrols when they first sign in."""
    from screener.app import create_app
    from tests.web.conftest import ENROL_PATH, StaffBrowser

    assert create(database, "admin.ada").returncode == 0
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{database}"})
    try:
        admin = StaffBrowser(app.test_client(), "admin.ada", "admin")
        assert admin.sign_in(PASSWORD).headers["Location"] == ENROL_PATH
        assert admin.get("/staff/admin/users").headers["Location"] == ENROL_PATH
        assert admin.enrol().status_code == 200
        assert len(admin.recovery_codes) == 10
        assert admin.get("/staff/admin/users").status_code == 200
    finally:
        app.extensions["screener.db"].dispose()
    actions = [action for (action,) in rows(database, "SELECT action FROM audit_event ORDER BY id")]
    assert actions[:3] == ["user.create", "login", "mfa.enrol"]


def test_users_create_refuses_an_unknown_role(database: Path) -> None:
    result = create(database, "nurse.ada", role="superuser")
    assert result.returncode == INVALID_INPUT  # click's own usage error
    assert "superuser" in result.stderr
    assert "'nurse', 'clinician', 'admin'" in result.stderr or "nurse, clinician, admin" in result.stderr
    assert rows(database, "SELECT count(*) FROM staff_user") == [(0,)]


def test_users_create_refuses_a_username_that_exists(database: Path) -> None:
    assert create(database, "nurse.ada", role="nurse").returncode == 0
    again = create(database, "Nurse.Ada", role="clinician", name="Someone Else")
    assert again.returncode == INVALID_INPUT
    assert again.stderr.splitlines() == ["username: Nurse.Ada already exists"]
    assert rows(database, "SELECT username, role FROM staff_user") == [("nurse.ada", "nurse")]
    assert rows(database, "SELECT count(*) FROM audit_event") == [(1,)]


def test_audit_verify_passes_an_intact_trail_and_fails_a_tampered_one(database: Path) -> None:
    empty = run(database, "audit", "verify")
    assert (empty.returncode, empty.stdout.strip()) == (0, "audit trail intact: 0 events")
    assert create(database, "admin.ada").returncode == 0
    assert create(database, "nurse.bo", role="nurse", name="Bo Nurse").returncode == 0
    intact = run(database, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "audit trail intact: 2 events"
    assert intact.stderr == ""

    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # refused while the trigger stands
        tamper(database, "UPDATE audit_event SET actor = 'someone.else' WHERE id = 1")
    tamper(
        database,
        "DROP TRIGGER audit_event_no_update",
        'UPDATE audit_event SET detail = \'{"role": "nurse"}\' WHERE id = 1',
    )
    tampered = run(database, "audit", "verify")
    assert tampered.returncode == 1
    assert tampered.stdout == ""
    assert tampered.stderr.splitlines() == [
        "trigger audit_event_no_update is missing: UPDATE on audit_event is no longer refused",
        "event 1: its content was changed after it was recorded (or the audit key changed)",
    ]


def test_audit_verify_reports_a_deleted_event(database: Path) -> None:
    for username in ("admin.ada", "nurse.bo", "nurse.cy"):
        assert create(database, username, role="nurse").returncode == 0
    tamper(database, "DROP TRIGGER audit_event_no_delete", "DELETE FROM audit_event WHERE id = 2")
    result = run(database, "audit", "verify")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "trigger audit_event_no_delete is missing: DELETE on audit_event is no longer refused",
        "event 3: the event before it was changed or deleted",
    ]
