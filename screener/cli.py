"""The ``screener`` command: evaluate answers, print the rule catalogue, serve the app.

Exit status: 0 on success, 2 on invalid input (one line per problem on standard error,
nothing on standard output), 1 if a clinic setting (SCREENER_JURISDICTION ...) is invalid.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click

from screener.config import SETTINGS_BY_NAME, ConfigError, load_clinic_config
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
    _check_append_only(url)


def _check_append_only(url: str) -> None:
    """After upgrading: the audit trail must still be append-only (exit status 1 naming each trigger)."""
    from screener import db
    from screener.store import audit

    database = db.Database(url)
    try:
        with database.read() as session:
            problems = audit.append_only_problems(session)
    finally:
        database.dispose()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(
            "the audit trail is not append-only: run `screener audit repair-triggers`, then "
            "`screener audit verify --checkpoint FILE` with your exported checkpoints",
            err=True,
        )
        sys.exit(TAMPERED)


@main.group(name="users")
def users_group() -> None:
    """Staff accounts (there is no self-registration)."""


@users_group.command(name="create")
@click.argument("username")
@click.option("--role", type=click.Choice(["nurse", "clinician", "admin"]), required=True)
@click.option("--name", "display_name", required=True, help="The person's name as staff see it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def users_create(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a staff account. The password is asked for twice unless --password-stdin.

    The account has no second factor yet: its owner sets up an authenticator app at the first sign-in.
    """
    from screener import db
    from screener.auth import account_problems, create_account, password_problems
    from screener.clock import utcnow
    from screener.store import staff as staff_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = [f"{field}: {message}" for field, message in account_problems(username, display_name, role).items()]
    clinic_name = os.environ.get("SCREENER_CLINIC_NAME", SETTINGS_BY_NAME["CLINIC_NAME"].default)
    problems += [f"password: {message}" for message in password_problems(password, username, clinic_name)]
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
    click.echo("At the first sign-in (/staff/login) they set up an authenticator app and get recovery codes.")


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


def _audit_database() -> Any:
    from screener import db

    return db.Database(_database_url())


def _audit_key() -> bytes:
    from screener.config import audit_key_from_environment
    from screener.store.audit import key_bytes

    try:
        return key_bytes(audit_key_from_environment())
    except ConfigError as misconfigured:
        raise click.ClickException(str(misconfigured)) from misconfigured


def _read_checkpoints(file: TextIO) -> list[dict[str, Any]]:
    """The checkpoints in FILE: one JSON object a line, as ``screener audit checkpoint`` prints them."""
    found = []
    for number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            raise click.ClickException(f"{file.name}, line {number}: not a checkpoint ({error.msg})") from error
        if not isinstance(document, dict):
            raise click.ClickException(f"{file.name}, line {number}: not a checkpoint")
        found.append(document)
    if not found:
        raise click.ClickException(f"{file.name} holds no checkpoint")
    return found


@audit_group.command(name="verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.File("r", encoding="utf-8"),
    help="A file of checkpoints kept off the machine (`screener audit checkpoint` lines): each must still match.",
)
def audit_verify(checkpoint_file: TextIO | None) -> None:
    """Check the whole audit trail. Exit status 1, one line per problem, if it was altered.

    Checks that the database still refuses UPDATE and DELETE on the trail (its triggers), every event's
    keyed hash and link to the one before, every checkpoint stored in the database and, with
    --checkpoint, each checkpoint in FILE: deleting the newest events is only seen against a checkpoint
    kept elsewhere.
    """
    from sqlalchemy import func, select

    from screener.models import AuditEvent
    from screener.store import audit

    key = _audit_key()
    exported = _read_checkpoints(checkpoint_file) if checkpoint_file else []
    database = _audit_database()
    try:
        with database.read() as session:
            count = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
            problems = audit.verify(session, key=key)
            for number, document in enumerate(exported, start=1):
                where = f"checkpoint {document.get('id', '?')} (line {number} of {checkpoint_file.name})"  # type: ignore[union-attr]
                problems += [f"{where}: {problem}" for problem in audit.verify_checkpoint(session, document, key=key)]
    finally:
        database.dispose()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(TAMPERED)
    against = f", and {len(exported)} exported checkpoints match" if exported else ""
    click.echo(f"audit trail intact: {count} events{against}")


@audit_group.command(name="checkpoint")
def audit_checkpoint() -> None:
    """Verify the whole trail, then record a signed checkpoint of it and print it as one JSON line.

    Keep the lines somewhere the app's machine cannot write (append them to a file on another host,
    mail them, print them): `screener audit verify --checkpoint FILE` then shows whether events were
    deleted from the end of the trail, or the trail rewritten, after each one. Run it daily (or
    hourly). Nothing is recorded, exit status 1, if the trail has problems.
    """
    from screener.clock import utcnow
    from screener.store import audit

    key = _audit_key()
    database = _audit_database()
    try:
        with database.write() as session:
            walked = audit.verify_trail(session, key=key)
            problems = walked.problems
            if not problems:
                checkpoint = audit.write_checkpoint(
                    session,
                    now=utcnow(),
                    event_count=walked.events,
                    head_id=walked.head_id,
                    head_hash=walked.head_hash,
                    actor="system:cli",
                    key=key,
                )
                line = audit.checkpoint_json(checkpoint)
    finally:
        database.dispose()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo("no checkpoint recorded: the audit trail has the problems above", err=True)
        sys.exit(TAMPERED)
    click.echo(line)


