"""Fuzz every form and API endpoint with hostile input; report every response of 500 or more.

```sh
.venv/bin/python bench/fuzz.py                          # 120 s on SQLite (and PostgreSQL when set)
.venv/bin/python bench/fuzz.py --seconds 30 --seed 7     # shorter, reproducible
SCREENER_TEST_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/test_sec .venv/bin/python bench/fuzz.py
```

In process, through the Flask test client, with CSRF on (tokens taken from the pages, as a browser
would), against a fresh database per backend: SQLite (a temporary file) and PostgreSQL (a schema of
its own in ``SCREENER_TEST_DATABASE_URL``, dropped afterwards). It signs in as a nurse, a clinician
and an admin (password and TOTP, as ``tests/web/conftest.py`` does) beside anonymous visitors, walks
``app.url_map`` so that every endpoint and method gets its turn, and fills the forms it finds on
the pages (and every URL argument) with hostile values: odd Unicode (superscript and circled digits,
bidi overrides, zero-width and combining characters), numbers of thousands of digits, NUL bytes,
ids past the database's integer range, CR/LF, invalid percent-encoding, oversized bodies, too many
fields, repeated fields, and JSON with duplicate keys, deep nesting, huge numbers and wrong types.

Exit status 1 when any response was 500 or more (each is listed with the request and the server's
traceback), else 0. ``fuzz()`` is also run for a few seconds by ``tests/web/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on the path, and its queue.py would hide the standard library's.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import make_url, select  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402
from werkzeug.test import TestResponse  # noqa: E402

POSTGRESQL_ENV = "SCREENER_TEST_DATABASE_URL"
ROLES = ("anonymous", "nurse", "clinician", "admin")
METHODS = ("GET", "POST")

# --- Hostile values -----------------------------------------------------------------------------

ODD_UNICODE = [
    "²",
    "①",
    "²⁰²⁶",
    "١٢",
    "٣",
    "Ⅻ",
    "\u202eevil",
    "Ann\u2067x\u2069",
    "\u200b",
    "\u200d",
    "e\u0301" * 50,
    "🙂",
    "\ufeff",
    "ＡＢＣ",
    "\u0085",
    "\u2028",
]
HUGE_NUMBERS = [
    "9" * 4300,
    "1" * 5000,
    "1e309",
    "-1",
    "0",
    "00",
    "2147483648",
    str(2**63),
    "-2147483649",
    "1_000",
    "1.5",
]
IDS = ["0", "-1", "2147483647", "2147483648", str(2**63), str(10**30), "9" * 4300, "①", "²", "%00", "1%0a", "abc"]
NUL = ["\x00", "a\x00b", "\x00" * 10]
CRLF = ["/\r\nSet-Cookie: x=1", "\r\n", "/\n/evil.example", "/\t/evil.example", "/%09/evil.example", "//evil.example"]
DATES = ["9999-12-31", "0001-01-01", "0000-00-00", "2026-02-30", "²⁰²⁶-01-01", "2026-W01-1", "20261129", "-1"]
MARKUP = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}", "' OR 1=1 --", "\\", "%", "%%"]
LONG = ["A" * 5000, "é" * 3000]
ALL_VALUES = ODD_UNICODE + HUGE_NUMBERS + IDS + NUL + CRLF + DATES + MARKUP + LONG + ["", " ", "null", "[]"]


def hostile(rng: random.Random) -> str:
    value = rng.choice(ALL_VALUES)
    if rng.random() < 0.15:
        value = value + rng.choice(ALL_VALUES)
    return value


# --- What the pages offer -----------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """Forms (action, method, named fields with their values) and link query names on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.query_names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(found.get("action", ""), found.get("method", "get").upper()))
        elif tag in ("input", "select", "textarea", "button") and found.get("name") and self.forms:
            self.forms[-1].fields.append((found["name"], found.get("value", "")))
        elif tag == "option" and self.forms and self.forms[-1].fields:
            name = self.forms[-1].fields[-1][0]
            self.forms[-1].fields.append((name, found.get("value", "")))
        elif tag == "a" and "?" in found.get("href", ""):
            for pair in urlsplit(found["href"]).query.split("&"):
                self.query_names.add(pair.split("=", 1)[0])


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# --- Browsers -----------------------------------------------------------------------------------


