"""Benchmark: the patient pages over HTTP, against the anchor app served the same way in the same run.

Starts two servers with the same gunicorn settings (``-w 2 --threads 1``, sync workers, on
127.0.0.1): ``../shared/bench/anchor_app.py`` on a fresh SQLite file, and the screener
(``screener.app:create_app()``) on a fresh SQLite file prepared by ``screener db upgrade``. Then,
one after another on this machine, wrk (2 threads, 16 connections, ``--latency``) measures:

- anchor ``GET /form`` and anchor ``POST /form`` (``../shared/bench/anchor_post.lua``, with the
  cookie and CSRF token of one GET beforehand);
- screener ``GET /questions/C`` (8 questions) in a session that has started a form and answered
  page A;
- screener ``POST /questions/D`` with valid answers, the same session for every connection (each
  POST saves the same draft again and must answer 302 to the next page; ``bench/patient_post.lua``
  counts every other response, and a run with any is flagged as not valid).

It reports requests per second and the 99th percentile latency of each, and the ratios screener /
anchor for throughput and anchor / screener for p99 (both: higher is better, goal at least 0.5).

It also walks one adult through the whole journey (the answers of ``tests/web/test_patient.py``)
and reports each patient page's transfer size as a proxy would send it: the page's HTML, its
stylesheet and its script, each compressed with gzip level 6, summed. Pages: start, question pages
A-H as first shown, check your answers, result, about. Goal: at most 30 KB (30,000 bytes) each.

Run it with ``.venv/bin/python bench/patient.py``: about 50 s; ``--quick`` (3 s per load) about
20 s; ``--json`` prints the figures as one JSON object (the verdicts then go to standard error).
Needs ``wrk`` (``apt-get install -y wrk``). Set ``SCREENER_SHARED`` to use another shared folder
than ``../shared``. All traffic stays on 127.0.0.1; every server it started is stopped and every
temporary file deleted, also on error. Exit status 0 once it has measured (benchmarks report,
tests assert), 1 with a message when the setup fails.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode, urlsplit

GOAL_RATIO = 0.5
GOAL_PAGE_BYTES = 30_000
GZIP_LEVEL = 6
WRK_THREADS, WRK_CONNECTIONS = 2, 16
#: Both servers run with exactly these settings; only the app and the port differ.
GUNICORN_SETTINGS = ("-w", "2", "--threads", "1", "-k", "sync")
#: gunicorn 25+ opens a control socket at one fixed path in the home folder by default: two servers
#: (and anyone else's) would fight over it, so both run without it where the option exists.
NO_CONTROL_SOCKET = "--no-control-socket"
READY_SECONDS = 30.0
STOP_SECONDS = 10.0
HTTP_TIMEOUT = 10.0
SESSION_COOKIE = "screener"
ASSETS = ("/static/css/screener.css", "/static/js/screener.js")

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')
ASSET_LINK = re.compile(r'<link[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"|<script[^>]*\bsrc="([^"]+)"')
QUESTION = re.compile(r'<div class="form-group[^"]*" id="q-')
ANCHOR_FORM = {"age": "17", "severity": "severe", "pregnant": "no"}

#: One adult's answers, page by page, as a browser posts them (the ADULT of tests/web/test_patient.py).
ADULT: dict[str, dict[str, str | list[str]]] = {
    "A": {"completed_by": "self", "age_years": "22"},
    "B": {"can_get_pregnant": "no", "breastfeeding": "no"},
    "C": {"self_severity": "severe", "nodules": "three_or_more", "scarring": "none", "sites": ["face", "back"]},
    "D": {"oral_abx": "finished_not_helped", "completed_courses": "one"},
    "E": {"phq9_q1": "0", "phq9_q2": "0", "phq9_q9": "0", "mh_history": "none"},
    "F": {"allergies": "none", "liver_disease": "no"},
    "G": {"tetracycline_current": "no"},
    "H": {"blood_donation_plan": "no"},
}
GET_SECTION, POST_SECTION = "C", "D"


@dataclass(frozen=True)
class Plan:
    duration: int  # seconds of measured load per target
    warmup: int  # seconds of unmeasured load before it (templates compiled, connections opened)


FULL = Plan(duration=8, warmup=2)
QUICK = Plan(duration=3, warmup=1)


class SetupFailed(Exception):
    """The servers or the session could not be prepared: nothing was measured."""


# --- Processes ----------------------------------------------------------------------------


def shared_folder() -> Path:
    override = os.environ.get("SCREENER_SHARED")
    return Path(override) if override else REPO.parent / "shared"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without SCREENER_* settings (a stray SCREENER_ENV would change the cookie)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCREENER_")}
    return env | extra


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def gunicorn_settings() -> tuple[str, ...]:
    """GUNICORN_SETTINGS, plus --no-control-socket where this gunicorn has it."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired as timeout:
        raise SetupFailed("gunicorn --help took more than 60 s") from timeout
    if done.returncode != 0:
        raise SetupFailed(f"gunicorn is not installed in {sys.prefix}: {done.stderr.strip()[-300:]}")
    return (*GUNICORN_SETTINGS, NO_CONTROL_SOCKET) if NO_CONTROL_SOCKET in done.stdout else GUNICORN_SETTINGS


