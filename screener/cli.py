"""The ``screener`` command: evaluate answers, print the rule catalogue, serve the app.

Exit status: 0 on success, 2 on invalid input (one line per problem on standard error,
nothing on standard output), 1 if a clinic setting (SCREENER_JURISDICTION ...) is invalid.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any, BinaryIO

import click

from screener.config import ConfigError, load_clinic_config
from screener.documents import errors_json, evaluate_document, load_document
from screener.rules import CURRENT_RULESET, QUESTIONS, ClinicConfig, InvalidInput

INVALID_INPUT = 2


def _dump(payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False)


@click.group(help="Isotretinoin discussion screening: evaluate answers, review the rules, serve the app.")
def main() -> None:
    pass


@main.command()
@click.argument("file", type=click.File("rb"), default="-")
@click.option("--jsonl", is_flag=True, help="One input object per line; one result per output line.")
def evaluate(file: BinaryIO, jsonl: bool) -> None:
    """Evaluate {"answers": {...}, "config": {...}} from FILE (default: standard input).

    Without "config", the clinic's SCREENER_* settings apply (as in the app); each key sent in
    "config" overrides that one setting.
    """
    try:
        clinic = load_clinic_config()
    except ConfigError as misconfigured:
        raise click.ClickException(str(misconfigured)) from misconfigured
    data = file.read()
    if jsonl:
        sys.exit(_evaluate_lines(data, clinic))
    try:
        decision = evaluate_document(load_document(data), clinic)
    except InvalidInput as invalid:
        for error in invalid.errors:
            click.echo(str(error), err=True)
        sys.exit(INVALID_INPUT)
    click.echo(_dump(decision.to_json()))


def _evaluate_lines(data: bytes, clinic: ClinicConfig) -> int:
    """Each line is evaluated on its own; a bad line yields {"errors": [...]} in its place."""
    status = 0
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            payload: object = evaluate_document(load_document(line), clinic).to_json()
        except InvalidInput as invalid:
            payload = errors_json(invalid.errors)
            for error in invalid.errors:
                click.echo(f"line {number}: {error}", err=True)
            status = INVALID_INPUT
        click.echo(_dump(payload))
    return status


@main.command()
def rules() -> None:
    """Print the rule catalogue for clinical review."""
    ruleset = CURRENT_RULESET
    click.echo(f"Ruleset {ruleset.version}  {ruleset.hash}")
    click.echo(f"{len(ruleset.rules)} rules, {len(QUESTIONS)} questions\n")
    for rule in ruleset.rules:
        scope = f" [{rule.jurisdiction.value} only]" if rule.jurisdiction else ""
        click.echo(f"{rule.id}  {rule.title}{scope}")
        click.echo(f"  When:    {rule.when.description}")
        click.echo(f"  Effect:  {rule.effect}")
        if rule.warning:
            click.echo(f"  Warning: {rule.warning.id} ({rule.warning.severity.value})")
            wording = rule.warning.wording
            texts = [("", wording.us)] if wording.us == wording.uk else [("US: ", wording.us), ("UK: ", wording.uk)]
            for prefix, text in texts:
                click.echo(textwrap.fill(prefix + text, width=100, initial_indent=" " * 11, subsequent_indent=" " * 11))
        if rule.note:
            click.echo(f"  Note:    {rule.note.id} (clinicians only)")
            click.echo(textwrap.fill(rule.note.text, width=100, initial_indent=" " * 11, subsequent_indent=" " * 11))
        click.echo(f"  Sources: {', '.join(rule.sources)}\n")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the app for trying it out (production runs gunicorn behind a proxy)."""
    from screener.app import create_app

    app = create_app()
    created = create_demo_accounts(app)
    if created:
        click.echo("Development mode: demo staff accounts (shown once; sign in at /staff/login):")
        for role, username, password in created:
            click.echo(f"  {role:<10} username {username:<16} password {password}")
    app.run(host=host, port=port, debug=False)


DEMO_ROLES = (("nurse", "Demo Nurse"), ("clinician", "Demo Clinician"), ("admin", "Demo Admin"))


def create_demo_accounts(app: Any) -> list[tuple[str, str, str]]:
    """Development only, on a database with no staff yet: one account per role (role, username,
    password). Production never gets them: no default credentials (security-reliability S-22)."""
    import secrets

    from screener.auth import create_account
    from screener.clock import utcnow
    from screener.store import staff as staff_store

    if app.config["ENV"] == "production":
        return []
    created = []
    with app.extensions["screener.db"].write() as session:
        if staff_store.count_users(session):
            return []
        for role, name in DEMO_ROLES:
            password = secrets.token_urlsafe(15)
            username = f"{role}.demo"
            create_account(
                session,
                username=username,
                display_name=name,
                role=role,
                password=password,
                now=utcnow(),
                actor_label="system:demo",
            )
            created.append((role, username, password))
    return created


@main.group(name="db")
def db_group() -> None:
    """The database: SCREENER_DATABASE_URL, else instance/screener.db (SQLite)."""


def _database_url() -> str:
    # Imported here, as in `serve`: `screener evaluate` should not pay for SQLAlchemy and Alembic.
    from screener import db

    return db.database_url_from_env(db.default_instance_path())


