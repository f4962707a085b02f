"""Benchmark: the production stack under load, against the anchor app deployed the same way in the same run.

Both apps run as the live tests run them (tests/live/stack.py): the shipped nginx site
(``deploy/nginx/screener.conf.in``, rendered by ``deploy/render.py``, TLS with a certificate made now)
in front of TWO gunicorn servers with the shipped ``deploy/gunicorn.conf.py`` and two sync workers each.
The screener is in production mode on PostgreSQL (a fresh schema of the database ``test_live``) with
Redis for throttling; the anchor (``../shared/bench/anchor_app.py``) on one SQLite file. Each app gets
an nginx of its own, rendered from the same template, and only one of them is loaded at a time.

Users are closed loops (no pause between requests), at 16, 64 and 256 at once:

- seven in eight are patients: the whole journey of tests/web/test_patient.py's adult (start page, start,
  each question page shown and answered, check, send, result: 10 GETs and 11 POSTs), then the next
  patient, each journey from a new loopback address (127.2.x.y: a new device, its own per-address
  limits) on a new TLS connection, kept alive for the journey;
- one in eight is a clinician, signed in once beforehand (password, then the authenticator's code), viewing
  the review queue again and again.

For the anchor the same users make the same requests in the same order, each screener GET replaced
by ``GET /form`` and each POST by ``POST /form`` (its CSRF form, one SQLite insert, a redirect).

Each level runs 2 s unmeasured, then 10 s measured (``--quick``: 1 s and 4 s). Reported: requests per
second and the 99th percentile latency of all requests, of the patients' and of the clinicians',
the ratios screener / anchor (throughput) and anchor / screener (p99), and how p99 grows from level
to level. Any response other than what the page must answer makes the run NOT VALID.

Then a sign-in flood: wrk from one address (127.0.0.1, 8 connections, each POSTing a wrong password
with a valid CSRF token every 8 ms, about 1,000 a second) while the screener runs again at 64 users.
Goal: the patients' p99 at most 2x what it was without the flood (nginx answers the flood 429 itself
after a burst of 10: ``limit_req`` on ``/staff/login``).

Run it with ``.venv/bin/python bench/load.py`` (about 2.5 min; ``--quick`` about 1 min; ``--json``).
Needs nginx, redis-server, openssl and wrk (Debian packages), and PostgreSQL on 127.0.0.1:5432 (or
``SCREENER_LIVE_POSTGRESQL_URL`` naming a ``test_live`` database). The load generator (asyncio, in
this process) shares the 2 cores with everything else: compare ratios, not absolute figures. All
traffic stays on 127.0.0.1's loopback; every process is stopped and every temporary file deleted on
the way out, also on error, Ctrl-C or SIGTERM. Exit status 0 once measured, 1 when setup fails.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
# Run as a script, bench/ comes first on the path, and bench/queue.py would hide the standard library's
# queue: the repository instead (tests.live.stack is the live tests' own harness).
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

from tests.live.stack import (  # noqa: E402
    BIN,
    GUNICORN_CONF,
    HOST,
    SERVER_NAME,
    AppServer,
    LiveDatabase,
    LiveSetupError,
    Nginx,
    Stack,
    Unavailable,
    app_environment,
    require_tools,
    stack,
)
from tests.web.test_patient import ADULT  # noqa: E402

LEVELS = (16, 64, 256)
FLOOD_LEVEL = 64
STAFF_EVERY = 8  # every eighth user is a clinician
WORKERS = 2  # per app server, both apps
REQUEST_SECONDS = 30.0
GOAL_FLOOD_RATIO = 2.0
FLOOD_CONNECTIONS, FLOOD_DELAY_MS = 8, 8
CSRF = re.compile(rb'<meta name="csrf-token" content="([^"]+)"|<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')
STAFF_PASSWORD = "harbour lantern quietly folding"  # noqa: S105 (bench accounts in a throwaway schema)


@dataclass(frozen=True)
class Plan:
    warmup: float
    duration: float


FULL = Plan(warmup=2, duration=10)
QUICK = Plan(warmup=1, duration=4)


class SetupFailed(Exception):
    """The stacks or the sessions could not be prepared: nothing was measured."""


# --- HTTP/1.1 over TLS, kept alive, in asyncio ------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        return (self.headers.get(name) or [""])[0]


class Connection:
    """One keep-alive connection to an nginx, from one loopback address."""

    def __init__(self, port: int, tls: ssl.SSLContext, source: str) -> None:
        self.port, self.tls, self.source = port, tls, source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can lose a cancellation and never return.
        try:
            async with asyncio.timeout(REQUEST_SECONDS):
                return await self._request(method, path, headers, body)
        except BaseException:
            self.close()  # a half-read response must not be taken for the next one's
            raise

    async def _request(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                HOST, self.port, ssl=self.tls, server_hostname=SERVER_NAME, local_addr=(self.source, 0)
            )
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {SERVER_NAME}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status_line = await self.reader.readline()
        if not status_line:
            self.close()
            raise ConnectionError("closed by the server")
        status = int(status_line.split()[1])
        found: dict[str, list[str]] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            found.setdefault(name.strip().lower(), []).append(value.strip())
        if "content-length" in found:
            content = await self.reader.readexactly(int(found["content-length"][0]))
        elif "chunked" in ",".join(found.get("transfer-encoding", [])):
            content = await self._chunks()
        else:
            content = b""
        if "close" in ",".join(found.get("connection", [])).lower():
            self.close()
        return Response(status, found, content)

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    def close(self) -> None:
        if self.writer is not None:
            with suppress(Exception):
                self.writer.close()
        self.reader = self.writer = None


class Session:
    """Cookies and the CSRF token of one person, on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.cookies: dict[str, str] = {}
        self.token = ""

    async def send(self, method: str, path: str, form: Mapping[str, Any] | None = None) -> Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = b""
        if method == "POST":
            body = urlencode({"csrf_token": self.token, **(form or {})}, doseq=True).encode()
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"https://{SERVER_NAME}:{self.connection.port}{path}",
            }
        response = await self.connection.request(method, path, headers, body)
        for line in response.headers.get("set-cookie", []):
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        if response.status == 200:
            token = CSRF.search(response.body)
            if token:
                self.token = (token.group(1) or token.group(2)).decode()
        return response


