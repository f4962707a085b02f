"""The shipped deployment, started for real on 127.0.0.1: nginx, gunicorn, PostgreSQL, Redis.

Building blocks for the live tests (tests/live/) and the load benchmark (bench/load.py). Every
process runs in a process group of its own and is stopped on the way out; every wait is bounded.

- ``make_certificate``: a self-signed certificate for ``localhost`` and 127.0.0.1 (openssl, EC P-256).
- ``Nginx``: ``deploy/nginx/screener.conf.in`` rendered by ``deploy/render.py`` (the documented step,
  run as a command), included in a main configuration with Debian's http defaults, on free ports.
- ``AppServer``: gunicorn with ``deploy/gunicorn.conf.py`` (the shipped settings; only the address and
  the worker count come from the command line), the app's settings from the environment.
- ``RedisServer``: a throwaway ``redis-server`` on a free port, without persistence (the machine's
  Redis on 6379 is never touched).
- ``LiveDatabase``: a schema of its own in the database ``test_live`` of the local PostgreSQL (created
  when missing), migrated with ``screener db upgrade``, dropped at the end.
- ``ThrowawayCluster``: a PostgreSQL cluster of its own (``pg_createcluster``) on a free port, for the
  tests that stop and restart PostgreSQL; dropped at the end (the machine's main cluster is never touched).
"""

from __future__ import annotations

import http.client
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
RENDER = DEPLOY / "render.py"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
#: The name the stack is reached under (SNI and Host), beside the address itself.
SERVER_NAME = "localhost"
#: The local PostgreSQL server for the live stack; the database name is always test_live.
LIVE_POSTGRESQL = os.environ.get("SCREENER_LIVE_POSTGRESQL_URL", "postgresql+psycopg://root@127.0.0.1:5432/test_live")
START_SECONDS = 30.0
STOP_SECONDS = 15.0
COMMAND_SECONDS = 120.0

#: The http {} defaults of Debian's /etc/nginx/nginx.conf that matter here (the site must override them:
#: Debian still allows TLS 1.0 and 1.1 and compresses everything).
DEBIAN_HTTP_DEFAULTS = """\
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    gzip on;
"""


class LiveSetupError(RuntimeError):
    """A part of the stack could not be started or stopped."""


class Unavailable(LiveSetupError):
    """A tool or service the live stack needs is missing on this machine (tests skip, or fail in CI)."""