@contextmanager
def gunicorn(
    name: str, app: str, settings: Sequence[str], env: Mapping[str, str], log: Path, extra: Sequence[str] = ()
) -> Iterator[Server]:
    """A gunicorn master and its workers in a process group of their own, stopped on the way out."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", *settings, "-b", f"127.0.0.1:{port}", *extra, app]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=dict(env), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, port, process, log)
    try:
        yield server
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (master and workers), then SIGKILL to whatever is left."""
    group = process.pid  # start_new_session: the group id is the master's pid
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # workers that outlived their master, or a master that hung
    process.wait(timeout=STOP_SECONDS)


def wait_until_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SetupFailed(f"{server.name} exited with status {server.process.returncode}:\n{server.log_tail()}")
        try:
            if Browser(server.port).get(path).status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise SetupFailed(f"{server.name} not ready after {READY_SECONDS:g} s:\n{server.log_tail()}")


def prepare_screener_database(url: str, tmp: Path) -> None:
    command = Path(sys.prefix) / "bin" / "screener"
    if not command.exists():
        raise SetupFailed(f"{command} not found: run `make` (pip install -e '.[dev]') first")
    try:
        done = subprocess.run(
            [str(command), "db", "upgrade"],
            cwd=tmp,
            env=clean_environment(SCREENER_DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        raise SetupFailed("screener db upgrade took more than 120 s") from timeout
    if done.returncode != 0:
        raise SetupFailed(f"screener db upgrade failed ({done.returncode}):\n{done.stderr.strip()}")


def random_secret(length: int = 40) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --- A browser: cookies and CSRF tokens, no redirects followed ----------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    location: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Browser:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, form: Mapping[str, str | list[str]] | None = None) -> Reply:
        body = urlencode({"csrf_token": self.token, **(form or {})}, doseq=True)
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: str | None = None) -> Reply:
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            reply = Reply(response.status, response.getheader("Location") or "", response.read())
            for line in response.headers.get_all("Set-Cookie") or []:
                self.remember(line)
        finally:
            connection.close()
        found = CSRF_META.search(reply.text) or CSRF_INPUT.search(reply.text)
        if found:
            self.token = found.group(1)
        return reply

    def remember(self, set_cookie: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(set_cookie)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def expect(reply: Reply, status: int, what: str, location: str | None = None) -> Reply:
    if reply.status != status or (location is not None and reply.location != location):
        where = f" to {reply.location}" if reply.location else ""
        raise SetupFailed(
            f"{what} answered {reply.status}{where}, expected {status}{f' to {location}' if location else ''}"
        )
    return reply


# --- Load with wrk ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    url: str
    script: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Load:
    label: str
    requests_per_second: float
    p99_ms: float
    requests: int
    bad_status: int  # responses outside what the page must answer
    socket_errors: int
    first_bad_status: int | None

    @property
    def valid(self) -> bool:
        return self.bad_status == 0 and self.socket_errors == 0


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(wrk: str, target: Target, seconds: int) -> str:
    command = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if target.script is not None:
        command += ["-s", str(target.script)]
    try:
        done = subprocess.run(
            [*command, target.url],
            env=os.environ | dict(target.env),
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        raise SetupFailed(f"wrk on {target.label} did not finish within {seconds + 30} s") from timeout
    if done.returncode != 0:
        raise SetupFailed(f"wrk on {target.label} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def parse_wrk(label: str, output: str, counts_statuses: bool) -> Load:
    def number(pattern: str) -> re.Match[str]:
        found = re.search(pattern, output, re.MULTILINE)
        if found is None:
            raise SetupFailed(f"cannot read {pattern!r} from wrk's output for {label}:\n{output}")
        return found

    rps = float(number(r"^Requests/sec:\s+([\d.]+)").group(1))
    p99 = number(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    requests = int(number(r"^\s+(\d+) requests in ").group(1))
    non_2xx_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    bad, first = (int(non_2xx_3xx.group(1)) if non_2xx_3xx else 0), None
    if counts_statuses:  # our script also counts the 3xx (or 2xx) that wrk takes for success
        found = number(r"^unexpected responses: (\d+) \(first status (\d+)\)")
        bad, first = int(found.group(1)), (int(found.group(2)) or None)
    return Load(
        label=label,
        requests_per_second=rps,
        p99_ms=float(p99.group(1)) * UNITS_MS[p99.group(2)],
        requests=requests,
        bad_status=bad,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        first_bad_status=first,
    )


def measure(wrk: str, target: Target, plan: Plan) -> Load:
    run_wrk(wrk, target, plan.warmup)
    output = run_wrk(wrk, target, plan.duration)
    return parse_wrk(target.label, output, counts_statuses=target.script == BENCH / "patient_post.lua")


# --- Setup of each target -----------------------------------------------------------------


def anchor_targets(anchor: Server, shared: Path) -> tuple[Target, Target]:
    browser = Browser(anchor.port)
    expect(browser.get("/form"), 200, "anchor GET /form")
    if not browser.token or not browser.cookies:
        raise SetupFailed("anchor GET /form gave no csrf_token or no session cookie")
    check = Browser(anchor.port, dict(browser.cookies), browser.token)
    expect(check.post("/form", ANCHOR_FORM), 302, "anchor POST /form")
    get = Target("anchor GET /form", f"{anchor.base}/form")
    post = Target(
        "anchor POST /form",
        f"{anchor.base}/form",
        shared / "bench" / "anchor_post.lua",
        {"ANCHOR_COOKIE": browser.cookie_header(), "ANCHOR_TOKEN": browser.token},
    )
    return get, post


def start_form(screener: Server) -> Browser:
    browser = Browser(screener.port)
    expect(browser.get("/"), 200, "screener GET /")
    if not browser.token:
        raise SetupFailed('screener GET / has no <meta name="csrf-token">')
    expect(browser.post("/start"), 302, "screener POST /start", "/questions/A")
    return browser


def answer(browser: Browser, section: str) -> Reply:
    page = expect(browser.get(f"/questions/{section}"), 200, f"screener GET /questions/{section}")
    reply = browser.post(f"/questions/{section}", {"action": "continue", **ADULT[section]})
    if reply.status != 302:
        raise SetupFailed(f"screener POST /questions/{section} answered {reply.status}, expected 302")
    return page


def screener_targets(screener: Server) -> tuple[Target, Target, int]:
    """One session that has started a form and answered page A; the GET and POST it will repeat."""
    browser = start_form(screener)
    answer(browser, "A")
    page = expect(browser.get(f"/questions/{GET_SECTION}"), 200, f"screener GET /questions/{GET_SECTION}")
    questions = len(QUESTION.findall(page.text))
    form = urlencode({**ADULT[POST_SECTION], "action": "continue", "csrf_token": browser.token}, doseq=True)
    trial = Browser(screener.port, dict(browser.cookies), browser.token)
    saved = trial.request("POST", f"/questions/{POST_SECTION}", form)
    if saved.status != 302 or not saved.location.startswith("/questions/"):
        raise SetupFailed(f"screener POST /questions/{POST_SECTION} answered {saved.status} to {saved.location!r}")
    script = BENCH / "patient_post.lua"
    common = {"PATIENT_COOKIE": f"{SESSION_COOKIE}={browser.cookies.get(SESSION_COOKIE, '')}"}
    if SESSION_COOKIE not in browser.cookies:
        raise SetupFailed(f"the screener set no {SESSION_COOKIE!r} cookie")
    get = Target(
        f"screener GET /questions/{GET_SECTION}",
        f"{screener.base}/questions/{GET_SECTION}",
        script,
        common | {"PATIENT_METHOD": "GET", "PATIENT_EXPECT": "2"},
    )
    post = Target(
        f"screener POST /questions/{POST_SECTION}",
        f"{screener.base}/questions/{POST_SECTION}",
        script,
        common
        | {"PATIENT_METHOD": "POST", "PATIENT_EXPECT": "3", "PATIENT_BODY": form, "PATIENT_LOCATION": saved.location},
    )
    return get, post, questions


# --- Transfer sizes -----------------------------------------------------------------------


@dataclass(frozen=True)
class PageSize:
    page: str
    path: str
    html_bytes: int
    html_gzip: int
    assets_gzip: int

    @property
    def total_gzip(self) -> int:
        return self.html_gzip + self.assets_gzip


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def page_sizes(screener: Server) -> list[PageSize]:
    """Walk one adult through every patient page; each page's HTML plus its CSS and JS, gzipped."""
    asset_sizes: dict[str, int] = {}

    def asset(path: str) -> int:
        if path not in asset_sizes:
            reply = expect(Browser(screener.port).get(path), 200, f"screener GET {path}")
            asset_sizes[path] = gzipped(reply.body)
        return asset_sizes[path]

    def size(page: str, path: str, reply: Reply) -> PageSize:
        referenced = {urlsplit(a or b).path for a, b in ASSET_LINK.findall(reply.text)}
        assets = sorted(referenced | set(ASSETS))
        return PageSize(page, path, len(reply.body), gzipped(reply.body), sum(asset(a) for a in assets))

    visitor = Browser(screener.port)
    sizes = [size("start", "/", expect(visitor.get("/"), 200, "screener GET /"))]
    browser = start_form(screener)
    for section in ADULT:
        sizes.append(size(f"questions {section}", f"/questions/{section}", answer(browser, section)))
    sizes.append(size("check answers", "/check", expect(browser.get("/check"), 200, "screener GET /check")))
    expect(browser.post("/submit"), 302, "screener POST /submit", "/result")
    sizes.append(size("result", "/result", expect(browser.get("/result"), 200, "screener GET /result")))
    about = expect(visitor.get("/about-isotretinoin"), 200, "screener GET /about-isotretinoin")
    sizes.append(size("about", "/about-isotretinoin", about))
    return sizes


# --- Figures and report -------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


def summarise(
    loads: dict[str, Load], sizes: list[PageSize], plan: Plan, mode: str, questions: int, settings: Sequence[str]
) -> dict[str, Any]:
    pairs = {"get": ("anchor_get", "screener_get"), "post": ("anchor_post", "screener_post")}
    ratios: dict[str, Any] = {}
    for kind, (anchor, screener) in pairs.items():
        valid = loads[anchor].valid and loads[screener].valid
        throughput = ratio(loads[screener].requests_per_second, loads[anchor].requests_per_second)
        p99 = ratio(loads[anchor].p99_ms, loads[screener].p99_ms)
        ratios[f"{kind}_throughput"] = {
            "ratio": round(throughput, 3),
            "valid": valid,
            "goal_met": valid and throughput >= GOAL_RATIO,
        }
        ratios[f"{kind}_p99"] = {"ratio": round(p99, 3), "valid": valid, "goal_met": valid and p99 >= GOAL_RATIO}
    largest = max(sizes, key=lambda s: s.total_gzip)
    return {
        "mode": mode,
        "duration_s": plan.duration,
        "warmup_s": plan.warmup,
        "gunicorn": " ".join(settings),
        "wrk": f"-t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{plan.duration}s --latency",
        "get_section_questions": questions,
        "loads": {
            name: asdict(load) | {"requests_per_second": round(load.requests_per_second, 1), "valid": load.valid}
            for name, load in loads.items()
        },
        "ratios": ratios,
        "goal_ratio": GOAL_RATIO,
        "pages": [asdict(s) | {"total_gzip": s.total_gzip} for s in sizes],
        "largest_page": {"page": largest.page, "path": largest.path, "total_gzip": largest.total_gzip},
        "goal_page_bytes": GOAL_PAGE_BYTES,
        "pages_goal_met": largest.total_gzip <= GOAL_PAGE_BYTES,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def verdicts(figures: dict[str, Any]) -> list[str]:
    names = {
        "get_throughput": "GET  throughput screener/anchor",
        "get_p99": "GET  p99 anchor/screener",
        "post_throughput": "POST throughput screener/anchor",
        "post_p99": "POST p99 anchor/screener",
    }
    lines = []
    for key, label in names.items():
        result = figures["ratios"][key]
        verdict = "GOAL MET" if result["goal_met"] else "GOAL MISSED"
        note = "" if result["valid"] else "  (the run had errors: not valid)"
        lines.append(f"{label:<34}{result['ratio']:>6.2f}   {verdict}{note}")
    largest = figures["largest_page"]
    verdict = "GOAL MET" if figures["pages_goal_met"] else "GOAL MISSED"
    lines.append(f"{'largest page ' + largest['path']:<34}{largest['total_gzip']:>6,} bytes   {verdict}")
    return lines


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"Patient pages vs anchor app ({figures['mode']}): gunicorn {figures['gunicorn']} on 127.0.0.1, "
        f"wrk {figures['wrk']} after a {figures['warmup_s']} s warm-up, {figures['cpus']} CPUs shared with wrk",
        f"  {'':<34}{'req/s':>10}{'p99':>12}{'requests':>10}  errors",
    ]
    for load in figures["loads"].values():
        errors = load["bad_status"] + load["socket_errors"]
        flag = "" if load["valid"] else f"  NOT VALID: {load['bad_status']} bad statuses"
        if not load["valid"]:
            flag += f" (first {load['first_bad_status']}), {load['socket_errors']} socket errors"
        lines.append(
            f"  {load['label']:<34}{load['requests_per_second']:>10,.1f}{load['p99_ms']:>9.2f} ms"
            f"{load['requests']:>10,}  {errors}{flag}"
        )
    lines += [
        f"  (/questions/C shows {figures['get_section_questions']} questions; goal for every ratio: "
        f"at least {figures['goal_ratio']:g}, higher is better)",
        "",
        f"Transfer size per patient page, gzip level {GZIP_LEVEL} (HTML + CSS + JS, each compressed, summed):",
        f"  {'page':<16}{'path':<22}{'html':>8}{'html.gz':>9}{'css+js.gz':>11}{'total.gz':>10}",
    ]
    for page in figures["pages"]:
        lines.append(
            f"  {page['page']:<16}{page['path']:<22}{page['html_bytes']:>8,}{page['html_gzip']:>9,}"
            f"{page['assets_gzip']:>11,}{page['total_gzip']:>10,}"
        )
    lines += [f"  goal: at most {figures['goal_page_bytes']:,} bytes per page", ""]
    return "\n".join(lines)


# --- Main ---------------------------------------------------------------------------------


def run(plan: Plan, mode: str, wrk: str) -> dict[str, Any]:
    shared = shared_folder()
    anchor_dir = shared / "bench"
    if not (anchor_dir / "anchor_app.py").is_file() or not (anchor_dir / "anchor_post.lua").is_file():
        raise SetupFailed(f"{anchor_dir} lacks anchor_app.py or anchor_post.lua (set SCREENER_SHARED?)")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="screener-bench-")))
        database_url = f"sqlite:///{tmp / 's.db'}"
        prepare_screener_database(database_url, tmp)
        settings = gunicorn_settings()
        anchor = stack.enter_context(
            gunicorn(
                "anchor",
                "anchor_app:app",
                settings,
                clean_environment(ANCHOR_DB=str(tmp / "a.db")),
                tmp / "anchor.log",
                ("--chdir", str(anchor_dir)),
            )
        )
        screener = stack.enter_context(
            gunicorn(
                "screener",
                "screener.app:create_app()",
                settings,
                clean_environment(SCREENER_DATABASE_URL=database_url, SCREENER_SECRET_KEY=random_secret()),
                tmp / "screener.log",
            )
        )
        try:
            wait_until_ready(anchor, "/hello")
            wait_until_ready(screener, "/")
            anchor_get, anchor_post = anchor_targets(anchor, shared)
            screener_get, screener_post, questions = screener_targets(screener)
            sizes = page_sizes(screener)
        except SetupFailed as failed:
            logs = "\n".join(
                f"--- {server.name} log (last lines):\n{server.log_tail()}" for server in (anchor, screener)
            )
            raise SetupFailed(f"{failed}\n{logs}") from failed
        loads = {
            "anchor_get": measure(wrk, anchor_get, plan),
            "screener_get": measure(wrk, screener_get, plan),
            "anchor_post": measure(wrk, anchor_post, plan),
            "screener_post": measure(wrk, screener_post, plan),
        }
        for server in (anchor, screener):
            if server.process.poll() is not None:
                raise SetupFailed(f"{server.name} died during the run:\n{server.log_tail()}")
        return summarise(loads, sizes, plan, mode, questions, settings)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    print(f"bench/patient.py: stopped by signal {signum}, stopping the servers", file=sys.stderr)
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 s per load instead of 8 s: about 20 s in all")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    plan, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not found: install it (apt-get install -y wrk)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        figures = run(plan, mode, wrk)
    except (SetupFailed, OSError, http.client.HTTPException) as failed:
        print(f"bench/patient.py: setup failed, nothing measured: {failed}", file=sys.stderr)
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