# --- Users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    form: Mapping[str, Any]
    expect: int


def screener_journey() -> list[Step]:
    steps = [Step("GET", "/", {}, 200), Step("POST", "/start", {}, 302)]
    for section, answers in ADULT.items():
        steps += [
            Step("GET", f"/questions/{section}", {}, 200),
            Step("POST", f"/questions/{section}", {"action": "continue", **answers}, 302),
        ]
    return [*steps, Step("GET", "/check", {}, 200), Step("POST", "/submit", {}, 302), Step("GET", "/result", {}, 200)]


ANCHOR_FORM = {"age": "17", "severity": "severe", "pregnant": "no"}


def anchor_journey() -> list[Step]:
    """The screener journey's shape: a GET /form for each GET, a POST /form for each POST."""
    return [
        Step("GET", "/form", {}, 200) if step.method == "GET" else Step("POST", "/form", ANCHOR_FORM, 302)
        for step in screener_journey()
    ]


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    journey: list[Step]
    staff_view: Step
    staff_sessions: list[dict[str, str]]  # the cookies of each clinician user (screener), or none


@dataclass
class Samples:
    """(finished at, seconds, kind) of each request that came back as the page must answer; the others."""

    ok: list[tuple[float, float, str]] = field(default_factory=list)
    bad: list[tuple[float, str]] = field(default_factory=list)


def journey_addresses() -> Iterator[str]:
    for second, third, fourth in itertools.product(range(2, 100), range(256), range(1, 255)):
        yield f"127.{second}.{third}.{fourth}"


async def patient(target: Target, tls: ssl.SSLContext, addresses: Iterator[str], samples: Samples) -> None:
    while True:
        connection = Connection(target.port, tls, next(addresses))
        person = Session(connection)
        try:
            for step in target.journey:
                started = time.monotonic()
                try:
                    response = await person.send(step.method, step.path, step.form)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as failed:
                    samples.bad.append((time.monotonic(), f"{step.method} {step.path}: {type(failed).__name__}"))
                    break
                finished = time.monotonic()
                if response.status != step.expect:
                    samples.bad.append((finished, f"{step.method} {step.path}: {response.status}"))
                    break
                samples.ok.append((finished, finished - started, "patient"))
        finally:
            connection.close()


