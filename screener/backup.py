"""Backups and restores of the database (security-reliability R-12): ``screener db backup|restore``.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live file in one step, in
  one read transaction: a consistent snapshot that holds everything committed before it started,
  while the app goes on writing (WAL: readers never block the writer). The copy must then pass
  ``PRAGMA integrity_check``. A restore copies the backup into place with the same API.
- PostgreSQL: ``pg_dump --format=custom`` with the URL's connection parameters (the password
  travels in ``PGPASSWORD``, never on a command line); its snapshot, too, holds everything
  committed before it started. The dump must be non-empty and readable by ``pg_restore --list``.
  A restore is ``pg_restore --single-transaction --exit-on-error``: all of it, or nothing.

A backup is written beside its final name and renamed into place only once checked, readable by
its owner only (it holds patient data). A restore goes into a new or empty database: one that
holds any screening or audit event is refused unless ``force``. After a restore the audit chain
is verified, as ``screener audit verify`` does.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

# Only to run pg_dump and pg_restore: by absolute path, with an argument list, never a shell.
import subprocess  # nosec B404
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import URL, make_url, text
from sqlalchemy.exc import SQLAlchemyError

#: The tables whose rows make a database "in use" (a restore will not overwrite them without force),
#: and how to count them.
COUNT_ROWS = {"screening": "SELECT count(*) FROM screening", "audit_event": "SELECT count(*) FROM audit_event"}
IN_USE_TABLES = tuple(COUNT_ROWS)
#: What a PostgreSQL dump must hold to be a backup of this app.
REQUIRED_TABLES = ("alembic_version", "screening", "screening_version", "audit_event")
SQLITE_BUSY_TIMEOUT_S = 30.0


class BackupError(RuntimeError):
    """The backup or restore did not happen, or its result failed its check; the message says why."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    seconds: float
    #: Rows in the copy (SQLite), or table entries in the dump's table of contents (PostgreSQL).
    summary: str


@dataclass(frozen=True)
class RestoreReport:
    #: Copying the backup into place; then counting and verifying the audit chain.
    seconds: float
    verify_seconds: float
    screenings: int
    audit_events: int
    #: Breaks in the restored audit chain (empty: intact); None when not checked (schema not at head).
    audit_problems: list[str] | None = field(default=None)
    note: str = ""


# --- Backup -----------------------------------------------------------------------------------


def backup(url: str, path: Path, *, overwrite: bool = False) -> BackupReport:
    """Back up the database at ``url`` into the file ``path`` and check the result."""
    parsed = make_url(url)
    path = Path(path)
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists: choose a new name, or use --force to replace it")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    started = time.monotonic()
    with _partial(path) as partial:
        if parsed.get_backend_name() == "sqlite":
            with _sqlite_errors():
                summary = _sqlite_backup(_sqlite_file(parsed), partial)
        elif parsed.get_backend_name() == "postgresql":
            summary = _pg_dump(parsed, partial)
        else:
            raise BackupError(f"no backup for {parsed.get_backend_name()} databases")
        _fsync(partial)
        os.replace(partial, path)
    _fsync(path.parent)
    return BackupReport(path, path.stat().st_size, time.monotonic() - started, summary)