@db_group.command(name="upgrade")
def db_upgrade() -> None:
    """Create or update the tables (apply every migration); safe to run again."""
    from sqlalchemy import make_url

    from screener import db

    url = _database_url()
    db.upgrade(url)
    click.echo(f"Database up to date: {make_url(url).render_as_string(hide_password=True)}")


@main.group(name="users")
def users_group() -> None:
    """Staff accounts (there is no self-registration)."""


@users_group.command(name="create")
@click.argument("username")
@click.option("--role", type=click.Choice(["nurse", "clinician", "admin"]), required=True)
@click.option("--name", "display_name", required=True, help="The person's name as staff see it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def users_create(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a staff account. The password is asked for twice unless --password-stdin."""
    from screener import db
    from screener.auth import account_problems, create_account, password_problems
    from screener.clock import utcnow
    from screener.store import staff as staff_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = [f"{field}: {message}" for field, message in account_problems(username, display_name, role).items()]
    problems += [f"password: {message}" for message in password_problems(password, username)]
    database = db.Database(_database_url())
    try:
        with database.write() as session:
            if not problems and staff_store.find_user(session, username):
                problems.append(f"username: {username} already exists")
            if problems:
                for problem in problems:
                    click.echo(problem, err=True)
                sys.exit(INVALID_INPUT)
            create_account(
                session,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                now=utcnow(),
                actor_label="system:cli",
            )
    finally:
        database.dispose()
    click.echo(f"Created {role} {staff_store.normalise_username(username)}")


@db_group.command(name="purge")
def db_purge() -> None:
    """Delete expired drafts (completed or not) and print how many. Run it at least daily."""
    from screener import db, store
    from screener.clock import utcnow

    database = db.Database(_database_url())
    try:
        with database.write() as session:
            count = store.purge_expired_drafts(session, utcnow())
    finally:
        database.dispose()
    click.echo(f"{count} expired drafts purged")


TAMPERED = 1


@db_group.command(name="backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def db_backup(path: Path, force: bool) -> None:
    """Back up the live database into the file PATH, and check the copy.

    SQLite: the online backup API (the app keeps running), then PRAGMA integrity_check on the copy.
    PostgreSQL: pg_dump --format=custom with the URL's parameters, then pg_restore --list on the dump.
    The file is readable by its owner only: it holds patient data.
    """
    from screener import backup

    try:
        report = backup.backup(_database_url(), path, overwrite=force)
    except backup.BackupError as failed:
        raise click.ClickException(str(failed)) from failed
    click.echo(f"Backed up to {report.path} ({report.bytes} bytes) in {report.seconds:.2f} s: {report.summary}")


@db_group.command(name="restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds screenings or audit events.")
def db_restore(path: Path, force: bool) -> None:
    """Restore the backup file PATH into a new or empty database, then verify the audit trail.

    Stop the app first. A database that holds screenings or audit events is refused unless --force.
    Exit status 1 if the restore fails or the restored audit trail does not verify.
    """
    from screener import backup

    try:
        report = backup.restore(_database_url(), path, force=force)
    except backup.BackupError as failed:
        raise click.ClickException(str(failed)) from failed
    click.echo(
        f"Restored {report.screenings} screenings and {report.audit_events} audit events "
        f"from {path} in {report.seconds:.2f} s (then {report.verify_seconds:.2f} s to count and verify)"
    )
    if report.note:
        click.echo(report.note)
    elif report.audit_problems:
        for problem in report.audit_problems:
            click.echo(problem, err=True)
        sys.exit(TAMPERED)
    else:
        click.echo(f"audit trail intact: {report.audit_events} events")


@main.group(name="audit")
def audit_group() -> None:
    """The audit trail of the database (SCREENER_DATABASE_URL, else instance/screener.db)."""


@audit_group.command(name="verify")
def audit_verify() -> None:
    """Check the audit trail's hash chain. Exit status 1, one line per problem, if it was altered."""
    from sqlalchemy import func, select

    from screener import db
    from screener.models import AuditEvent
    from screener.store import audit

    database = db.Database(_database_url())
    try:
        with database.read() as session:
            count = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
            problems = audit.verify(session)
    finally:
        database.dispose()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(TAMPERED)
    click.echo(f"audit trail intact: {count} events")


@main.command(name="metrics")
@click.option(
    "--bind",
    default="127.0.0.1:9100",
    show_default=True,
    help="HOST:PORT to serve Prometheus metrics on: its own address, never the app's, never public.",
)
def metrics_command(bind: str) -> None:
    """Serve Prometheus metrics: the app servers' request figures and the database's.

    Under gunicorn, give the app and this command the same PROMETHEUS_MULTIPROC_DIR, so that the
    figures of every worker are summed. Stop it with Ctrl-C or SIGTERM.
    """
    import os

    from screener import metrics

    folder = os.environ.get(metrics.MULTIPROCESS_ENV) or None
    try:
        server, thread = metrics.serve(_database_url(), bind, folder)
    except (ValueError, OSError) as failed:
        raise click.ClickException(str(failed)) from failed
    host, port = server.server_address[:2]
    click.echo(f"Serving metrics on http://{host!s}:{port}/metrics")
    if not folder:
        click.echo(
            f"{metrics.MULTIPROCESS_ENV} is not set: request figures of the app processes are not "
            "visible here (database figures are)",
            err=True,
        )
    thread.join()