async def clinician(
    target: Target, tls: ssl.SSLContext, source: str, cookies: dict[str, str], samples: Samples
) -> None:
    connection = Connection(target.port, tls, source)
    person = Session(connection)
    person.cookies = dict(cookies)
    step = target.staff_view
    try:
        while True:
            started = time.monotonic()
            try:
                response = await person.send(step.method, step.path)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as failed:
                samples.bad.append((time.monotonic(), f"{step.path}: {type(failed).__name__}"))
                connection.close()
                await asyncio.sleep(0.05)
                continue
            finished = time.monotonic()
            if response.status != step.expect:
                samples.bad.append((finished, f"{step.path}: {response.status}"))
                await asyncio.sleep(0.05)
                continue
            samples.ok.append((finished, finished - started, "staff"))
    finally:
        connection.close()


@dataclass(frozen=True)
class Level:
    app: str
    users: int
    requests_per_second: float
    p99_ms: float
    patient_p99_ms: float
    staff_p99_ms: float
    requests: int
    bad: int
    first_bad: str

    @property
    def valid(self) -> bool:
        return self.bad == 0


def p99(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] * 1000


async def run_level(target: Target, users: int, plan: Plan, tls: ssl.SSLContext, addresses: Iterator[str]) -> Level:
    samples = Samples()
    staff_count = users // STAFF_EVERY
    tasks = [asyncio.create_task(patient(target, tls, addresses, samples)) for _ in range(users - staff_count)]
    for number in range(staff_count):
        cookies = target.staff_sessions[number] if target.staff_sessions else {}
        tasks.append(asyncio.create_task(clinician(target, tls, staff_address(number), cookies, samples)))
    start = time.monotonic() + plan.warmup
    end = start + plan.duration
    await asyncio.sleep(plan.warmup + plan.duration)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    measured = [(seconds, kind) for finished, seconds, kind in samples.ok if start <= finished <= end]
    bad = [what for finished, what in samples.bad if start <= finished <= end]
    return Level(
        app=target.name,
        users=users,
        requests_per_second=len(measured) / plan.duration,
        p99_ms=p99([seconds for seconds, _ in measured]),
        patient_p99_ms=p99([seconds for seconds, kind in measured if kind == "patient"]),
        staff_p99_ms=p99([seconds for seconds, kind in measured if kind == "staff"]),
        requests=len(measured),
        bad=len(bad),
        first_bad=bad[0] if bad else "",
    )


# --- Setup ----------------------------------------------------------------------------------


def shared_folder() -> Path:
    override = os.environ.get("SCREENER_SHARED")
    return Path(override) if override else REPO.parent / "shared"


@dataclass
class AnchorStack:
    servers: list[AnchorServer]
    nginx: Nginx


def start_anchor(stack_: Stack, directory: Path, exits: ExitStack) -> AnchorStack:
    """Two anchor servers with the same gunicorn settings, behind an nginx rendered from the same template."""
    anchor_dir = shared_folder() / "bench"
    if not (anchor_dir / "anchor_app.py").is_file():
        raise SetupFailed(f"{anchor_dir} has no anchor_app.py (set SCREENER_SHARED?)")
    environment = app_environment() | {"ANCHOR_DB": str(directory / "anchor.db")}
    servers = [AnchorServer(f"anchor{n + 1}", environment, directory, WORKERS) for n in range(2)]
    for server in servers:
        exits.callback(server.stop)
        server.launch()
    for server in servers:
        server.wait_ready_at("/hello")
    nginx = Nginx(directory / "anchor-nginx", [s.address for s in servers], stack_.certificate, 65536)
    exits.callback(nginx.stop)
    nginx.start()
    return AnchorStack(servers, nginx)


class AnchorServer(AppServer):
    def command(self) -> list[str]:
        anchor_dir = shared_folder() / "bench"
        return [
            str(BIN / "gunicorn"),
            "--config",
            str(GUNICORN_CONF),
            "--bind",
            self.address,
            "--workers",
            str(self.workers),
            "--chdir",
            str(anchor_dir),
            "anchor_app:app",
        ]

    def wait_ready_at(self, path: str) -> None:
        import http.client

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SetupFailed(f"{self.name} exited:\n{self.log.read_text(errors='replace')[-1500:]}")
            connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.05)
        raise SetupFailed(f"{self.name} not ready after 30 s")


@dataclass(frozen=True)
class Clinician:
    username: str
    totp_secret: str | None  # the authenticator app's secret, when staff sign-in has a second factor