def tool(name: str) -> str:
    """A command's path: on the PATH, else in the system folders (nginx is in /usr/sbin)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin") or name


def require_tools(*tools: str, why: str) -> dict[str, str]:
    """Each tool's path, or Unavailable naming the missing ones."""
    found = {name: tool(name) for name in tools}
    missing = sorted(name for name, path in found.items() if not Path(path).is_absolute())
    if missing:
        raise Unavailable(f"{', '.join(missing)} not installed ({why})")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def run(command: Sequence[str | Path], *, timeout: float = COMMAND_SECONDS, **options: object) -> str:
    """Run a command to completion; its output, or LiveSetupError with the end of it."""
    try:
        done = subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **options,  # type: ignore[call-overload]
        )
    except subprocess.TimeoutExpired as expired:
        raise LiveSetupError(f"{command[0]} took more than {timeout:g} s") from expired
    if done.returncode != 0:
        raise LiveSetupError(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return str(done.stdout)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for(what: str, ready: Callable[[], bool], seconds: float, interval: float = 0.05) -> float:
    """Poll until ready() is true; the seconds it took. LiveSetupError after ``seconds``."""
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > seconds:
            raise LiveSetupError(f"{what} not ready after {seconds:g} s")
        time.sleep(interval)
    return time.monotonic() - started


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


def stop_group(process: subprocess.Popen[bytes], first: int = signal.SIGTERM) -> None:
    """A signal to the process group (a master and its workers), then SIGKILL to whatever is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, first)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


# --- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    certificate: Path
    key: Path


def make_certificate(directory: Path) -> Certificate:
    """A self-signed EC certificate for localhost and 127.0.0.1, valid for two days."""
    certificate, key = directory / "tls.crt", directory / "tls.key"
    run(
        [
            tool("openssl"),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={SERVER_NAME}",
            "-addext",
            f"subjectAltName=DNS:{SERVER_NAME},IP:{HOST}",
            "-keyout",
            key,
            "-out",
            certificate,
        ],
        timeout=30,
    )
    return Certificate(certificate, key)


# --- nginx ----------------------------------------------------------------------------------


def static_root() -> Path:
    """The static folder the app serves (inside the installed package, else the checkout's)."""
    from screener.app import _asset_folder

    return Path(_asset_folder("static"))


def render_site(
    destination: Path,
    *,
    upstreams: Sequence[str],
    certificate: Certificate,
    https_port: int,
    http_port: int,
    max_body_bytes: int,
) -> Path:
    """deploy/render.py, run as documented, for this stack's ports, certificate and app servers."""
    command: list[str | Path] = [sys.executable, RENDER, "--server-name", SERVER_NAME, "--server-name", HOST]
    for upstream in upstreams:
        command += ["--upstream", upstream]
    command += [
        "--static-root",
        static_root(),
        "--certificate",
        certificate.certificate,
        "--certificate-key",
        certificate.key,
        "--https-listen",
        f"{HOST}:{https_port}",
        "--http-listen",
        f"{HOST}:{http_port}",
        "--max-body-bytes",
        str(max_body_bytes),
    ]
    destination.write_text(run(command, timeout=30))
    return destination


@dataclass
class Nginx:
    """nginx with the rendered site, on free ports of 127.0.0.1, run in the foreground."""

    directory: Path
    upstreams: Sequence[str]
    certificate: Certificate
    max_body_bytes: int
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"https://{SERVER_NAME}:{self.https_port}"

    @property
    def site(self) -> Path:
        return self.directory / "screener.conf"

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    def configure(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        render_site(
            self.site,
            upstreams=self.upstreams,
            certificate=self.certificate,
            https_port=self.https_port,
            http_port=self.http_port,
            max_body_bytes=self.max_body_bytes,
        )
        temp = self.directory / "temp"
        temp.mkdir(exist_ok=True)
        # Root's nginx would run its workers as nobody, who cannot enter pytest's private folders.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = self.directory / "nginx.conf"
        main.write_text(
            f"{user}worker_processes 2;\npid {self.directory / 'nginx.pid'};\nerror_log {self.error_log} warn;\n"
            "events {\n    worker_connections 1024;\n}\n"
            "http {\n"
            f"{DEBIAN_HTTP_DEFAULTS}"
            f"    access_log {self.access_log};\n"
            + "".join(
                f"    {kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {self.site};\n}}\n"
        )
        return main

    def start(self) -> None:
        main = self.configure()
        run([tool("nginx"), "-t", "-q", "-c", main, "-p", self.directory], timeout=30)
        with (self.directory / "nginx.out").open("wb") as output:
            self.process = subprocess.Popen(
                [tool("nginx"), "-c", str(main), "-p", str(self.directory), "-g", "daemon off;"],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for("nginx", lambda: port_open(self.https_port) and port_open(self.http_port), START_SECONDS)
        except LiveSetupError as failed:
            raise LiveSetupError(f"{failed}:\n{tail(self.error_log)}") from failed

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, signal.SIGQUIT)  # graceful: open requests finish
            self.process = None


# --- gunicorn -------------------------------------------------------------------------------


@dataclass
class AppServer:
    """One app server: gunicorn with the shipped deploy/gunicorn.conf.py."""

    name: str
    environment: Mapping[str, str]
    directory: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    def command(self) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "--config",
            str(GUNICORN_CONF),
            "--bind",
            self.address,
            "--workers",
            str(self.workers),
        ]

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start gunicorn without waiting for it (``wait_ready`` waits)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                env=dict(self.environment),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self) -> bool:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def wait_ready(self) -> float:
        started = time.monotonic()
        while not self.healthy():
            if self.process is None or self.process.poll() is not None:
                raise LiveSetupError(f"gunicorn {self.name} exited:\n{tail(self.log)}")
            if time.monotonic() - started > START_SECONDS:
                raise LiveSetupError(f"gunicorn {self.name} not ready after {START_SECONDS:g} s:\n{tail(self.log)}")
            time.sleep(0.05)
        return time.monotonic() - started

    @property
    def master(self) -> int:
        assert self.process is not None, f"gunicorn {self.name} is not running"
        return self.process.pid

    def workers_now(self) -> set[int]:
        return children_of(self.master)

    def kill9(self) -> None:
        """SIGKILL to the master and every worker at once: the server is gone, mid-request."""
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)
        self.process = None

    def reload(self) -> set[int]:
        """SIGHUP to the master (systemctl reload); the workers it had."""
        before = self.workers_now()
        os.kill(self.master, signal.SIGHUP)
        return before

    def wait_reloaded(self, before: set[int], seconds: float = START_SECONDS) -> float:
        """Until every old worker is gone and as many new ones answer: the seconds it took."""

        def done() -> bool:
            now = self.workers_now()
            return not (now & before) and len(now) == self.workers and self.healthy()

        return wait_for(f"gunicorn {self.name} reload", done, seconds)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None


def app_environment(**settings: str) -> dict[str, str]:
    """This process's environment without SCREENER_* variables, plus the given SCREENER_* settings."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SCREENER_")}
    for gunicorn_setting in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS"):
        environment.pop(gunicorn_setting, None)
    environment.update({f"SCREENER_{name}": value for name, value in settings.items()})
    return environment


def secret_settings() -> dict[str, str]:
    """A fresh random value, a different one each, for every ``*_KEY`` setting (secret key, audit key ...)."""
    from screener.config import SETTINGS

    return {setting.name: secrets.token_urlsafe(36) for setting in SETTINGS if setting.name.endswith("_KEY")}


def production_settings(database_url: str, redis_uri: str, secret_key: str) -> dict[str, str]:
    """What deploy/screener.env.example asks for, for this stack."""
    return {
        "ENV": "production",
        **secret_settings(),
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "PROXY_COUNT": "1",
        "RATELIMIT_STORAGE_URI": redis_uri,
        "CLINIC_NAME": "Live test clinic",
        "JURISDICTION": "US",
    }


def screener_command(*arguments: str, environment: Mapping[str, str], stdin: str | None = None) -> str:
    """The ``screener`` command of this environment (db upgrade, users create ...)."""
    return run([BIN / "screener", *arguments], env=dict(environment), input=stdin, cwd=ROOT)


# --- Redis ----------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A throwaway redis-server on a free port of 127.0.0.1, no persistence."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [tool("redis-server"), "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory), "--daemonize", "no", "--loglevel", "warning"]
        with (self.directory / "redis.log").open("ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for("redis-server", self.answers, START_SECONDS)

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def keys(self, pattern: str = "*") -> list[str]:
        import redis

        client = redis.Redis(host=HOST, port=self.port, socket_timeout=2)
        try:
            found = cast(list[bytes], client.keys(pattern))  # the sync client: a list, not an awaitable
            return [key.decode() for key in found]
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None


# --- PostgreSQL -----------------------------------------------------------------------------


def _with_search_path(url: str, schema: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@dataclass
class LiveDatabase:
    """A fresh schema in the database test_live (created when missing) of the local PostgreSQL."""

    server_url: str = LIVE_POSTGRESQL
    schema: str = field(default_factory=lambda: f"live_{secrets.token_hex(4)}")

    @property
    def url(self) -> str:
        return _with_search_path(self.server_url, self.schema)

    def create(self) -> None:
        from sqlalchemy import make_url

        target = make_url(self.server_url)
        if target.database != "test_live":
            raise LiveSetupError(f"the live tests use the database test_live only, not {target.database!r}")
        maintenance = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        try:
            with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
                exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = 'test_live'").fetchone()
                if not exists:
                    with suppress(psycopg.errors.DuplicateDatabase):  # another run made it just now
                        connection.execute("CREATE DATABASE test_live")
        except psycopg.OperationalError as error:
            raise Unavailable(f"PostgreSQL at {target.host}:{target.port} cannot be reached ({error})") from error
        with self._connect() as connection:
            connection.execute(f'CREATE SCHEMA "{self.schema}"')

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        from sqlalchemy import make_url

        plain = make_url(self.server_url).set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(plain, autocommit=True, connect_timeout=5)

    def drop(self) -> None:
        with self._connect() as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


@dataclass
class ThrowawayCluster:
    """A PostgreSQL cluster of this run's own (pg_createcluster), trust authentication on 127.0.0.1 only."""

    port: int = field(default_factory=free_port)
    name: str = field(default_factory=lambda: f"screener_live_{os.getpid()}")
    version: str = ""

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"

    def ctl(self, action: str, *extra: str) -> float:
        """pg_ctlcluster ACTION (start, stop, restart ...); the seconds it took."""
        started = time.monotonic()
        run([tool("pg_ctlcluster"), "--skip-systemctl-redirect", self.version, self.name, action, *extra], timeout=60)
        return time.monotonic() - started

    def create(self) -> None:
        if os.geteuid() != 0:
            raise Unavailable("pg_createcluster needs root")
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
        if not versions:
            raise Unavailable("no PostgreSQL server binaries in /usr/lib/postgresql (Debian's postgresql package)")
        self.version = versions[-1].parts[-3]
        self.drop_stale()
        run(
            [
                tool("pg_createcluster"),
                self.version,
                self.name,
                "--port",
                str(self.port),
                "-o",
                "max_connections=50",
                "--",
                "--auth-host=trust",
                "--auth-local=trust",
            ],
            timeout=120,
        )
        try:
            # On 127.0.0.1 only (postgresql-common would write the address unquoted, which PostgreSQL refuses).
            conf_d = Path("/etc/postgresql") / self.version / self.name / "conf.d"
            (conf_d / "screener-live.conf").write_text(f"listen_addresses = '{HOST}'\n")
            self.ctl("start")
        except LiveSetupError:
            self.drop()
            raise

    def drop_stale(self) -> None:
        """Clusters of earlier runs that died before dropping theirs (their process is gone)."""
        listed = run([tool("pg_lsclusters"), "--no-header"], timeout=30)
        for line in listed.splitlines():
            parts = line.split()
            if len(parts) < 2 or not parts[1].startswith("screener_live_"):
                continue
            owner = parts[1].removeprefix("screener_live_")
            if owner.isdigit() and int(owner) != os.getpid() and not Path(f"/proc/{owner}").exists():
                with suppress(LiveSetupError):
                    run([tool("pg_dropcluster"), "--stop", parts[0], parts[1]], timeout=60)

    def drop(self) -> None:
        if self.version:
            run([tool("pg_dropcluster"), "--stop", self.version, self.name], timeout=60)


# --- The whole stack ------------------------------------------------------------------------


@dataclass
class Stack:
    """nginx in front of app servers on one database, with Redis for throttling."""

    directory: Path
    database_url: str
    redis: RedisServer
    servers: list[AppServer]
    nginx: Nginx
    certificate: Certificate
    secret_key: str
    environment: dict[str, str]
    _addresses: Iterator[str] = field(default_factory=lambda: loopback_addresses())

    @property
    def origin(self) -> str:
        return self.nginx.origin

    def next_address(self) -> str:
        """A loopback address no other client of this stack has used: its own per-address limits."""
        return next(self._addresses)


def loopback_addresses() -> Iterator[str]:
    """127.1.0.1, 127.1.0.2 ...: 127.0.0.0/8 all reaches this machine's loopback, no setup needed."""
    for third, fourth in itertools.product(range(256), range(1, 255)):
        yield f"127.1.{third}.{fourth}"


@contextmanager
def stack(
    directory: Path,
    database_url: str,
    *,
    servers: int = 2,
    workers: int = 2,
    redis: RedisServer | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start Redis (unless given), the app servers and nginx on a migrated database; stop them at the end."""
    from screener.config import SETTINGS_BY_NAME

    directory.mkdir(parents=True, exist_ok=True)
    own_redis = redis is None
    redis = redis or RedisServer(directory / "redis")
    secret_key = secrets.token_urlsafe(36)
    environment = app_environment(**production_settings(database_url, redis.uri, secret_key), **(settings or {}))
    max_body = int(environment.get("SCREENER_MAX_CONTENT_LENGTH") or SETTINGS_BY_NAME["MAX_CONTENT_LENGTH"].default)
    app_servers = [AppServer(f"app{n + 1}", environment, directory, workers) for n in range(servers)]
    certificate = make_certificate(directory)
    nginx = Nginx(directory / "nginx", [server.address for server in app_servers], certificate, max_body)
    started: list[Callable[[], None]] = []
    try:
        if own_redis:
            redis.start()
            started.append(redis.stop)
        screener_command("db", "upgrade", environment=environment)
        for server in app_servers:
            started.append(server.stop)
            server.launch()
        for server in app_servers:
            server.wait_ready()
        started.append(nginx.stop)
        nginx.start()
        yield Stack(directory, database_url, redis, app_servers, nginx, certificate, secret_key, environment)
    finally:
        for stop in reversed(started):
            with suppress(Exception):
                stop()