@contextmanager
def _partial(path: Path) -> Iterator[Path]:
    """A new file readable by its owner only beside ``path``; removed unless renamed into place."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)  # left by an interrupted run
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield partial
    finally:
        partial.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sqlite_file(parsed: URL) -> Path:
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise BackupError("the SQLite database must be a file path (sqlite:///path/to/screener.db)")
    return Path(parsed.database).resolve()


@contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:  # "file is not a database", "database is locked" ...
        raise BackupError(f"SQLite: {error}") from error


def _sqlite_connect(path: Path, mode: str) -> sqlite3.Connection:
    """A connection that never creates the file by accident (``mode=rw`` or ``ro``)."""
    connection = sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
    connection.isolation_level = None
    return connection


def _sqlite_backup(source_path: Path, copy: Path) -> str:
    if not source_path.is_file():
        raise BackupError(f"no database at {source_path}")
    with closing(_sqlite_connect(source_path, "rw")) as source, closing(sqlite3.connect(copy)) as target:
        # pages=-1 (the default): every page in one step, in one read transaction of the source.
        # In steps, another connection's write would restart the copy; in one, writers go on in the WAL.
        source.backup(target)
        # The copy is one self-contained file (the app's connections switch it back to WAL).
        target.execute("PRAGMA journal_mode = DELETE")
    with closing(_sqlite_connect(copy, "ro")) as checked:
        _integrity_check(checked, "the backup")
        return _sqlite_summary(checked)


#: integrity_check reads every page and cross-checks every index; quick_check skips the cross-checks.
CHECKS = {"integrity_check": "PRAGMA integrity_check", "quick_check": "PRAGMA quick_check"}


def _integrity_check(connection: sqlite3.Connection, what: str, pragma: str = "integrity_check") -> None:
    result = [row[0] for row in connection.execute(CHECKS[pragma])]
    if result != ["ok"]:
        raise BackupError(f"{what} failed PRAGMA {pragma}: " + "; ".join(map(str, result[:10])))


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        table: int(connection.execute(query).fetchone()[0]) for table, query in COUNT_ROWS.items() if table in tables
    }


def _sqlite_summary(connection: sqlite3.Connection) -> str:
    counts = _sqlite_counts(connection)
    return f"{counts.get('screening', 0)} screenings, {counts.get('audit_event', 0)} audit events; integrity_check ok"


# --- PostgreSQL through its own tools ---------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def libpq_connection(parsed: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the URL's host, port, database, user and query parameters
    (``sslmode``, ``options`` ...), and the environment that carries its password."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, str] = {}
    for key, value in parsed.query.items():
        if not isinstance(value, str):
            raise BackupError(f"the database URL gives {key} more than once")
        params[key] = value
    for key, part in (("host", parsed.host), ("port", parsed.port), ("dbname", parsed.database)):
        if part is not None:
            params[key] = str(part)
    if parsed.username:
        params["user"] = parsed.username
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    return make_conninfo("", **params), environment


def url_schema(parsed: URL) -> str | None:
    """The schema named by ``options=-csearch_path=...`` in the URL (the tests' separate schemas)."""
    options = parsed.query.get("options")
    if not isinstance(options, str):
        return None
    for option in options.replace("-c ", "-c").split():
        if option.startswith("-csearch_path="):
            first = option.removeprefix("-csearch_path=").split(",")[0].strip().strip('"')
            return first or None
    return None


def _run(command: list[str], environment: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    # An argument list, no shell; the executables are found on PATH and run by absolute path, and the
    # only other arguments are file paths and the connection string from the configured URL.
    return subprocess.run(  # noqa: S603  # nosec B603
        command, env=dict(environment), capture_output=True, text=True, check=False
    )


def _failed(what: str, result: subprocess.CompletedProcess[str]) -> BackupError:
    message = (result.stderr or result.stdout).strip().splitlines()
    return BackupError(f"{what} failed (exit status {result.returncode}): " + " | ".join(message[-5:]))


def _pg_dump(parsed: URL, dump: Path) -> str:
    conninfo, environment = libpq_connection(parsed)
    schema = url_schema(parsed)
    command = [_tool("pg_dump"), "--format=custom", "--file", str(dump), "--dbname", conninfo]
    if schema:
        command += ["--schema", schema]
    result = _run(command, environment)
    if result.returncode != 0:
        raise _failed("pg_dump", result)
    tables = dump_tables(dump)
    return f"{len(tables)} tables in the dump's table of contents, pg_restore --list ok"


def dump_contents(dump: Path) -> list[str]:
    """The dump's table of contents (``pg_restore --list``), without its comment lines."""
    if dump.stat().st_size == 0:
        raise BackupError(f"{dump} is empty")
    result = _run([_tool("pg_restore"), "--list", str(dump)], os.environ)
    if result.returncode != 0:
        raise _failed("pg_restore --list", result)
    return [line for line in result.stdout.splitlines() if line.strip() and not line.startswith(";")]


def dump_tables(dump: Path) -> dict[str, str]:
    """Table name -> schema, for every table whose data is in the dump; checks it is one of ours."""
    tables: dict[str, str] = {}
    for line in dump_contents(dump):
        words = line.split()  # "3342; 0 35284 TABLE DATA public screening root"
        if words[3:5] == ["TABLE", "DATA"] and len(words) >= 7:
            tables[words[6]] = words[5]
    missing = [table for table in REQUIRED_TABLES if table not in tables]
    if missing:
        raise BackupError(f"{dump} is not a Screener backup: no data for {', '.join(missing)}")
    return tables


# --- Restore ----------------------------------------------------------------------------------


def restore(url: str, path: Path, *, force: bool = False) -> RestoreReport:
    """Restore the backup file ``path`` into the (new or empty) database at ``url``."""
    parsed = make_url(url)
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    started = time.monotonic()
    if parsed.get_backend_name() == "sqlite":
        with _sqlite_errors():
            _sqlite_restore(path, _sqlite_file(parsed), force=force)
    elif parsed.get_backend_name() == "postgresql":
        _pg_restore(parsed, path, force=force)
    else:
        raise BackupError(f"no restore for {parsed.get_backend_name()} databases")
    return _restored(url, time.monotonic() - started)


def _refuse_if_in_use(counts: Mapping[str, int], force: bool) -> None:
    if force or not any(counts.values()):
        return
    raise BackupError(
        f"the target database is in use ({counts.get('screening', 0)} screenings, "
        f"{counts.get('audit_event', 0)} audit events): restore into a new database, "
        "or use --force to replace everything in it"
    )


def _sqlite_restore(backup_file: Path, target_path: Path, *, force: bool) -> None:
    with closing(_sqlite_connect(backup_file, "ro")) as source:
        _integrity_check(source, "the backup")
        if "screening" not in _sqlite_counts(source):
            raise BackupError(f"{backup_file} is not a Screener backup")
        if target_path.exists():
            with closing(_sqlite_connect(target_path, "rw")) as existing:
                _refuse_if_in_use(_sqlite_counts(existing), force)
        else:
            target_path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(target_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with closing(_sqlite_connect(target_path, "rw")) as target:
            source.backup(target)
            # The backup passed integrity_check just above, and the copy is page for page the same:
            # the quick check (no index cross-checks) is enough here.
            _integrity_check(target, "the restored database", pragma="quick_check")


def _pg_restore(parsed: URL, dump: Path, *, force: bool) -> None:
    tables = dump_tables(dump)
    target_schema = url_schema(parsed) or "public"
    dumped_schemas = {tables[table] for table in REQUIRED_TABLES}
    if dumped_schemas != {target_schema}:
        raise BackupError(
            f"the backup holds schema {', '.join(sorted(dumped_schemas))}; the target URL uses {target_schema}"
        )
    target = _pg_target_state(parsed, target_schema)
    _refuse_if_in_use(target.counts, force)
    conninfo, environment = libpq_connection(parsed)
    command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if target.has_tables:  # migrated but empty (or --force): drop what the backup will create first
        command += ["--clean", "--if-exists"]
    with tempfile.TemporaryDirectory() as folder:
        if target.schema_exists:
            # A dump of one schema creates it; restore into the existing (empty) one instead.
            contents = [line for line in dump_contents(dump) if line.split()[3:5] != ["SCHEMA", "-"]]
            listing = Path(folder) / "contents.list"
            listing.write_text("\n".join(contents) + "\n", encoding="utf-8")
            command += ["--use-list", str(listing)]
        result = _run([*command, "--dbname", conninfo, str(dump)], environment)
    if result.returncode != 0:
        raise _failed("pg_restore", result)


@dataclass(frozen=True)
class _Target:
    #: Rows in the in-use tables.
    counts: dict[str, int]
    #: Any of our tables is there (a migrated database).
    has_tables: bool
    schema_exists: bool


def _pg_target_state(parsed: URL, schema: str) -> _Target:
    from screener.db import make_engine

    engine = make_engine(parsed.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            present = {
                table
                for table in (*REQUIRED_TABLES, *IN_USE_TABLES)
                if connection.scalar(text("SELECT to_regclass(:name)"), {"name": table}) is not None
            }
            counts = {
                table: int(connection.scalar(text(query)) or 0)
                for table, query in COUNT_ROWS.items()
                if table in present
            }
            exists = connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema})
    except SQLAlchemyError as error:
        raise BackupError(f"cannot reach the target database: {type(error).__name__}") from error
    finally:
        engine.dispose()
    return _Target(counts, bool(present), bool(exists))


def _restored(url: str, seconds: float) -> RestoreReport:
    """Count what was restored and verify the audit chain (when the schema is the code's own)."""
    from alembic.script import ScriptDirectory

    from screener import db
    from screener.store import audit

    started = time.monotonic()
    database = db.Database(url)
    try:
        with database.read() as session:
            revision = session.scalar(text("SELECT version_num FROM alembic_version"))
            head = ScriptDirectory.from_config(db.alembic_config(url)).get_current_head()
            counts = {table: int(session.scalar(text(query)) or 0) for table, query in COUNT_ROWS.items()}
            if revision != head:
                note = (
                    f"the backup's schema is at revision {revision}, the code's at {head}: "
                    "run `screener db upgrade`, then `screener audit verify`"
                )
                return RestoreReport(seconds, 0.0, counts["screening"], counts["audit_event"], note=note)
            problems = audit.verify(session)
    finally:
        database.dispose()
    verified = time.monotonic() - started
    return RestoreReport(seconds, verified, counts["screening"], counts["audit_event"], audit_problems=problems)