def create_clinicians(stack_: Stack, count: int) -> list[Clinician]:
    """One account per clinician user (each signs in once, with a code of its own where there is a second
    factor), created in the store already enrolled: the password hashed once for all of them."""
    from screener.auth import hash_password
    from screener.clock import utcnow
    from screener.db import Database
    from screener.store import staff as staff_store

    password_hash = hash_password(STAFF_PASSWORD)
    second_factor = hasattr(staff_store, "propose_totp_secret")
    made = []
    database = Database(stack_.database_url)
    try:
        with database.write() as session:
            for number in range(count):
                now = utcnow()
                user = staff_store.create_user(
                    session,
                    username=f"bench.clinician{number}",
                    display_name="Bench Clinician",
                    role="clinician",
                    password_hash=password_hash,
                    now=now,
                )
                secret = None
                if second_factor:
                    from screener.auth import new_totp_secret

                    secret = new_totp_secret()
                    staff_store.propose_totp_secret(session, user, secret, now=now)
                    staff_store.confirm_totp(session, user, None, now=now)
                made.append(Clinician(user.username, secret))
    finally:
        database.dispose()
    return made


async def sign_in(person: Session, clinician: Clinician) -> None:
    """Staff sign-in through the forms, every step: the password, then the authenticator's code if asked."""
    await person.send("GET", "/staff/login")
    done = await person.send("POST", "/staff/login", {"username": clinician.username, "password": STAFF_PASSWORD})
    if done.status == 302 and done.header("location").endswith("/staff/mfa") and clinician.totp_secret:
        from screener.auth import totp_code, totp_step
        from screener.clock import utcnow

        await person.send("GET", "/staff/mfa")
        done = await person.send("POST", "/staff/mfa", {"code": totp_code(clinician.totp_secret, totp_step(utcnow()))})
    if done.status != 302 or "/staff/mfa" in done.header("location") or "/login" in done.header("location"):
        raise SetupFailed(f"{clinician.username} could not sign in: {done.status} to {done.header('location')!r}")


async def sign_in_clinicians(port: int, tls: ssl.SSLContext, clinicians: list[Clinician]) -> list[dict[str, str]]:
    """Each clinician signed in from an address of its own (8 at a time): the cookies of each session."""
    gate = asyncio.Semaphore(8)

    async def one(number: int) -> dict[str, str]:
        async with gate:
            connection = Connection(port, tls, staff_address(number))
            person = Session(connection)
            try:
                await sign_in(person, clinicians[number])
                return dict(person.cookies)
            finally:
                connection.close()

    return list(await asyncio.gather(*(one(number) for number in range(len(clinicians)))))


def staff_address(number: int) -> str:
    return f"127.1.{number // 250}.{number % 250 + 1}"


async def one_session(port: int, tls: ssl.SSLContext, path: str) -> Session:
    person = Session(Connection(port, tls, HOST))
    await person.send("GET", path)
    person.connection.close()
    return person


# --- The sign-in flood ----------------------------------------------------------------------

#: wrk's script: the same sign-in POST again and again (no response() callback: wrk parses nothing, so
#: the flood costs this machine as little as it can; nginx's access log counts the statuses).
FLOOD_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("FLOOD_COOKIE")
wrk.headers["Referer"] = os.getenv("FLOOD_REFERER")
wrk.body = os.getenv("FLOOD_BODY")
local pause = tonumber(os.getenv("FLOOD_DELAY_MS") or "0")
function delay() return pause end
"""
FLOOD_LINE = re.compile(r'^127\.0\.0\.1 .*"POST /staff/login HTTP/1\.1" (\d{3}) ')


def start_flood(wrk: str, port: int, session: Session, seconds: float, directory: Path) -> subprocess.Popen[str]:
    script = directory / "flood.lua"
    script.write_text(FLOOD_LUA)
    body = urlencode({"csrf_token": session.token, "username": "bench.nobody", "password": "wrong " * 4})
    environment = os.environ | {
        "FLOOD_COOKIE": "; ".join(f"{k}={v}" for k, v in session.cookies.items()),
        "FLOOD_REFERER": f"https://{HOST}:{port}/staff/login",
        "FLOOD_BODY": body,
        "FLOOD_DELAY_MS": str(FLOOD_DELAY_MS),
    }
    command = [wrk, "-t1", f"-c{FLOOD_CONNECTIONS}", f"-d{math.ceil(seconds)}s", "-s", str(script)]
    return subprocess.Popen(
        [*command, f"https://{HOST}:{port}/staff/login"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def flood_figures(output: str, access_log: Path, offset: int) -> dict[str, Any]:
    """wrk's request rate, and the flood's statuses from nginx's access log (what was written after ``offset``)."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    with access_log.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode("utf-8", errors="replace").splitlines()
    statuses: dict[str, int] = {}
    for line in lines:
        found = FLOOD_LINE.match(line)
        if found:
            statuses[found.group(1)] = statuses.get(found.group(1), 0) + 1
    return {"requests_per_second": float(rate.group(1)) if rate else 0.0, "statuses": statuses}