class Browser:
    """One visitor: cookies, the CSRF token of the last page, and (staff) how to sign in again."""

    def __init__(self, app: Flask, role: str, rng: random.Random) -> None:
        self.app = app
        self.role = role
        self.rng = rng
        self.client: FlaskClient = app.test_client()
        self.token = ""
        self.username = ""
        if role != "anonymous":
            self.sign_in()

    def sign_in(self) -> None:
        """A new account of this role, signed in with password and TOTP (tests/web/conftest.py's way)."""
        from tests.web.conftest import StaffBrowser, create_staff

        self.username = f"{self.role}.fuzz{secrets.token_hex(3)}"
        create_staff(self.app, self.username, self.role)
        staff = StaffBrowser(self.app.test_client(), self.username, self.role)
        response = staff.sign_in()
        if response.status_code != 302:
            raise RuntimeError(f"could not sign in as {self.role}: {response.status_code}")
        self.client, self.token = staff.client, staff.token

    def remember_token(self, response: TestResponse) -> None:
        if response.mimetype == "text/html":
            found = CSRF_META.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)

    def signed_out(self, response: TestResponse) -> bool:
        location = response.headers.get("Location", "")
        return self.role != "anonymous" and response.status_code == 302 and location.startswith("/staff/login")


# --- The fuzzer ---------------------------------------------------------------------------------


@dataclass
class Failure:
    role: str
    method: str
    path: str
    status: int
    body: str
    server_traceback: str

    def __str__(self) -> str:
        lines = [f"{self.status} {self.method} {self.path} as {self.role}", f"  sent: {self.body[:300]!r}"]
        lines += ["  " + line for line in self.server_traceback.strip().splitlines()[-12:]]
        return "\n".join(lines)


@dataclass
class Report:
    backend: str
    seconds: float = 0.0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    endpoints: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    never_reached: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        errors = sum(count for status, count in self.statuses.items() if status >= 500)
        least = min(self.endpoints.values()) if self.endpoints else 0
        lines = [
            f"fuzz {self.backend}: {self.requests} requests in {self.seconds:.1f} s ({rate:.0f}/s), "
            f"{len(self.endpoints)} endpoints (each at least {least} times)",
            f"  statuses: {statuses}",
            f"  responses >= 500: {errors}",
        ]
        if self.never_reached:
            lines.append(f"  endpoints never reached: {', '.join(self.never_reached)}")
        return "\n".join(lines)