@audit_group.command(name="rekey")
def audit_rekey() -> None:
    """Re-hash the events recorded before the trail was keyed (SCREENER_AUDIT_KEY), once, after upgrading.

    Until then `screener audit verify` names them: anyone could have rewritten them. Refused, nothing
    changed, exit status 1, if the trail has any other problem. Run it with the app stopped (appends
    wait for it). A checkpoint of the re-keyed trail is recorded and printed: keep it off the machine.
    """
    from screener.clock import utcnow
    from screener.store import audit

    key = _audit_key()
    database = _audit_database()
    try:
        with database.write() as session:
            try:
                done = audit.rekey(session, key=key)
            except audit.RekeyRefused as refused:
                for problem in refused.problems:
                    click.echo(problem, err=True)
                click.echo("nothing re-keyed: the audit trail has the problems above", err=True)
                sys.exit(TAMPERED)
            line = None
            if done.legacy:
                now = utcnow()
                audit.record(
                    session,
                    action="audit.rekey",
                    now=now,
                    actor_label="system:cli",
                    object_type="audit_event",
                    detail={"events": done.events, "rekeyed": done.legacy},
                    key=key,
                )
                walked = audit.walk(session, key)
                checkpoint = audit.write_checkpoint(
                    session,
                    now=now,
                    event_count=walked.events,
                    head_id=walked.head_id,
                    head_hash=walked.head_hash,
                    actor="system:cli",
                    key=key,
                )
                line = audit.checkpoint_json(checkpoint)
    finally:
        database.dispose()
    if line is None:
        click.echo(f"nothing to re-key: all {done.events} events are keyed")
        return
    click.echo(f"re-keyed {done.legacy} of {done.events} events under SCREENER_AUDIT_KEY", err=True)
    click.echo(line)


@audit_group.command(name="repair-triggers")
def audit_repair_triggers() -> None:
    """Put back the triggers that make the trail append-only, if any is missing, disabled or altered.

    Someone with the database's owner rights removed them: run `screener audit verify --checkpoint FILE`
    with your exported checkpoints to see whether anything was changed meanwhile. The repair is audited.
    """
    from screener.clock import utcnow
    from screener.store import audit

    key = _audit_key()
    database = _audit_database()
    try:
        with database.write() as session:
            repaired = audit.repair_triggers(session)
            if repaired:
                audit.record(
                    session,
                    action="audit.triggers_repaired",
                    now=utcnow(),
                    actor_label="system:cli",
                    object_type="audit_event",
                    detail={"problems": len(repaired)},
                    key=key,
                )
    finally:
        database.dispose()
    if not repaired:
        click.echo("the audit trail's append-only triggers are all in place")
        return
    for problem in repaired:
        click.echo(f"repaired: {problem}")
    click.echo("check the trail against your exported checkpoints: screener audit verify --checkpoint FILE")


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


@main.group(name="ruleset")
def ruleset_group() -> None:
    """The ruleset in force and its effect on stored screenings."""


@ruleset_group.command(name="impact")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Screenings created on or after (UTC).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Screenings created on or before (UTC).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (with every affected screening).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the affected list.")
@click.option("--processes", type=click.IntRange(1, 64), help="Worker processes (default: 2 above 50,000 screenings).")
def ruleset_impact(date_from: Any, date_to: Any, as_json: bool, csv_path: Path | None, processes: int | None) -> None:
    """Replay every stored screening's latest version under the current ruleset and compare.

    Nothing stored changes; the report is saved and audited. A progress bar is drawn on standard
    error when it is a terminal.
    """
    import csv

    from screener import db, impact
    from screener.clock import utcnow

    scope = impact.Scope(date_from.date() if date_from else None, date_to.date() if date_to else None)
    url = _database_url()
    database = db.Database(url)
    try:
        progress = impact.ProgressBar(sys.stderr) if sys.stderr.isatty() else None
        report_id = impact.run(database, url, scope=scope, now=utcnow, processes=processes, progress=progress)
        with database.read() as session:
            report = impact.get_report(session, report_id)
            if report is None:  # pragma: no cover - it was saved just above
                raise click.ClickException(f"report {report_id} was not saved")
            if csv_path is not None:
                with csv_path.open("w", newline="", encoding="utf-8") as out:
                    writer = csv.writer(out)
                    writer.writerow(impact.CSV_HEADER)
                    writer.writerows(impact.csv_row(item) for item in impact.iter_items(session, report_id))
            if as_json:
                head = _dump(impact.report_json(report))[:-1]
                click.echo(head + ', "affected_screenings": [', nl=False)
                for number, item in enumerate(impact.iter_items(session, report_id)):
                    click.echo(("," if number else "") + _dump(impact.item_json(item)), nl=False)
                click.echo("]}")
            else:
                for line in impact.render_text(report, impact.iter_items(session, report_id)):
                    click.echo(line)
                if csv_path is not None:
                    click.echo(f"Affected list written to {csv_path}")
    finally:
        database.dispose()