# --- Main -----------------------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 and not math.isnan(denominator) else math.nan


async def measure(
    plan: Plan, wrk: str, screener: Target, anchor: Target, tls: ssl.SSLContext, directory: Path, access_log: Path
) -> dict[str, Any]:
    addresses = journey_addresses()
    levels: list[Level] = []
    flood: dict[str, Any] = {}
    for users in LEVELS:
        for target in (anchor, screener):
            print(f"  {target.name} at {users} users ...", file=sys.stderr, flush=True)
            levels.append(await run_level(target, users, plan, tls, addresses))
        if users == FLOOD_LEVEL:
            print(f"  screener at {users} users with a sign-in flood ...", file=sys.stderr, flush=True)
            session = await one_session(screener.port, tls, "/staff/login")
            offset = access_log.stat().st_size
            process = start_flood(wrk, screener.port, session, plan.warmup + plan.duration + 1, directory)
            try:
                flooded = await run_level(screener, users, plan, tls, addresses)
                output, _ = await asyncio.to_thread(process.communicate, timeout=60)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            baseline = next(level for level in levels if level.app == "screener" and level.users == users)
            flood = {
                "users": users,
                "wrk": f"-t1 -c{FLOOD_CONNECTIONS}, {FLOOD_DELAY_MS} ms between requests on each connection",
                **flood_figures(output, access_log, offset),
                "patient_p99_ms_without": round(baseline.patient_p99_ms, 1),
                "patient_p99_ms_with": round(flooded.patient_p99_ms, 1),
                "ratio": round(ratio(flooded.patient_p99_ms, baseline.patient_p99_ms), 2),
                "valid": flooded.valid,
                "first_bad": flooded.first_bad,
                "level": flooded.__dict__,
            }
            flood["goal_met"] = flood["valid"] and flood["ratio"] <= GOAL_FLOOD_RATIO
    return summarise(levels, flood, plan)


def summarise(levels: list[Level], flood: dict[str, Any], plan: Plan) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for users in LEVELS:
        anchor = next(level for level in levels if level.app == "anchor" and level.users == users)
        screener = next(level for level in levels if level.app == "screener" and level.users == users)
        rows.append(
            {
                "users": users,
                "anchor": anchor.__dict__ | {"valid": anchor.valid},
                "screener": screener.__dict__ | {"valid": screener.valid},
                "throughput_ratio": round(ratio(screener.requests_per_second, anchor.requests_per_second), 3),
                "p99_ratio": round(ratio(anchor.p99_ms, screener.p99_ms), 3),
            }
        )
    growth: dict[str, list[float]] = {}
    for app in ("anchor", "screener"):
        p99s = [row[app]["p99_ms"] for row in rows]
        growth[app] = [round(ratio(later, earlier), 2) for earlier, later in itertools.pairwise(p99s)]
    return {
        "warmup_s": plan.warmup,
        "duration_s": plan.duration,
        "levels": rows,
        "p99_growth": growth,
        "flood": flood,
        "goal_flood_ratio": GOAL_FLOOD_RATIO,
        "workers_per_server": WORKERS,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"Load through nginx (TLS, deploy/nginx/screener.conf.in) on two gunicorn servers x {WORKERS} sync workers "
        f"(deploy/gunicorn.conf.py); screener on PostgreSQL + Redis, anchor on SQLite; {figures['warmup_s']:g} s "
        f"warm-up, {figures['duration_s']:g} s measured per row, {figures['cpus']} CPUs shared with the load "
        "generator.",
        "7 of 8 users walk the patient journey (21 requests, a new device each time), 1 of 8 views the review queue;",
        "the anchor gets the same requests as GET /form and POST /form.",
        "",
        f"  {'users':>5}  {'app':<9}{'req/s':>9}{'p99 ms':>9}{'patients':>10}{'staff':>9}{'requests':>10}  errors",
    ]
    for row in figures["levels"]:
        for app in ("anchor", "screener"):
            level = row[app]
            errors = f"{level['bad']}" + ("" if level["valid"] else f"  NOT VALID (first: {level['first_bad']})")
            lines.append(
                f"  {row['users']:>5}  {app:<9}{level['requests_per_second']:>9,.1f}{level['p99_ms']:>9.1f}"
                f"{level['patient_p99_ms']:>10.1f}{level['staff_p99_ms']:>9.1f}{level['requests']:>10,}  {errors}"
            )
        lines.append(
            f"  {'':>5}  ratios: throughput screener/anchor {row['throughput_ratio']:.2f}, "
            f"p99 anchor/screener {row['p99_ratio']:.2f}"
        )
    growth = figures["p99_growth"]
    steps = " and ".join(f"{a}->{b}" for a, b in itertools.pairwise(LEVELS))
    lines += [
        "",
        f"p99 growth ({steps} users, x4 users each step): "
        f"anchor {' then '.join(f'x{g:.2f}' for g in growth['anchor'])}, "
        f"screener {' then '.join(f'x{g:.2f}' for g in growth['screener'])}",
    ]
    flood = figures["flood"]
    if flood:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(flood["statuses"].items()))
        lines += [
            "",
            f"Sign-in flood from 127.0.0.1 (wrk {flood['wrk']}): {flood['requests_per_second']:,.0f} req/s "
            f"({statuses})",
            f"  patients' p99 at {flood['users']} users: {flood['patient_p99_ms_without']} ms without, "
            f"{flood['patient_p99_ms_with']} ms with the flood: x{flood['ratio']:.2f} "
            f"(goal: at most x{figures['goal_flood_ratio']:g})"
            + ("" if flood["valid"] else f"  NOT VALID (first: {flood['first_bad']})"),
        ]
    return "\n".join(lines)