class Fuzzer:
    def __init__(self, app: Flask, seed: int) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.report = Report("")
        self.server_errors: list[str] = []
        self._wrap_error_handler()  # before the first request, as Flask requires
        self.browsers = {role: Browser(app, role, self.rng) for role in ROLES}
        self.patients = [self.browsers["anonymous"], Browser(app, "anonymous", self.rng)]
        self.world: dict[str, list[str]] = {}
        self.forms: dict[str, list[Form]] = {role: [] for role in ROLES}
        self.names: set[str] = {"next", "lang", "code", "action", "reason", "before_id", "after", "kind"}
        self.rules = [
            (rule, method)
            for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"
            for method in METHODS
            if method in (rule.methods or set())
        ]

    # The server's traceback of each 500, from the app's own handler for unexpected errors.
    def _wrap_error_handler(self) -> None:
        from screener import app as app_module

        def record(error: Exception) -> Any:
            self.server_errors.append("".join(traceback.format_exception(error)))
            return app_module._unexpected_error(error)

        self.app.register_error_handler(Exception, record)

    # --- Setting up real objects and reading the pages -------------------------------------------

    def prepare(self) -> None:
        """A completed screening with an urgent alert, a self-screen in progress, a victim account."""
        from tests.web.conftest import create_staff

        patient = self.patients[1]
        self.send(patient, "GET", "/")
        self.send(patient, "POST", "/start", {})
        answers = {
            "A": {"completed_by": "self", "age_years": "22"},
            "B": {"can_get_pregnant": "no", "breastfeeding": "no"},
            "C": {"self_severity": "severe", "nodules": "three_or_more", "scarring": "none", "sites": "face"},
            "D": {"oral_abx": "finished_not_helped", "completed_courses": "one"},
            "E": {"phq9_q1": "0", "phq9_q2": "0", "phq9_q9": "1", "suicide_now": "no", "mh_history": "none"},
            "F": {"allergies": "none", "liver_disease": "no"},
            "G": {"tetracycline_current": "no"},
            "H": {"blood_donation_plan": "no"},
        }
        for section, given in answers.items():
            self.send(patient, "GET", f"/questions/{section}")
            for _ in range(2):  # the crisis panel comes back once
                self.send(patient, "POST", f"/questions/{section}", {"action": "continue", **given})
        self.send(patient, "GET", "/check")
        self.send(patient, "POST", "/submit", {})
        victim = create_staff(self.app, f"victim.fuzz{secrets.token_hex(3)}", "nurse")
        from screener import models

        with self.app.extensions["screener.db"].read() as session:
            self.world["screening_id"] = [str(i) for i in session.scalars(select(models.Screening.id))]
            self.world["alert_id"] = [str(i) for i in session.scalars(select(models.StaffAlert.id))]
            self.world["code"] = list(session.scalars(select(models.Screening.reference_code)))
        self.world["user_id"] = [str(victim)]
        self.world["section_id"] = list("ABCDEFGH")
        self.send(self.patients[0], "POST", "/start", {})
        for role, browser in self.browsers.items():
            for rule, method in self.rules:
                if method == "GET" and not any(arg for arg in rule.arguments if arg not in self.world):
                    response = self.send(browser, "GET", self.path_for(rule.rule, hostile_args=False))
                    if response is not None and response.mimetype == "text/html":
                        self.harvest(role, response.get_data(as_text=True))

    def harvest(self, role: str, html: str) -> None:
        parser = _Forms()
        parser.feed(html)
        for form in parser.forms:
            if form.action.startswith("/") and form not in self.forms[role]:
                self.forms[role].append(form)
            self.names.update(name for name, _value in form.fields)
        self.names.update(parser.query_names)

    # --- Building requests -------------------------------------------------------------------------

    def path_for(self, template: str, *, hostile_args: bool) -> str:
        def value(found: re.Match[str]) -> str:
            name = found.group(1).split(":")[-1]
            real = self.world.get(name) or ["1"]
            if hostile_args and self.rng.random() < 0.5:
                return quote(hostile(self.rng) if self.rng.random() < 0.3 else self.rng.choice(IDS), safe="%")[:200]
            return str(self.rng.choice(real))

        return re.sub(r"<([^>]+)>", value, template)

    def fields(self, known: list[tuple[str, str]]) -> MultiDict[str, str]:
        """Known fields, each kept, dropped, repeated or given a hostile value; plus stray ones."""
        rng = self.rng
        sent: MultiDict[str, str] = MultiDict()
        for name, value in known:
            if name == "csrf_token":
                continue
            roll = rng.random()
            if roll < 0.1:
                continue
            sent.add(name, hostile(rng) if roll < 0.55 else value)
            if rng.random() < 0.05:
                sent.add(name, hostile(rng))
        for _ in range(rng.choice((0, 0, 1, 3))):
            sent.add(rng.choice(sorted(self.names)), hostile(rng))
        return sent

    def send(
        self,
        browser: Browser,
        method: str,
        path: str,
        data: Any = None,
        *,
        csrf: bool = True,
        **options: Any,
    ) -> TestResponse | None:
        environ = {"REMOTE_ADDR": f"198.51.100.{self.rng.randrange(1, 255)}"}
        if method == "POST" and isinstance(data, dict | MultiDict) and csrf:
            data = MultiDict(data)
            data.setlist("csrf_token", [browser.token])
        body = (
            data if isinstance(data, str | bytes) else json.dumps(data)[:300] if isinstance(data, dict) else repr(data)
        )
        self.server_errors.clear()
        self.report.requests += 1
        try:
            response = browser.client.open(path, method=method, data=data, environ_base=environ, **options)
        except Exception as error:
            trace = "".join(traceback.format_exception(error))
            if str(ROOT / "screener") not in trace:  # the request could not even be built: the fuzzer's own bug
                raise
            self.report.statuses[599] += 1  # the app raised through the test client: as bad as a 500
            self.record_failure(browser, method, path, 599, str(body), trace)
            return None
        self.report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            server = "\n".join(self.server_errors) or response.get_data(as_text=True)[:500]
            self.record_failure(browser, method, path, response.status_code, str(body), server)
        browser.remember_token(response)
        if browser.signed_out(response):
            browser.sign_in()
        return response

    def record_failure(self, browser: Browser, method: str, path: str, status: int, body: str, server: str) -> None:
        self.report.failures.append(Failure(browser.role, method, path, status, body, server))

    # --- Kinds of hostile request ------------------------------------------------------------------

    def fuzz_rule(self) -> None:
        """The next endpoint and method in turn (every one gets its share), with hostile arguments."""
        rule, method = self.rules[self.report.requests % len(self.rules)]
        browser = self.browsers[self.rng.choice(ROLES)]
        if rule.endpoint.startswith("patient."):
            browser = self.rng.choice(self.patients)
        path = self.path_for(rule.rule, hostile_args=self.rng.random() < 0.3)
        if rule.endpoint == "api.evaluate" and method == "POST":
            self.fuzz_api(browser, path)
        elif method == "GET":
            query = self.fields([(name, "") for name in self.rng.sample(sorted(self.names), k=3)])
            self.send(browser, "GET", path, query_string=query)
        else:
            known = [
                (name, value) for form in self.forms[browser.role] if form.action == path for name, value in form.fields
            ]
            self.send(browser, "POST", path, self.fields(known), csrf=self.rng.random() > 0.05)
        self.report.endpoints[rule.endpoint] += 1

    def fuzz_form(self) -> None:
        """A form seen on a page, sent back by the role that saw it, with hostile values."""
        role = self.rng.choice(ROLES)
        if not self.forms[role]:
            return
        form = self.rng.choice(self.forms[role])
        browser = self.patients[0] if role == "anonymous" else self.browsers[role]
        data = self.fields(form.fields)
        path = form.action
        if form.method == "GET":
            self.send(browser, "GET", path, query_string=data)
        else:
            kind = self.rng.random()
            if kind < 0.1:
                self.send(browser, "POST", path, data, content_type="multipart/form-data")
            elif kind < 0.15:
                raw = f"csrf_token={browser.token}&" + "&".join(
                    f"{quote(k)}={quote(v, safe='%')}" for k, v in data.items()
                )
                raw += self.rng.choice(["&%FF%FE=%C0%AF", "&a=%", "&%00=%00", "&" + "x=1&" * 2000, "&\xff"])
                self.send(
                    browser,
                    "POST",
                    path,
                    raw.encode("utf-8", "surrogateescape"),
                    content_type="application/x-www-form-urlencoded",
                )
            elif kind < 0.17:
                self.send(browser, "POST", path, {"big": "A" * 70_000})
            else:
                self.send(browser, "POST", path, data)
        self.report.endpoints[self.endpoint_of(path, form.method)] += 1

    def fuzz_api(self, browser: Browser, path: str) -> None:
        rng = self.rng
        answers: dict[str, Any] = {"completed_by": "self", "age_years": 22, "phq9_q9": 0, "sites": ["face"]}
        for key in list(answers):
            if rng.random() < 0.5:
                answers[key] = rng.choice(
                    [hostile(rng), 10**30, -1, 1.5, None, True, [], {}, [hostile(rng)], {"x": hostile(rng)}]
                )
        document: dict[str, Any] = {"answers": answers}
        if rng.random() < 0.3:
            document["config"] = {
                rng.choice(["jurisdiction", "phq2_cutoff", "tg_review_threshold_mg_dl"]): hostile(rng)
            }
        text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
        roll = rng.random()
        if roll < 0.15:
            text = text.replace('{"answers": {', '{"answers": {"age_years": 1, ', 1)  # a key given twice
        elif roll < 0.2:
            text = "[" * 50_000 + "]" * 50_000
        elif roll < 0.25:
            text = text.replace("22", "1" * 5000).replace("-1", "1e400")
        elif roll < 0.3:
            text = text.replace('"self"', '"\\u0000\\ud800"')
        content_type = rng.choice(["application/json"] * 6 + ["text/plain", "application/json; charset=latin-1", ""])
        body: bytes = text.encode("utf-8", "surrogatepass") if rng.random() > 0.05 else b"\xff\xfe" + text.encode()
        self.send(browser, "POST", path, body, content_type=content_type)

    def endpoint_of(self, path: str, method: str) -> str:
        try:
            endpoint, _args = self.app.url_map.bind("localhost").match(urlsplit(path).path, method=method)
        except HTTPException:
            return "<unmatched>"
        return str(endpoint)

    def run(self, seconds: float) -> Report:
        started = time.monotonic()
        deadline = started + seconds
        while time.monotonic() < deadline:
            if self.rng.random() < 0.5:
                self.fuzz_rule()
            else:
                self.fuzz_form()
            if self.report.requests % 500 == 0:  # new drafts now and then: a fresh form state to fuzz
                self.send(self.patients[0], "POST", "/start", {})
        self.report.seconds = time.monotonic() - started
        reached = set(self.report.endpoints)
        self.report.never_reached = sorted({rule.endpoint for rule, _method in self.rules} - reached)
        return self.report


# --- Databases ----------------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A migrated, empty database URL: a temporary SQLite file, or a new PostgreSQL schema."""
    from screener.db import make_engine, upgrade

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="screener-fuzz-") as folder:
            url = f"sqlite:///{Path(folder) / 'screener.db'}"
            upgrade(url)
            yield url
        return
    server = os.environ[POSTGRESQL_ENV]
    schema = f"screener_fuzz_{secrets.token_hex(4)}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = (
        make_url(server).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    )
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def cheap_password_hashing() -> None:
    """Argon2id as the app uses it costs half a second a hash, and sign-in is fuzzed too (an unknown
    username is checked against a dummy hash): cheap parameters here, as in tests/web/test_access_table.py.
    The fuzz is about what the app does with hostile input; the hashing is tested on its own."""
    from argon2 import PasswordHasher

    import screener.auth
    import screener.web.auth

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    dummy = cheap.hash("not a real password, only for timing")
    replaced: list[tuple[ModuleType, str, object]] = [
        (screener.auth, "_hasher", cheap),
        (screener.auth, "_recovery_hasher", cheap),
    ]
    replaced += [(module, "DUMMY_HASH", dummy) for module in (screener.auth, screener.web.auth)]
    for module, name, value in replaced:
        if hasattr(module, name):
            setattr(module, name, value)