def verdicts(figures: dict[str, Any]) -> list[str]:
    flood = figures["flood"]
    verdict = "GOAL MET" if flood.get("goal_met") else "GOAL MISSED"
    invalid = [
        f"{row['users']} {app}" for row in figures["levels"] for app in ("anchor", "screener") if not row[app]["valid"]
    ]
    lines = [f"{'sign-in flood: patients p99 with/without':<44}x{flood.get('ratio', math.nan):.2f}   {verdict}"]
    if invalid:
        lines.append(f"runs with unexpected responses (not valid): {', '.join(invalid)}")
    return lines


def run(plan: Plan, wrk: str) -> dict[str, Any]:
    with ExitStack() as exits:
        directory = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="screener-load-")))
        database = LiveDatabase()
        database.create()
        exits.callback(database.drop)
        started = exits.enter_context(stack(directory / "screener", database.url, servers=2, workers=WORKERS))
        anchor = start_anchor(started, directory / "anchor", exits)
        clinicians = create_clinicians(started, max(LEVELS) // STAFF_EVERY)
        tls = ssl.create_default_context(cafile=str(started.certificate.certificate))
        sessions = asyncio.run(sign_in_clinicians(started.nginx.https_port, tls, clinicians))
        screener_target = Target(
            "screener", started.nginx.https_port, screener_journey(), Step("GET", "/staff/queue", {}, 200), sessions
        )
        anchor_target = Target("anchor", anchor.nginx.https_port, anchor_journey(), Step("GET", "/form", {}, 200), [])
        figures = asyncio.run(
            measure(plan, wrk, screener_target, anchor_target, tls, directory, started.nginx.access_log)
        )
        for server in [*started.servers, *anchor.servers]:
            if server.process is None or server.process.poll() is not None:
                raise SetupFailed(
                    f"{server.name} died during the run:\n{server.log.read_text(errors='replace')[-1500:]}"
                )
        return figures


def _terminate(signum: int, _frame: FrameType | None) -> None:
    print(f"bench/load.py: stopped by signal {signum}, stopping the servers", file=sys.stderr)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 s warm-up and 4 s measured per run")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        tools = require_tools("nginx", "redis-server", "openssl", "wrk", why="bench/load.py")
        figures = run(plan, tools["wrk"])
    except (SetupFailed, LiveSetupError, Unavailable, OSError) as failed:
        print(f"bench/load.py: setup failed, nothing measured: {failed}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
        print("\n".join(verdicts(figures)), file=sys.stderr)
    else:
        print(report(figures))
        print("\n".join(verdicts(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