def fuzz(database_url: str, *, seconds: float, seed: int, backend: str = "", cheap_hashing: bool = True) -> Report:
    """Fuzz a fresh app on ``database_url`` for ``seconds``: the report (its failures are the 500s).

    ``cheap_hashing`` swaps the password hasher for a cheap one for good (a test does it itself, undone after).
    """
    import logging

    from screener.app import create_app
    from screener.web.limits import limiter

    if cheap_hashing:
        cheap_password_hashing()
    request_log = logging.getLogger("screener.request")
    level = request_log.level
    request_log.setLevel(logging.WARNING)  # one line per request: thousands
    app = create_app({"DATABASE_URL": database_url})
    limiter.reset()
    try:
        fuzzer = Fuzzer(app, seed)
        fuzzer.prepare()
        report = fuzzer.run(seconds)
        report.backend = backend or make_url(database_url).get_backend_name()
        return report
    finally:
        request_log.setLevel(level)
        app.extensions["screener.db"].dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="time budget per backend (default 120)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "both"),
        default="both",
        help=f"both: SQLite, and PostgreSQL when {POSTGRESQL_ENV} is set",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not os.environ.get(POSTGRESQL_ENV):
        if args.backend == "postgresql":
            print(f"{POSTGRESQL_ENV} is not set", file=sys.stderr)
            return 2
        backends.remove("postgresql")
    print(f"seed {seed}")
    failed = False
    for backend in backends:
        with fresh_database(backend) as url:
            report = fuzz(url, seconds=args.seconds, seed=seed, backend=backend)
        print(report.summary())
        for failure in report.failures[:50]:
            print(failure)
        failed = failed or bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
